"""Churn of the second-group data (called from churn.churn through a hook)."""

from __future__ import annotations

import random
from typing import Callable

from . import extra as X
from .churn import REMOVED_FROM_GROUP, COURSE_ARCHIVED, audit, how_many
from .generate import DONE
from .model import State


def on_churn(st: State, rng: random.Random, stamp: Callable[[], int], share: float, t1: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    x = st.extra
    staff = [u for u in st.users.values() if u.user_type in ("admin", "manager")] or list(st.users.values())[:1]
    # attendance is marked for sessions that ended in this interval (derived on read)
    counts["sessions_ended"] = sum(1 for s in x["sessions"].values() if stamp.t0 < s["end"] <= t1)  # type: ignore[attr-defined]
    # mark-completes on some finished enrollments
    done = [e for e in st.enrollments.values() if e.status in DONE and e.updated_at > stamp.t0]  # type: ignore[attr-defined]
    k = min(len(done), how_many(rng, len(st.enrollments) * share * 0.05))
    staff_ids = [u.id for u in staff]
    for e in rng.sample(done, k):
        X.add_markcomplete(st, rng, e.id, max(e.updated_at, stamp()), staff_ids, x["markcompletes"])
    counts["markcompletes_created"] = k
    # learning-path enrollments: progress and new ones
    lpes = [e for e in x["lp_enrollments"].values() if e["status"] != "completed" and e["user_id"] in st.users]
    k = min(len(lpes), how_many(rng, len(x["lp_enrollments"]) * share * 2))
    for e in rng.sample(lpes, k):
        ts = stamp()
        if e["status"] == "not_started":
            e["status"], e["date_started"] = "in_progress", ts
        else:
            e["status"], e["date_completed"], e["percentage"] = "completed", ts, 100
            if x["learning_paths"][e["lp_id"]]["cert"]:
                e["cert_expires_at"] = ts + 365 * 86400
        e["date_lastaccessed"] = e["updated_at"] = ts
    counts["lp_enrollments_progressed"] = k
    live = [p for p in x["learning_paths"].values() if p["status"] == "published"]
    users = [u for u in st.users.values() if u.user_type != "admin"]
    k = how_many(rng, len(x["lp_enrollments"]) * share) if live and users else 0
    for _ in range(k):
        ts = stamp()
        rec = X.lpes_add(st, rng, x["lp_enrollments"], rng.choice(users).id, rng.choice(live), ts, ts)
        rec.update({"status": "not_started", "date_started": None, "date_completed": None, "date_lastaccessed": None,
                    "percentage": None, "cert_expires_at": None, "updated_at": ts})
    counts["lp_enrollments_created"] = k
    # leaderboard: some learners earn badges
    k = min(len(users), how_many(rng, len(users) * share * 2))
    for u in rng.sample(users, k):
        X.give_awards(rng, x["awards"], u.id, x["badges"], rng.randint(1, 2))
    counts["users_awarded"] = k
    # group removals and other audited admin actions
    ms = list(st.memberships.values())
    k = min(len(ms), how_many(rng, len(ms) * share * 0.2))
    for m in rng.sample(ms, k):
        del st.memberships[m["id"]]
        u = st.users[m["user_id"]]
        if m["group_id"] in u.groups:
            u.groups.remove(m["group_id"])
        audit(st, stamp(), REMOVED_FROM_GROUP, rng.choice(staff), u, st.groups[m["group_id"]]["title"], rng)
    counts["group_memberships_removed"] = k
    k = how_many(rng, len(st.families) * share)
    for _ in range(k):
        audit(st, stamp(), COURSE_ARCHIVED, rng.choice(staff), None, rng.choice(list(st.families.values())).topic, rng)
    x["audit"].sort()
    counts["audit_events"] = sum(1 for ev in x["audit"] if ev[0] > stamp.t0 * 1000)  # type: ignore[attr-defined]
    return counts


def on_user_deleted(st: State, uid: int) -> None:
    x = st.extra
    x["awards"].pop(uid, None)
    for table in ("group_managers", "course_instructors"):
        for key in [k for k, v in x[table].items() if v["user_id"] == uid]:
            del x[table][key]
    for key in [k for k, v in x["lp_enrollments"].items() if v["user_id"] == uid]:
        del x["lp_enrollments"][key]
