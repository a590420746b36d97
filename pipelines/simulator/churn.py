"""Realistic change between two moments of the simulated clock.

Every change is stamped with a time in (t0, t1]; nothing is stamped before t0,
so a client that copied the portal at t0 sees every later change as new.
"""

from __future__ import annotations

import random

from . import names
from .generate import DONE, add_membership, new_course_version, new_enrollment, new_user, refresh_overdue, set_version_statuses
from .model import Enrollment, State, User
from .timefmt import DAY

# audit trail action codes (reference, "action_id numbers and associated actions")
SET_COMPLETE, USER_UNENROLLED, USER_DELETED, LOGIN_DISABLED, LOGIN_ENABLED = 1, 2, 3, 4, 5
COURSE_DELETED, COURSE_ARCHIVED, LP_DELETED, LP_ARCHIVED, EXAM_RESET, GROUP_DELETED, REMOVED_FROM_GROUP = range(6, 13)


def how_many(rng: random.Random, expected: float) -> int:
    """An integer with the given expectation (floor plus a coin for the fraction)."""
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


class Stamp:
    """Random whole-second times in (t0, t1]."""

    def __init__(self, rng: random.Random, t0: int, t1: int) -> None:
        self.rng, self.t0, self.t1 = rng, t0, t1

    def __call__(self) -> int:
        return self.rng.randint(self.t0 + 1, self.t1) if self.t1 > self.t0 else self.t1


def audit(st: State, ts: int, action: int, initiator: User | None, impacted: User | None, data: str | None,
          rng: random.Random) -> None:
    """Append an audit event; names are frozen as they were when it happened."""
    st.extra.setdefault("audit", []).append((
        ts * 1000 + rng.randint(0, 999), action,
        initiator.name if initiator else None, initiator.email if initiator else None,
        impacted.name if impacted else None, impacted.email if impacted else None, data))


def admins(st: State) -> list[User]:
    return [u for u in st.users.values() if u.user_type in ("admin", "manager")]


def refresh_clock_dependent(st: State, now: int) -> None:
    """Fields that depend on 'now' (overdue flags, ended sessions) after the clock moved."""
    for e in st.enrollments.values():
        if e.due_date is not None:
            refresh_overdue(e, now)
    hook = st.extra.get("on_clock")
    if hook is not None:
        hook(st, now)


def progress(st: State, rng: random.Random, e: Enrollment, ts: int) -> None:
    """Move an enrollment one step along its life."""
    fam = st.courses[e.course_id].family
    if e.status == "not_started":
        e.status, e.date_started, e.pct_complete, e.percentage = "in_progress", ts, rng.randint(5, 60), 0
    elif e.status in ("in_progress", "failed"):
        e.status = rng.choices(("completed", "passed", "failed", "pending_review", "in_progress"), (30, 35, 10, 5, 20))[0]
        if e.status in ("completed", "passed", "failed"):
            e.date_completed, e.pct_complete = ts, 100
            e.percentage = 100 if e.status == "completed" else rng.randint(70, 100) if e.status == "passed" else rng.randint(10, 69)
        elif e.status == "pending_review":
            e.date_completed, e.pct_complete, e.percentage = None, 100, None
        else:
            e.pct_complete = min(95, (e.pct_complete or 0) + rng.randint(5, 30))
            e.date_completed = None
    elif e.status == "pending_review":
        e.status = "passed" if rng.random() < 0.85 else "failed"
        e.date_completed, e.percentage = ts, rng.randint(70, 100) if e.status == "passed" else rng.randint(20, 69)
    e.date_lastaccessed = ts
    e.cert_expires_at = None
    if e.status in DONE and fam.cert_name and fam.cert_days:
        e.cert_expires_at = ts + fam.cert_days * DAY
    e.updated_at = ts
    refresh_overdue(e, ts)


def delete_user(st: State, u: User) -> None:
    for eid in list(st.enr_by_user.get(u.id, ())):
        st.remove_enrollment(eid)
    st.enr_by_user.pop(u.id, None)
    for mid in [m for m, gm in st.memberships.items() if gm["user_id"] == u.id]:
        del st.memberships[mid]
    del st.users[u.id]
    st.deleted_user_ids.append(u.id)
    hook = st.extra.get("on_user_deleted")
    if hook is not None:
        hook(st, u.id)


def touch_user_enrollments(st: State, uid: int, ts: int) -> None:
    """Names and emails are denormalised onto enrollments (course and learning path); changing them bumps updated_at."""
    for eid in st.enr_by_user.get(uid, ()):
        e = st.enrollments[eid]
        e.updated_at = max(e.updated_at, ts)
    for lpe in (st.extra.get("lp_enrollments") or {}).values():
        if lpe["user_id"] == uid:
            lpe["updated_at"] = max(lpe["updated_at"], ts)


