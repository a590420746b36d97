"""Groups, group memberships, group courses (courses a group requires) and group managers."""

from __future__ import annotations

import random
from typing import Any, Optional

from .. import names
from ..api import ApiContext, ApiError, Behaviour, Params, Result
from ..model import Family, State, User
from ..rng import Stamp, how_many
from ..timefmt import DAY, iso
from . import audit

PORTAL_AGE_DAYS = 3 * 365


# --- data ------------------------------------------------------------------------------

def generate(st: State, rng: random.Random, count: int, now: int) -> None:
    """Groups, memberships (~88% of non-admins in 1-2 groups) and 1-4 required live courses per group."""
    start = now - PORTAL_AGE_DAYS * DAY
    for i in range(count):
        gid = st.new_id("group")
        base = names.GROUP_NAMES[i % len(names.GROUP_NAMES)]
        title = base if i < len(names.GROUP_NAMES) else f"{base} {i // len(names.GROUP_NAMES) + 1}"
        created = rng.randint(start, now - 60 * DAY)
        st.groups[gid] = {"id": gid, "title": title, "description": f"Everyone in {title}",
                          "created_at": created, "updated_at": rng.randint(created, now)}
    group_ids = list(st.groups)
    for u in st.users.values():
        if u.user_type == "admin" or rng.random() < 0.12:
            continue
        for gid in rng.sample(group_ids, 1 if rng.random() < 0.75 else min(2, len(group_ids))):
            add_membership(st, u, gid, max(u.created_at, st.groups[gid]["created_at"]) + rng.randint(0, 5) * DAY // 4)
    live = [f for f in st.families.values() if f.live_version(st.courses) is not None and not f.licensed]
    for gid in group_ids:
        for fam in rng.sample(live, min(len(live), rng.randint(1, 4))):
            gcid = st.new_id("group_course")
            st.group_courses[gcid] = {"id": gcid, "group_id": gid, "source_id": fam.source_id,
                                      "created_at": max(st.groups[gid]["created_at"], fam.created_at) + DAY}


def generate_managers(st: State, rng: random.Random, now: int) -> None:
    """Each manager manages 1-2 groups."""
    managers = [u for u in st.users.values() if u.user_type == "manager"]
    group_ids = list(st.groups)
    for u in managers:
        for gid in rng.sample(group_ids, min(len(group_ids), rng.randint(1, 2))):
            i = st.new_id("group_manager")
            created = max(u.created_at, st.groups[gid]["created_at"]) + rng.randint(0, 20) * DAY
            created = min(created, now)
            st.group_managers[i] = {"id": i, "group_id": gid, "user_id": u.id, "created_at": created,
                                    "updated_at": rng.randint(created, now), "can_create_users": rng.random() < 0.3}


def add_membership(st: State, u: User, gid: int, created_at: int) -> int:
    mid = st.new_id("membership")
    st.memberships[mid] = {"id": mid, "group_id": gid, "user_id": u.id, "created_at": created_at}
    u.groups.append(gid)
    return mid


def forget_user(st: State, uid: int) -> None:
    """A deleted user's memberships go with them."""
    for mid in [m for m, gm in st.memberships.items() if gm["user_id"] == uid]:
        remove_membership(st, mid)


def remove_membership(st: State, mid: int) -> None:
    m = st.memberships.pop(mid)
    st.note_deleted("group_membership", [m["group_id"], m["user_id"]])


def forget_manager(st: State, uid: int) -> None:
    for key in [k for k, v in st.group_managers.items() if v["user_id"] == uid]:
        del st.group_managers[key]
        st.note_deleted("group_manager", key)


def churn(st: State, rng: random.Random, stamp: Stamp, share: float, who: list[User]) -> dict[str, int]:
    """Some members are removed from their groups (audit 12)."""
    ms = list(st.memberships.values())
    k = min(len(ms), how_many(rng, len(ms) * share * 0.2))
    for m in rng.sample(ms, k):
        remove_membership(st, m["id"])
        u = st.users[m["user_id"]]
        if m["group_id"] in u.groups:
            u.groups.remove(m["group_id"])
        audit.record(st, rng, stamp(), audit.REMOVED_FROM_GROUP, rng.choice(who), u, st.groups[m["group_id"]]["title"])
    return {"group_memberships_removed": k}


def family_of(st: State, source_id: int) -> Optional[Family]:
    c = st.courses.get(source_id)
    return c.family if c else None


# --- records ----------------------------------------------------------------------------

def group_record(st: State, g: dict[str, Any]) -> dict[str, Any]:
    members = sum(1 for m in st.memberships.values() if m["group_id"] == g["id"])
    return {"id": g["id"], "title": g["title"], "description": g["description"], "created_at": iso(g["created_at"]),
            "updated_at": iso(g["updated_at"]), "number_of_members": members}


def member_record(st: State, m: dict[str, Any], with_membership_id: bool) -> dict[str, Any]:
    u = st.users[m["user_id"]]
    rec: dict[str, Any] = {"id": m["id"], "user_id": u.id} if with_membership_id else {"id": u.id}
    rec.update({"first_name": u.first_name, "last_name": u.last_name, "email": u.email})
    if u.username:
        rec["username"] = u.username
    rec.update({"created_at": iso(u.created_at), "locale": u.locale})
    return rec


def group_course_record(st: State, gc: dict[str, Any]) -> Optional[dict[str, Any]]:
    fam = family_of(st, gc["source_id"])
    live = fam.live_version(st.courses) if fam else None
    if fam is None or live is None:
        return None
    return {"id": gc["id"], "group_id": gc["group_id"], "course_id": live.id,
            "group_title": st.groups[gc["group_id"]]["title"], "course_name": fam.current_name(st.courses)}


def group_manager_record(st: State, gm: dict[str, Any]) -> dict[str, Any]:
    g, u = st.groups[gm["group_id"]], st.users[gm["user_id"]]
    rec = {"id": gm["id"], "created_at": iso(gm["created_at"]), "updated_at": iso(gm["updated_at"]),
           "can_create_users": gm["can_create_users"], "group_id": g["id"], "group_title": g["title"],
           "group_description": g["description"],
           "number_of_members": sum(1 for m in st.memberships.values() if m["group_id"] == g["id"]),
           "number_of_courses": sum(1 for gc in st.group_courses.values() if gc["group_id"] == g["id"]),
           "user_id": u.id, "email": u.email}
    if u.username:
        rec["username"] = u.username
    rec.update({"first_name": u.first_name, "last_name": u.last_name})
    return rec


# --- handlers ----------------------------------------------------------------------------

def list_groups(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    st, title = api.st, (p.str("title") or "").lower()
    found = [g for g in st.groups.values() if title in g["title"].lower()]
    return api.listing(p, "groups", found, lambda g: group_record(st, g))


def list_memberships(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    gid, uid = p.opt_int("group_id"), p.opt_int("user_id")
    if gid is not None:
        if gid not in st.groups:
            raise ApiError(404, "Group not found")
        ms = [m for m in st.memberships.values() if m["group_id"] == gid and m["user_id"] in st.users]
        with_id = p.str("version_id") == "1.1"
        return api.listing(p, "user", ms, lambda m: member_record(st, m, with_id))
    if uid is not None:
        if uid not in st.users:
            raise ApiError(404, "User not found")
        gs = [st.groups[m["group_id"]] for m in st.memberships.values() if m["user_id"] == uid]
        return api.listing(p, "group", gs, lambda g: {k: v for k, v in group_record(st, g).items() if k != "number_of_members"})
    raise ApiError(400, "You must provide a group_id or a user_id")


def list_group_courses(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    gid, cid = p.opt_int("group_id"), p.opt_int("course_id")
    links = sorted(st.group_courses.values(), key=lambda g: g["created_at"])
    recs = [r for r in (group_course_record(st, gc) for gc in links) if r]
    if gid is not None:
        recs = [r for r in recs if r["group_id"] == gid]
    if cid is not None:
        source = st.courses[cid].family.source_id if cid in st.courses else None
        recs = [r for r in recs if st.courses[r["course_id"]].family.source_id == source]
    return api.listing(p, "group_courses", recs, lambda r: r)


def list_group_managers(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    gid, uid = p.opt_int("group_id"), api.user_filter(p)
    gms = [gm for gm in st.group_managers.values() if gm["user_id"] in st.users
           and (gid is None or gm["group_id"] == gid) and (uid is None or gm["user_id"] == uid)]
    return api.listing(p, "group_managers", gms, lambda gm: group_manager_record(st, gm))


ROUTES = (
    ("GET", "/groups", list_groups),
    ("GET", "/group_memberships", list_memberships),
    ("GET", "/group_courses", list_group_courses),
    ("GET", "/group_managers", list_group_managers),
)


# --- ground truth ------------------------------------------------------------------------
# Stated from the model on its own, not through the records above, so it can check them.

def truth(st: State, b: Behaviour, now: int) -> dict[str, list[Any]]:
    """groups; group_memberships (version 1.1 shape plus group_id, which the API gives only in the query);
    group_courses (links whose course family has a live version); group_managers."""
    members: dict[int, int] = {}
    for m in st.memberships.values():
        members[m["group_id"]] = members.get(m["group_id"], 0) + 1
    required: dict[int, int] = {}
    for gc in st.group_courses.values():
        required[gc["group_id"]] = required.get(gc["group_id"], 0) + 1
    groups = [{"id": g["id"], "title": g["title"], "description": g["description"], "created_at": iso(g["created_at"]),
               "updated_at": iso(g["updated_at"]), "number_of_members": members.get(g["id"], 0)}
              for g in st.groups.values()]
    memberships = []
    for m in st.memberships.values():
        u = st.users.get(m["user_id"])
        if u is None:
            continue
        row = {"group_id": m["group_id"], "id": m["id"], "user_id": u.id, "first_name": u.first_name,
               "last_name": u.last_name, "email": u.email, "created_at": iso(u.created_at), "locale": u.locale}
        if u.username:
            row["username"] = u.username
        memberships.append(row)
    links = []
    for gc in st.group_courses.values():
        fam = st.courses[gc["source_id"]].family
        live = [st.courses[cid] for cid in fam.versions if st.courses[cid].status in ("published", "under_revision")]
        if not live:
            continue
        published = [st.courses[cid].name for cid in fam.versions if st.courses[cid].date_published is not None]
        links.append({"id": gc["id"], "group_id": gc["group_id"], "course_id": live[-1].id,
                      "group_title": st.groups[gc["group_id"]]["title"],
                      "course_name": (published or [st.courses[fam.versions[-1]].name])[-1]})
    managers = []
    for gm in st.group_managers.values():
        g, u = st.groups[gm["group_id"]], st.users[gm["user_id"]]
        row = {"id": gm["id"], "created_at": iso(gm["created_at"]), "updated_at": iso(gm["updated_at"]),
               "can_create_users": gm["can_create_users"], "group_id": g["id"], "group_title": g["title"],
               "group_description": g["description"], "number_of_members": members.get(g["id"], 0),
               "number_of_courses": required.get(g["id"], 0), "user_id": u.id, "email": u.email,
               "first_name": u.first_name, "last_name": u.last_name}
        if u.username:
            row["username"] = u.username
        managers.append(row)
    return {"groups": groups, "group_memberships": memberships, "group_courses": links, "group_managers": managers}
