"""Course enrollments and learning-path enrollments.

GET /enrollments/search, GET /enrollments/{id}, GET /learning_path_enrollments/search,
GET /learning_path_enrollments/{id}.
"""

from __future__ import annotations

import random
from typing import Any, Optional, Sequence

from ..api import ApiContext, ApiError, Behaviour, Params, Result, without
from ..model import DONE, Course, Enrollment, Family, State, User
from ..rng import Stamp, how_many
from ..timefmt import DAY, iso
from . import audit, exams, live_learning

# strict mode: the table "Data attributes returned for learning path enrollment" has no updated_at
# (date_from and date_to still filter on it)
STRICT_LP_ENROLLMENT_OMITS = ("updated_at",)


# --- course enrollments: data ---------------------------------------------------------------

def version_at(st: State, fam: Family, ts: int) -> Course | None:
    """The version a learner enrolled at time ts was put on."""
    chosen = None
    for cid in fam.versions:
        c = st.courses[cid]
        if c.date_published is not None and c.date_published <= ts:
            chosen = c
    return chosen


def fill_progress(e: Enrollment, rng: random.Random, fam: Family, now: int) -> None:
    """Status and dates of an enrollment given its date_enrolled, consistent with `now`."""
    age = max(0, now - e.date_enrolled)
    age_days = age / DAY
    r = rng.random()
    p_done = min(0.75, 0.1 + age_days / 200)
    if r < p_done:
        status = rng.choices(("completed", "passed", "failed"), (45, 45, 10))[0]
    elif r < p_done + 0.04:
        status = "pending_review"
    elif r < p_done + 0.04 + (1 - p_done) * 0.5:
        status = "in_progress"
    else:
        status = "not_started"
    set_status(e, rng, fam, status, now)


def set_status(e: Enrollment, rng: random.Random, fam: Family, status: str, now: int) -> None:
    age = max(1, now - e.date_enrolled)
    e.status = status
    if status == "not_started":
        e.date_started = e.date_completed = None
        e.date_lastaccessed = None
        e.percentage, e.pct_complete = None, 0
    else:
        if e.date_started is None:
            e.date_started = e.date_enrolled + int(rng.random() ** 2 * min(age, 20 * DAY))
        e.date_lastaccessed = e.date_started + int(rng.random() * max(0, min(now - e.date_started, 30 * DAY)))
        if status in ("completed", "passed", "failed"):
            e.date_completed = e.date_lastaccessed
            e.percentage = 100 if status == "completed" else rng.randint(70, 100) if status == "passed" else rng.randint(10, 69)
            e.pct_complete = 100
        elif status == "pending_review":
            e.date_completed, e.percentage, e.pct_complete = None, None, rng.choice((90, 95, 100))
        else:
            e.date_completed, e.percentage, e.pct_complete = None, rng.choice((None, 0)), rng.randint(5, 90)
    e.cert_expires_at = None
    if status in DONE and fam.cert_name is not None and fam.cert_days is not None:
        e.cert_expires_at = e.date_completed + fam.cert_days * DAY
    e.updated_at = max(t for t in (e.date_enrolled, e.date_started, e.date_lastaccessed, e.date_completed) if t is not None)
    refresh_overdue(e, now)


def refresh_overdue(e: Enrollment, now: int) -> None:
    """is_overdue follows the clock; the flip counts as an update (stamped at the due date) so
    a client copying by updated_at sees it."""
    overdue = e.due_date is not None and e.due_date < now and e.status not in DONE
    if overdue and not e.is_overdue and e.updated_at is not None:
        e.updated_at = max(e.updated_at, e.due_date)
    e.is_overdue = overdue


def refresh_clock_dependent(st: State, now: int) -> None:
    """Overdue flags after the clock moved."""
    for e in st.enrollments.values():
        if e.due_date is not None:
            refresh_overdue(e, now)