def churn(st: State, seed: int, round_no: int, t0: int, t1: int, share: float) -> dict[str, int]:
    rng = random.Random(f"{seed}:churn:{round_no}")
    stamp = Stamp(rng, t0, t1)
    counts: dict[str, int] = {}
    n_users, n_enr = len(st.users), len(st.enrollments)
    staff = admins(st) or list(st.users.values())[:1]

    # users: sign-ins (no updated_at bump), profile edits (bump), login toggles, new and deleted users
    users = list(st.users.values())
    k = min(len(users), how_many(rng, n_users * share * 5))
    for u in rng.sample(users, k):
        ts = stamp()
        u.last_sign_in_at = max(u.last_sign_in_at or 0, ts)
        u.sign_in_count += 1
    counts["users_signed_in"] = k
    k = min(len(users), how_many(rng, n_users * share))
    for u in rng.sample(users, k):
        ts = stamp()
        if rng.random() < 0.5:
            u.last_name = rng.choice(names.LAST_NAMES)
        else:
            u.email = f"{u.first_name}.{u.last_name}.{u.id}.{round_no}@{names.DOMAINS[u.id % len(names.DOMAINS)]}".lower()
        u.updated_at = max(u.updated_at, ts)
        touch_user_enrollments(st, u.id, ts)
    counts["users_changed"] = k
    k = min(len(users), how_many(rng, n_users * share * 0.2))
    for u in rng.sample(users, k):
        u.enabled = not u.enabled  # not one of the fields updated_at tracks
        audit(st, stamp(), LOGIN_ENABLED if u.enabled else LOGIN_DISABLED, rng.choice(staff), u, None, rng)
    counts["users_login_toggled"] = k
    k = how_many(rng, n_users * share)
    groups = list(st.groups)
    for _ in range(k):
        ts = stamp()
        u = new_user(st, rng, ts, ts, "learner")
        u.last_sign_in_at, u.sign_in_count = None, 0
        if groups and rng.random() < 0.8:
            add_membership(st, u, rng.choice(groups), ts)
    counts["users_created"] = k
    deletable = [u for u in st.users.values() if u.user_type == "learner"]
    k = min(len(deletable), how_many(rng, n_users * share * 0.3))
    for u in rng.sample(deletable, k):
        audit(st, stamp(), USER_DELETED, rng.choice(staff), u, None, rng)
        delete_user(st, u)
    counts["users_deleted"] = k

    # courses: some families get a new published version
    live = [f for f in st.families.values() if f.retired_at is None and f.live_version(st.courses) is not None]
    k = min(len(live), how_many(rng, len(st.families) * share * 3))
    for fam in rng.sample(live, k):
        ts = stamp()
        prev = st.courses[fam.versions[-1]]
        old_name = fam.current_name(st.courses)
        name = f"{fam.topic} ({rng.randint(2025, 2030)})" if rng.random() < 0.2 else prev.name
        new_course_version(st, rng, fam, name, ts, ts, prev.owner_id, prev)
        set_version_statuses(st, fam)
        if name != old_name:  # course_name on every enrollment of the family changes
            for cid in fam.versions:
                for eid in st.enr_by_course.get(cid, ()):
                    st.enrollments[eid].updated_at = max(st.enrollments[eid].updated_at, ts)
    counts["course_versions_created"] = k

    # enrollments: new ones, progress, unenrollments
    learners = [u for u in st.users.values() if u.user_type != "admin"]
    enrollable = [f for f in st.families.values() if f.retired_at is None and f.live_version(st.courses)]
    k = how_many(rng, n_enr * share) if learners and enrollable else 0
    made = 0
    for _ in range(k):
        ts = stamp()
        u = rng.choice(learners)
        fam = rng.choice(enrollable)
        taken = {st.courses[st.enrollments[eid].course_id].family.source_id for eid in st.enr_by_user.get(u.id, ())}
        if fam.source_id in taken:
            continue
        e = new_enrollment(st, rng, u, fam.live_version(st.courses), ts, ts, False)
        e.status, e.date_started, e.date_completed, e.date_lastaccessed = "not_started", None, None, None
        e.percentage, e.pct_complete, e.cert_expires_at, e.updated_at = None, 0, None, ts
        refresh_overdue(e, ts)
        st.add_enrollment(e)
        made += 1
    counts["enrollments_created"] = made
    open_ids = [eid for eid, e in st.enrollments.items() if e.status not in DONE]
    k = min(len(open_ids), how_many(rng, n_enr * share * 2))
    for eid in rng.sample(open_ids, k):
        progress(st, rng, st.enrollments[eid], stamp())
    counts["enrollments_progressed"] = k
    ids = list(st.enrollments)
    k = min(len(ids), how_many(rng, n_enr * share * 0.2))
    removed = 0
    for eid in rng.sample(ids, k):
        e = st.enrollments[eid]
        ts = stamp()
        audit(st, ts, USER_UNENROLLED, rng.choice(staff), st.users[e.user_id],
              st.courses[e.course_id].family.current_name(st.courses), rng)
        if e.status in DONE and not e.unenrolled:
            e.unenrolled, e.updated_at = True, ts  # completed enrollments stay in the learner's history
        else:
            st.remove_enrollment(eid)
            removed += 1
    counts["enrollments_unenrolled"] = k
    counts["enrollments_deleted"] = removed
    st.touch_counts()

    hook = st.extra.get("on_churn")
    if hook is not None:
        counts.update(hook(st, rng, stamp, share, t1))
    refresh_clock_dependent(st, t1)
    return counts
