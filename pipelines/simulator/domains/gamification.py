"""Gamification (badges, awards, the leaderboard) and certifications.

GET /badges, GET /leaderboard, GET /certifications; a user's awards show on GET /users/{id}.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from ..api import ApiContext, Behaviour, Params, Result
from ..model import DONE, State
from ..rng import Stamp, how_many
from ..timefmt import DAY, iso

BADGES = (
    ("First Steps", 10, "activity_badge"), ("Fast Learner", 25, "learning_badge"), ("Perfect Score", 50, "learning_badge"),
    ("Compliance Champion", 40, "learning_badge"), ("Regular", 15, "activity_badge"), ("Bronze", 100, "level_badge"),
    ("Silver", 250, "level_badge"), ("Gold", 500, "level_badge"), ("Team Player", 20, "activity_badge"),
    ("Night Owl", 5, "activity_badge"),
)
BADGE_TYPE_IDS = {"level_badge": 1, "learning_badge": 2, "activity_badge": 3}
LEVELS = ((0, "Novice"), (100, "Apprentice"), (300, "Expert"), (600, "Master"))


# --- data ------------------------------------------------------------------------------

def generate(st: State, rng: random.Random, now: int) -> None:
    """The badge set (the last one unused) and awards: learners who finished courses earn badges."""
    admin = next((u.id for u in st.users.values() if u.user_type == "admin"), None)
    start = now - 3 * 365 * DAY
    for i, (name, points, kind) in enumerate(BADGES):
        created = start + i * DAY
        st.badges.append({"id": 601 + i, "name": name, "points": points, "is_used": i != 9,
                          "badge_type_id": BADGE_TYPE_IDS[kind], "badge_type": kind, "created_by": admin,
                          "updated_by": admin, "created_at": created, "updated_at": created + 30 * DAY})
    for u in st.users.values():
        done = sum(1 for eid in st.enr_by_user.get(u.id, ()) if st.enrollments[eid].status in DONE)
        if done == 0 and rng.random() < 0.7:
            continue
        give_awards(rng, st, u.id, 1 + done // 2)


def give_awards(rng: random.Random, st: State, uid: int, times: int) -> None:
    mine = {a["badge_id"]: a for a in st.awards.get(uid, [])}
    for _ in range(times):
        b = rng.choice(st.badges[:9])
        a = mine.get(b["id"])
        if a is None:
            a = mine[b["id"]] = {"badge_id": b["id"], "badge_name": b["name"], "badge_count": 0, "total_points": 0}
        a["badge_count"] += 1
        a["total_points"] += b["points"]
    st.awards[uid] = sorted(mine.values(), key=lambda a: a["badge_id"])


def generate_certifications(st: State, rng: random.Random) -> None:
    """One certificate per course family that awards one."""
    for fam in st.families.values():
        if fam.cert_name:
            st.certifications.append({"guid": str(uuid.UUID(int=rng.getrandbits(128), version=1)), "title": fam.cert_name})


def churn(st: State, rng: random.Random, stamp: Stamp, share: float) -> dict[str, int]:
    """Some learners earn badges."""
    users = [u for u in st.users.values() if u.user_type != "admin"]
    k = min(len(users), how_many(rng, len(users) * share * 2))
    for u in rng.sample(users, k):
        give_awards(rng, st, u.id, rng.randint(1, 2))
    return {"users_awarded": k}


def leaderboard(st: State) -> list[dict[str, Any]]:
    rows = []
    for uid, awards in st.awards.items():
        u = st.users.get(uid)
        if u is None or u.user_type == "admin":
            continue
        points = sum(a["total_points"] for a in awards)
        rows.append((-points, uid, u, points, sum(a["badge_count"] for a in awards)))
    rows.sort()
    out = []
    for pos, (_, uid, u, points, badges) in enumerate(rows, 1):
        level = [name for floor, name in LEVELS if points >= floor][-1]
        out.append({"user_id": uid, "login": u.username or u.email, "name": u.name, "position": pos, "level": level,
                    "total_points": points, "total_badges": badges})
    return out


# --- records ----------------------------------------------------------------------------

def user_awards(st: State, uid: int) -> dict[str, Any]:
    """The awards object of GET /users/{id}."""
    awards = st.awards.get(uid, [])
    return {"number_of_points": sum(a["total_points"] for a in awards),
            "number_of_badges": sum(a["badge_count"] for a in awards),
            "awards": [dict(a) for a in awards]}


def badge_record(b: dict[str, Any], with_image: bool) -> dict[str, Any]:
    rec = dict(b)
    rec["created_at"], rec["updated_at"] = iso(b["created_at"]), iso(b["updated_at"])
    if with_image:
        rec["image_url"] = f"https://cdn.example.com/badges/{b['id']}.png"
    return rec


# --- handlers ----------------------------------------------------------------------------

def list_badges(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    image = p.str("version_id") == "1.1"
    return api.listing(p, "badges", api.st.badges, lambda b: badge_record(b, image))


def list_leaderboard(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    rows = leaderboard(st)
    gid, uid = p.opt_int("group_id"), p.opt_int("user_id")
    over, under, level = p.opt_int("points_over"), p.opt_int("points_under"), p.str("level_name")
    if gid is not None:
        members = {m["user_id"] for m in st.memberships.values() if m["group_id"] == gid}
        rows = [r for r in rows if r["user_id"] in members]
    if uid is not None:
        rows = [r for r in rows if r["user_id"] == uid]
    rows = [r for r in rows if (over is None or r["total_points"] >= over) and (under is None or r["total_points"] <= under)
            and (not level or r["level"] == level)]
    return api.listing(p, "leaderboard", rows, lambda r: r)


def list_certifications(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    return api.listing(p, "certifications", api.st.certifications, lambda c: dict(c))


ROUTES = (
    ("GET", "/badges", list_badges),
    ("GET", "/leaderboard", list_leaderboard),
    ("GET", "/certifications", list_certifications),
)


# --- ground truth ------------------------------------------------------------------------
# Stated from the model on its own, not through the records above, so it can check them.

def truth(st: State, b: Behaviour, now: int) -> dict[str, list[Any]]:
    """badges (without image), certifications, leaderboard (every learner with awards, by points then id)."""
    badges = [{"id": x["id"], "name": x["name"], "points": x["points"], "is_used": x["is_used"],
               "badge_type_id": x["badge_type_id"], "badge_type": x["badge_type"], "created_by": x["created_by"],
               "updated_by": x["updated_by"], "created_at": iso(x["created_at"]), "updated_at": iso(x["updated_at"])}
              for x in st.badges]
    standings = []
    for uid, awards in st.awards.items():
        u = st.users.get(uid)
        if u is not None and u.user_type != "admin":
            standings.append((sum(a["total_points"] for a in awards), sum(a["badge_count"] for a in awards), u))
    standings.sort(key=lambda row: (-row[0], row[2].id))
    board = []
    for position, (points, count, u) in enumerate(standings, 1):
        level = max((floor, name) for floor, name in LEVELS if floor <= points)[1]
        board.append({"user_id": u.id, "login": u.username or u.email, "name": f"{u.first_name} {u.last_name}",
                      "position": position, "level": level, "total_points": points, "total_badges": count})
    return {"badges": badges, "certifications": [{"guid": c["guid"], "title": c["title"]} for c in st.certifications],
            "leaderboard": board}