def new_enrollment(st: State, rng: random.Random, u: User, course: Course, enrolled_at: int, now: int,
                   required: bool) -> Enrollment:
    fam = course.family
    e = Enrollment.__new__(Enrollment)
    e.id = st.new_id("enrollment")
    e.user_id = u.id
    e.course_id = course.id
    e.date_enrolled = enrolled_at
    e.date_started = None
    due_days = fam.due_days or (30 if required and rng.random() < 0.5 else None)
    e.due_date = enrolled_at + due_days * DAY if due_days else None
    e.from_catalog = (not required) and rng.random() < 0.15
    e.from_store = e.from_catalog and rng.random() < 0.1
    e.was_recertified = False
    e.unenrolled = False
    e.is_overdue = False
    e.group_id = u.groups[0] if u.groups else None
    e.access_expires = enrolled_at + 365 * DAY if rng.random() < 0.05 else None
    fill_progress(e, rng, fam, now)
    if e.cert_expires_at is not None and rng.random() < 0.05:
        e.was_recertified = True
    return e


def generate(st: State, rng: random.Random, per_user: float, now: int) -> None:
    """About `per_user` enrollments per user (uniform 0..2x), plus the courses their groups require."""
    fams = sorted((f for f in st.families.values() if any(st.courses[c].date_published for c in f.versions)),
                  key=lambda f: -f.popularity)
    if not fams:
        return
    by_source = {f.source_id: f for f in fams}
    required_by_group: dict[int, list[Family]] = {}
    for gc in st.group_courses.values():
        required_by_group.setdefault(gc["group_id"], []).append(by_source[gc["source_id"]])
    n = len(fams)
    for u in st.users.values():
        wanted = int(rng.random() * (2 * per_user + 1))
        if u.user_type == "admin":
            wanted //= 3
        chosen: dict[int, bool] = {}
        for gid in u.groups:
            for fam in required_by_group.get(gid, ()):
                chosen[fam.source_id] = True
        tries = 0
        while len(chosen) < wanted and tries < wanted * 3:
            tries += 1
            fam = fams[int(rng.random() ** 1.6 * n)]  # popular families first
            chosen.setdefault(fam.source_id, False)
        for source_id, required in chosen.items():
            fam = by_source[source_id]
            first_pub = min(st.courses[c].date_published for c in fam.versions if st.courses[c].date_published)
            lo = max(u.created_at, first_pub)
            hi = min(now - 600, fam.retired_at or now)
            if lo >= hi:
                continue
            enrolled_at = rng.randint(lo, hi)
            course = version_at(st, fam, enrolled_at)
            if course is None:
                continue
            e = new_enrollment(st, rng, u, course, enrolled_at, now, required)
            if e.status in DONE and rng.random() < 0.01:
                e.unenrolled = True
            st.add_enrollment(e)


def remove_enrollment(st: State, eid: int) -> None:
    """As DELETE /enrollments/{id}: the enrollment, and the exam enrollments, assignment answers and
    attendance it gave, leave every listing (its mark-completes are hidden while it is gone)."""
    for kind, key in exams.graded_children_of(st, eid):
        st.note_deleted(kind, key)
    for key in live_learning.attendance_keys_of(st, eid):
        st.note_deleted("session_attendance", key)
    st.drop_enrollment(eid)
    st.note_deleted("enrollment", eid)


def touch_user(st: State, uid: int, ts: int) -> None:
    """Names and emails are denormalised onto enrollments (course and learning path): changing them bumps updated_at."""
    for eid in st.enr_by_user.get(uid, ()):
        e = st.enrollments[eid]
        e.updated_at = max(e.updated_at, ts)
    for lpe in st.lp_enrollments.values():
        if lpe["user_id"] == uid:
            lpe["updated_at"] = max(lpe["updated_at"], ts)


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


