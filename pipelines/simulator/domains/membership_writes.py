"""The write side of group memberships: POST /group_memberships, DELETE /group_memberships/{id}.

As the reference documents them ("Create a GroupMembership", "Delete a GroupMembership"):

  POST   /group_memberships        {"GroupMembership": {"group_id", "user_id"}}; process_enrollments
                                   (default true, inside the object or beside it) enrolls the joiner in
                                   the group's courses
  DELETE /group_memberships/{id}   or id 0 with {"GroupMembership": {"group_id", "user_id"}};
                                   process_unenrollments (default true) unenrolls from the group's
                                   courses no other group of the user requires: completed enrollments
                                   stay as history (unenrolled: true), the others are deleted

Removals go through groups.remove_membership and enrollments.remove_enrollment, so the ground
truth's deleted ids follow them; a removal is audited (12, "Removed from group").
"""

from __future__ import annotations

import random
from typing import Any

from ..api import ApiContext, ApiError, Behaviour, Params, Result
from ..model import DONE, Family, State, User
from ..payload import flag, required_pair, wrapped
from . import audit, enrollments, groups


def group_families(st: State, group_id: int) -> list[Family]:
    """The course families a group's group courses make required."""
    families = []
    for gc in st.group_courses.values():
        course = st.courses.get(gc["source_id"]) if gc["group_id"] == group_id else None
        if course is not None:
            families.append(course.family)
    return families


def enroll_in_group_courses(st: State, u: User, group_id: int, now: int) -> None:
    """Enroll a joiner in the live version of each course the group requires that they do not have yet."""
    taken = {st.courses[st.enrollments[eid].course_id].family.source_id for eid in st.enr_by_user.get(u.id, ())}
    rng = random.Random(f"join:{u.id}:{group_id}")  # a stream of its own: writes do not shift churn's draws
    for fam in group_families(st, group_id):
        live = fam.live_version(st.courses)
        if live is None or fam.source_id in taken:
            continue
        e = enrollments.new_enrollment(st, rng, u, live, now, now, True)
        e.status, e.date_started, e.date_completed, e.date_lastaccessed = "not_started", None, None, None
        e.percentage, e.pct_complete, e.cert_expires_at, e.updated_at = None, 0, None, now
        e.group_id = group_id
        enrollments.refresh_overdue(e, now)
        st.add_enrollment(e)
        taken.add(fam.source_id)


def unenroll_from_group_courses(st: State, u: User, group_id: int, now: int) -> None:
    still_required = {f.source_id for gid in u.groups for f in group_families(st, gid)}
    leaving = {f.source_id for f in group_families(st, group_id)} - still_required
    for eid in list(st.enr_by_user.get(u.id, ())):
        e = st.enrollments[eid]
        if st.courses[e.course_id].family.source_id not in leaving:
            continue
        if e.status in DONE:
            if not e.unenrolled:
                e.unenrolled, e.updated_at = True, max(e.updated_at, now)  # completions stay in the history
        else:
            enrollments.remove_enrollment(st, eid)


def join_group(st: State, u: User, group_id: int, now: int, process_enrollments: bool) -> int:
    """A new membership (and, if asked, the group's courses); returns its id. Accepted invites join this way."""
    mid = groups.add_membership(st, u, group_id, now)
    if process_enrollments:
        enroll_in_group_courses(st, u, group_id, now)
    return mid


# --- handlers ---------------------------------------------------------------------------------

def create_membership(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    data = wrapped(p.body, "GroupMembership")
    group_id, user_id = required_pair(data, "group_id", "user_id")
    if group_id not in st.groups:
        raise ApiError(404, "Group not found")
    u = st.users.get(user_id)
    if u is None:
        raise ApiError(404, "User not found")
    if any(m["group_id"] == group_id and m["user_id"] == user_id for m in st.memberships.values()):
        raise ApiError(400, "User is already a member of this group")
    mid = join_group(st, u, group_id, int(api.now()), flag(data, p.body, "process_enrollments", True))
    api.invalidate()
    return Result({"id": mid})


def delete_membership(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
    st = api.st
    mid = int(args["id"])
    data: Any
    if mid == 0:  # found by the group and user in the payload
        data = wrapped(p.body, "GroupMembership")
        group_id, user_id = required_pair(data, "group_id", "user_id")
        found = [m for m in st.memberships.values() if m["group_id"] == group_id and m["user_id"] == user_id]
        membership = found[0] if found else None
    else:
        data = p.body.get("GroupMembership") if isinstance(p.body, dict) else None
        membership = st.memberships.get(mid)
    if membership is None:
        raise ApiError(404, "Group membership not found")
    process = flag(data if isinstance(data, dict) else {}, p.body, "process_unenrollments", True)
    now = int(api.now())
    groups.remove_membership(st, membership["id"])
    u = st.users.get(membership["user_id"])
    if u is not None:
        if membership["group_id"] in u.groups:
            u.groups.remove(membership["group_id"])
        if process:
            unenroll_from_group_courses(st, u, membership["group_id"], now)
        audit.record_api_change(st, now, audit.REMOVED_FROM_GROUP, u, st.groups[membership["group_id"]]["title"])
    api.invalidate()
    return Result({"id": membership["id"]})


ROUTES = (
    ("POST", "/group_memberships", create_membership),
    ("DELETE", "/group_memberships/{id}", delete_membership),
)


def truth(st: State, b: Behaviour, now: int) -> dict[str, list[Any]]:
    """Nothing of its own: memberships written here are in the groups domain's tables like any other."""
    return {}