def churn(st: State, rng: random.Random, stamp: Stamp, share: float, n_enr: int, who: list[User],
          audit_unenrolls: bool = True) -> dict[str, int]:
    """New enrollments, progress, unenrollments (audit 2 unless `audit_unenrolls` is off): completed ones stay as
    history with unenrolled=true, the others are deleted. `n_enr`: enrollments before this round began."""
    counts: dict[str, int] = {}
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
        live = fam.live_version(st.courses)
        assert live is not None
        e = new_enrollment(st, rng, u, live, ts, ts, False)
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
        audit.record(st, rng, ts, audit.USER_UNENROLLED, rng.choice(who), st.users[e.user_id],
                     st.courses[e.course_id].family.current_name(st.courses), kept=audit_unenrolls)
        if e.status in DONE and not e.unenrolled:
            e.unenrolled, e.updated_at = True, ts  # completed enrollments stay in the learner's history
        else:
            remove_enrollment(st, eid)
            removed += 1
    counts["enrollments_unenrolled"] = k
    counts["enrollments_deleted"] = removed
    st.touch_counts()
    return counts


# --- learning-path enrollments: data ----------------------------------------------------------

def add_lp_enrollment(st: State, rng: random.Random, uid: int, p: dict[str, Any], enrolled: int, now: int) -> dict[str, Any]:
    r = rng.random()
    status = "completed" if r < 0.35 else "in_progress" if r < 0.75 else "not_started"
    started = min(now, enrolled + rng.randint(0, max(1, (now - enrolled) // 4))) if status != "not_started" else None
    completed = rng.randint(started, now) if status == "completed" and started else None
    rec = {"id": st.new_id("lp_enrollment"), "lp_id": p["id"], "user_id": uid, "status": status,
           "date_enrolled": enrolled, "date_started": started, "date_completed": completed,
           "date_lastaccessed": completed or started, "percentage": 100 if completed else None,
           "due_date": enrolled + p["due_days"] * DAY if p["due_days"] else None,
           "cert_expires_at": completed + 365 * DAY if completed and p["cert"] else None,
           "updated_at": max(t for t in (enrolled, started, completed) if t), "unenrolled": False}
    st.lp_enrollments[rec["id"]] = rec
    return rec


def generate_lp_enrollments(st: State, rng: random.Random, now: int) -> None:
    """A quarter of users are on one published path."""
    live_paths = [p for p in st.learning_paths.values() if p["status"] == "published"]
    for u in st.users.values():
        if not live_paths or rng.random() > 0.25:
            continue
        p = rng.choice(live_paths)
        enrolled = rng.randint(max(u.created_at, p["created_at"]), now - 60)
        add_lp_enrollment(st, rng, u.id, p, enrolled, now)


def forget_lp_user(st: State, uid: int) -> None:
    """A deleted user's learning-path enrollments go with them."""
    for key in [k for k, v in st.lp_enrollments.items() if v["user_id"] == uid]:
        del st.lp_enrollments[key]
        st.note_deleted("lp_enrollment", key)


def churn_lp(st: State, rng: random.Random, stamp: Stamp, share: float) -> dict[str, int]:
    """Learning-path enrollments progress, and new ones start."""
    counts: dict[str, int] = {}
    lpes = [e for e in st.lp_enrollments.values() if e["status"] != "completed" and e["user_id"] in st.users]
    k = min(len(lpes), how_many(rng, len(st.lp_enrollments) * share * 2))
    for e in rng.sample(lpes, k):
        ts = stamp()
        if e["status"] == "not_started":
            e["status"], e["date_started"] = "in_progress", ts
        else:
            e["status"], e["date_completed"], e["percentage"] = "completed", ts, 100
            if st.learning_paths[e["lp_id"]]["cert"]:
                e["cert_expires_at"] = ts + 365 * DAY
        e["date_lastaccessed"] = e["updated_at"] = ts
    counts["lp_enrollments_progressed"] = k
    live = [p for p in st.learning_paths.values() if p["status"] == "published"]
    users = [u for u in st.users.values() if u.user_type != "admin"]
    k = how_many(rng, len(st.lp_enrollments) * share) if live and users else 0
    for _ in range(k):
        ts = stamp()
        rec = add_lp_enrollment(st, rng, rng.choice(users).id, rng.choice(live), ts, ts)
        rec.update({"status": "not_started", "date_started": None, "date_completed": None, "date_lastaccessed": None,
                    "percentage": None, "cert_expires_at": None, "updated_at": ts})
    counts["lp_enrollments_created"] = k
    return counts


def churn_lp_unenrollments(st: State, rng: random.Random, stamp: Stamp, share: float) -> dict[str, int]:
    """Learners are taken off learning paths: completed ones stay as history (unenrolled), the others are
    deleted. The audit trail has no action for it."""
    visible = [e for e in st.lp_enrollments.values() if e["user_id"] in st.users and not e["unenrolled"]]
    k = min(len(visible), how_many(rng, len(st.lp_enrollments) * share * 0.2))
    removed = 0
    for e in rng.sample(visible, k):
        ts = stamp()
        if e["status"] == "completed":
            e["unenrolled"], e["updated_at"] = True, ts
        else:
            del st.lp_enrollments[e["id"]]
            st.note_deleted("lp_enrollment", e["id"])
            removed += 1
    return {"lp_enrollments_unenrolled": k, "lp_enrollments_deleted": removed}


# --- records ----------------------------------------------------------------------------

def enrollment_record(st: State, e: Enrollment, q: frozenset[str]) -> dict[str, Any]:
    """Hot path: a million of these per full copy of a large portal."""
    u = st.users[e.user_id]
    c = st.courses[e.course_id]
    fam = c.family
    if "enrollment_source_id" in q:
        source = fam.source_id if c.version > 1 else None
    else:
        source = c.prev_id
    rec = {
        "id": e.id, "percentage": e.percentage, "date_started": iso(e.date_started),
        "date_completed": iso(e.date_completed), "date_lastaccessed": iso(e.date_lastaccessed),
        "date_enrolled": iso(e.date_enrolled), "course_id": c.id, "course_name": fam.current_name(st.courses),
        "course_source_id": source, "user_id": u.id, "first_name": u.first_name, "last_name": u.last_name,
        "email": u.email,
    }
    if u.username is not None:
        rec["username"] = u.username
    rec.update({
        "due_date": iso(e.due_date), "status": e.status, "course_access_expires_at": iso(e.access_expires),
        "certificate_name": fam.cert_name if e.status in ("completed", "passed") else None,
        "cert_expires_at": iso(e.cert_expires_at), "version": c.version, "was_recertified": e.was_recertified,
        "percentage_complete": e.pct_complete, "unenrolled": e.unenrolled, "from_store": e.from_store,
        "from_catalog": e.from_catalog, "updated_at": iso(e.updated_at), "group_id": e.group_id,
        "is_overdue": e.is_overdue,
    })
    return rec


def lp_enrollment_record(st: State, e: dict[str, Any], strict: bool) -> dict[str, Any]:
    u = st.users[e["user_id"]]
    p = st.learning_paths[e["lp_id"]]
    rec = {"id": e["id"], "percentage": e["percentage"], "date_started": iso(e["date_started"]),
           "date_completed": iso(e["date_completed"]), "date_lastaccessed": iso(e["date_lastaccessed"]),
           "date_enrolled": iso(e["date_enrolled"]), "lp_id": p["id"], "lp_name": p["name"], "user_id": u.id,
           "first_name": u.first_name, "last_name": u.last_name, "email": u.email}
    if u.username:
        rec["username"] = u.username
    rec.update({"due_date": iso(e["due_date"]), "status": e["status"],
                "certificate_name": f"{p['name']} Certificate" if e["cert_expires_at"] else None,
                "cert_expires_at": iso(e["cert_expires_at"]), "was_recertified": False, "unenrolled": e["unenrolled"],
                "updated_at": iso(e["updated_at"])})
    return without(rec, STRICT_LP_ENROLLMENT_OMITS) if strict else rec


def visible_lp_enrollments(st: State) -> list[dict[str, Any]]:
    return [e for e in st.lp_enrollments.values() if e["user_id"] in st.users]


# --- handlers ----------------------------------------------------------------------------

SEARCH_KEYS = ("id", "user_id", "course_id", "course_name", "email", "username")


def enrollments_key(api: ApiContext) -> Optional[str]:
    return None if "enrollments_wrapper" in api.q else "enrollments"


def _records(api: ApiContext, chunk: Sequence[int]) -> list[dict[str, Any]]:
    st = api.st
    return [enrollment_record(st, st.enrollments[eid], api.q) for eid in chunk]


def _candidate_sets(api: ApiContext, p: Params) -> list[Sequence[int]]:
    st = api.st
    sets: list[Sequence[int]] = []
    if p.str("id"):
        eid = p.int("id")
        if eid not in st.enrollments:
            raise ApiError(404, "Enrollment not found")
        sets.append([eid])
    if p.str("user_id"):
        uid = p.int("user_id")
        if uid not in st.users:
            raise ApiError(404, "User not found")
        sets.append(st.enr_by_user.get(uid, []))
    for key, finder in (("email", api.user_by_email), ("username", api.user_by_username)):
        value = p.str(key)
        if value:
            found = finder(value)
            if found is None:
                raise ApiError(404, "User not found")
            sets.append(st.enr_by_user.get(found, []))
    if p.str("course_id"):
        cid = p.int("course_id")
        if cid not in st.courses:
            raise ApiError(404, "Course not found")
        sets.append(st.enr_by_course.get(cid, []))
    name = p.str("course_name")
    if name:
        fams = [f for f in st.families.values() if f.current_name(st.courses) == name]
        if not fams:
            raise ApiError(404, "Course not found")
        ids: list[int] = []
        for fam in fams:
            for cid in fam.versions:
                ids.extend(st.enr_by_course.get(cid, ()))
        sets.append(sorted(ids))
    return sets


def search_enrollments(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    if not any(p.str(k) for k in SEARCH_KEYS):
        raise ApiError(400, "You must provide one of: id, user_id, course_id, course_name, email, username")
    date_from, date_to = p.day("date_from"), p.day("date_to")
    sets = _candidate_sets(api, p)
    sets.sort(key=len)
    ids: Sequence[int] = sets[0]
    if len(sets) > 1:
        others = [set(s) for s in sets[1:]]
        ids = [eid for eid in ids if all(eid in o for o in others)]
    if date_from is not None or date_to is not None:
        lo = date_from if date_from is not None else 0
        hi = (date_to + DAY) if date_to is not None else 1 << 62  # date_to is inclusive
        enr = api.st.enrollments
        ids = [eid for eid in ids if lo <= enr[eid].updated_at < hi]
    return api.page_result(enrollments_key(api), lambda chunk: _records(api, chunk), ids, p)


def get_enrollment(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
    eid = int(args["id"])
    if eid not in api.st.enrollments:
        raise ApiError(404, "Enrollment not found")
    records = _records(api, [eid])
    key = enrollments_key(api)
    return Result(records if key is None else {key: records})


def search_lp_enrollments(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    if not any(p.str(k) for k in ("user_id", "email", "username", "lp_id", "lp_name")):
        raise ApiError(400, "You must provide one of: user_id, email, username, lp_id, lp_name")
    uid = api.user_filter(p)
    if uid is not None and uid not in st.users:
        raise ApiError(404, "User not found")
    lp_id = p.opt_int("lp_id")
    lp_name = p.str("lp_name")
    paths = st.learning_paths
    if lp_id is not None and lp_id not in paths or lp_name and not any(lp["name"] == lp_name for lp in paths.values()):
        raise ApiError(404, "Learning path not found")
    lo, hi = p.day("date_from"), p.day("date_to")
    found = [e for e in visible_lp_enrollments(st)
             if (uid is None or e["user_id"] == uid) and (lp_id is None or e["lp_id"] == lp_id)
             and (not lp_name or paths[e["lp_id"]]["name"] == lp_name)
             and (lo is None or e["updated_at"] >= lo) and (hi is None or e["updated_at"] < hi + DAY)]
    return api.listing(p, "learning_path_enrollments", found, lambda e: lp_enrollment_record(st, e, api.b.strict),
                       "lp_enrollments_wrapper")


def get_lp_enrollment(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
    e = api.st.lp_enrollments.get(int(args["id"]))
    if e is None or e["user_id"] not in api.st.users:
        raise ApiError(404, "Learning path enrollment not found")
    records = [lp_enrollment_record(api.st, e, api.b.strict)]
    return Result(records if "lp_enrollments_wrapper" in api.q else {"learning_path_enrollments": records})


ROUTES = (
    ("GET", "/enrollments/search", search_enrollments),
    ("GET", "/enrollments/{id}", get_enrollment),
    ("GET", "/learning_path_enrollments/search", search_lp_enrollments),
    ("GET", "/learning_path_enrollments/{id}", get_lp_enrollment),
)


# --- ground truth ------------------------------------------------------------------------
# Stated from the model on its own, not through the records above, so it can check them.

def truth(st: State, b: Behaviour, now: int) -> dict[str, list[Any]]:
    """enrollments (every searchable one, in id order), learning_path_enrollments, and what was deleted."""
    titles: dict[int, str] = {}
    for fam in st.families.values():
        published = [st.courses[cid].name for cid in fam.versions if st.courses[cid].date_published is not None]
        titles[fam.source_id] = (published or [st.courses[fam.versions[-1]].name])[-1]
    rows = []
    for eid in sorted(st.enrollments):
        e = st.enrollments[eid]
        u, c = st.users[e.user_id], st.courses[e.course_id]
        if "enrollment_source_id" in b.quirks:
            source = None if c.version == 1 else c.family.source_id
        else:
            source = c.prev_id
        done = e.status in DONE
        row = {"id": e.id, "user_id": u.id, "first_name": u.first_name, "last_name": u.last_name, "email": u.email,
               "course_id": c.id, "course_name": titles[c.family.source_id], "course_source_id": source,
               "version": c.version, "status": e.status, "percentage": e.percentage,
               "percentage_complete": e.pct_complete, "date_enrolled": iso(e.date_enrolled),
               "date_started": iso(e.date_started), "date_completed": iso(e.date_completed),
               "date_lastaccessed": iso(e.date_lastaccessed), "due_date": iso(e.due_date), "is_overdue": e.is_overdue,
               "course_access_expires_at": iso(e.access_expires),
               "certificate_name": c.family.cert_name if done else None, "cert_expires_at": iso(e.cert_expires_at),
               "was_recertified": e.was_recertified, "unenrolled": e.unenrolled, "from_store": e.from_store,
               "from_catalog": e.from_catalog, "group_id": e.group_id, "updated_at": iso(e.updated_at)}
        if u.username is not None:
            row["username"] = u.username
        rows.append(row)
    lp_rows = []
    for e in st.lp_enrollments.values():
        u = st.users.get(e["user_id"])
        if u is None:
            continue
        p = st.learning_paths[e["lp_id"]]
        row = {"id": e["id"], "lp_id": p["id"], "lp_name": p["name"], "user_id": u.id, "first_name": u.first_name,
               "last_name": u.last_name, "email": u.email, "status": e["status"], "percentage": e["percentage"],
               "date_enrolled": iso(e["date_enrolled"]), "date_started": iso(e["date_started"]),
               "date_completed": iso(e["date_completed"]), "date_lastaccessed": iso(e["date_lastaccessed"]),
               "due_date": iso(e["due_date"]), "cert_expires_at": iso(e["cert_expires_at"]),
               "certificate_name": f"{p['name']} Certificate" if e["cert_expires_at"] else None,
               "was_recertified": False, "unenrolled": e["unenrolled"], "updated_at": iso(e["updated_at"])}
        if u.username:
            row["username"] = u.username
        lp_rows.append(without(row, STRICT_LP_ENROLLMENT_OMITS) if b.strict else row)
    return {"enrollments": rows, "learning_path_enrollments": lp_rows}
