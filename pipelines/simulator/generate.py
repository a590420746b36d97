"""Initial portal data, deterministic from (seed, clock).

Each entity kind draws from its own RNG stream, so adding a kind later does not
change the data of the others. All timestamps are at or before `now`.
"""

from __future__ import annotations

import random
from typing import Any

from . import names
from .model import Course, Enrollment, Family, Module, State, User
from .timefmt import DAY, day

PORTAL_AGE_DAYS = 3 * 365

CUSTOM_FIELDS: tuple[dict[str, Any], ...] = (
    {"id": 231, "type_id": 1, "label": "department", "predefined_values": None},
    {"id": 640, "type_id": 4, "label": "position", "predefined_values": list(names.POSITIONS)},
    {"id": 2103, "type_id": 6, "label": "sector", "predefined_values": [1, 2, 3, 4, 5]},
    {"id": 2101, "type_id": 2, "label": "points", "predefined_values": None},
    {"id": 2102, "type_id": 5, "label": "average points", "predefined_values": [8.0, 16.0, 32.0, 64.0]},
    {"id": 2100, "type_id": 3, "label": "age", "predefined_values": None},
    {"id": 2104, "type_id": 7, "label": "hire date", "predefined_values": None},
    {"id": 2105, "type_id": 1, "label": "employee id", "predefined_values": None},
)

TIMEZONE_IDS = ("Dublin", "London", "Eastern Time (US & Canada)", "Pacific Time (US & Canada)", "Central Time (US & Canada)",
                "Belgrade", "Berlin", "Madrid", "Tokyo", "Sydney")

# first id of each kind: distinct ranges make mixed-up ids easy to spot downstream
ID_BASES = {"user": 200001, "course": 50001, "enrollment": 3000001, "group": 7001, "membership": 900001,
            "group_course": 61001, "module": 400001, "exam": 110001, "pm": 4500001}


def sizes(users: int) -> dict[str, int]:
    """Entity counts that scale from the number of users (documented in docs/simulator.md)."""
    return {
        "families": max(12, min(600, 12 + users // 200)),
        "groups": max(5, min(300, 4 + users // 100)),
    }


def stream(seed: int, kind: str) -> random.Random:
    return random.Random(f"{seed}:{kind}")


def generate(seed: int, users: int, enrollments_per_user: float, now: int, gamification: bool = True) -> State:
    st = State()
    st.extra["gamification"] = gamification
    st.next_ids = dict(ID_BASES)
    st.custom_fields = [dict(f) for f in CUSTOM_FIELDS]
    size = sizes(users)
    gen_users(st, stream(seed, "users"), users, now)
    gen_courses(st, stream(seed, "courses"), size["families"], now)
    gen_groups(st, stream(seed, "groups"), size["groups"], now)
    gen_enrollments(st, stream(seed, "enrollments"), enrollments_per_user, now)
    return st


# --- users -------------------------------------------------------------------

def custom_values(rng: random.Random, uid: int, now: int) -> dict[int, Any]:
    values: dict[int, Any] = {}
    if rng.random() < 0.1:
        return values  # some users have no custom data at all
    values[231] = rng.choice(names.DEPARTMENTS)
    values[640] = [rng.choice(names.POSITIONS)]
    if rng.random() < 0.8:
        values[2103] = [rng.randint(1, 5)]
    values[2101] = round(rng.uniform(0, 100), 1)
    if rng.random() < 0.5:
        values[2102] = rng.choice((8, 16, 32, 64))
    values[2100] = rng.randint(19, 66)
    if rng.random() < 0.7:
        values[2104] = day(now - rng.randint(30, 4000) * DAY)
    values[2105] = f"E{uid % 1000000:06d}"
    return values


def new_user(st: State, rng: random.Random, created_at: int, now: int, user_type: str | None = None) -> User:
    uid = st.new_id("user")
    first = rng.choice(names.FIRST_NAMES)
    last = rng.choice(names.LAST_NAMES)
    if user_type is None:
        r = rng.random()
        user_type = "admin" if r < 0.02 else "manager" if r < 0.08 else "instructor" if r < 0.12 else "learner"
    perms: dict[str, bool] = {}
    if user_type == "manager":
        perms = {"can_enroll": rng.random() < 0.9, "can_unenroll_users": rng.random() < 0.3,
                 "can_mark_complete": rng.random() < 0.3, "can_move_groups": rng.random() < 0.2,
                 "can_act_as_instructor": rng.random() < 0.25}
    elif user_type == "instructor":
        perms = {"can_manage_trainings": rng.random() < 0.5, "can_manage_sessions": rng.random() < 0.6,
                 "tutor_can_edit_their_courses": rng.random() < 0.9, "tutor_can_create_courses": rng.random() < 0.3}
    signed_in = rng.random() < 0.85
    last_sign_in = rng.randint(created_at, now) if signed_in else None
    u = User(
        id=uid, first_name=first, last_name=last,
        email=f"{first}.{last}.{uid}@{names.DOMAINS[uid % len(names.DOMAINS)]}".lower(),
        username=f"{first[0]}{last}{uid}".lower() if rng.random() < 0.3 else None,
        locale=rng.choice(names.LOCALES), created_at=created_at,
        updated_at=rng.randint(created_at, now) if rng.random() < 0.4 else created_at,
        last_sign_in_at=last_sign_in, sign_in_count=rng.randint(1, 400) if signed_in else 0,
        enabled=rng.random() >= 0.05,
        account_expires=now + rng.randint(-200, 400) * DAY if rng.random() < 0.03 else None,
        timezone_id=rng.choice(TIMEZONE_IDS) if rng.random() < 0.3 else None,
        user_type=user_type, perms=perms,
        membership_type=rng.choice(("Member", "Non-member")) if rng.random() < 0.2 else None,
        custom=custom_values(rng, uid, now), pm_id=st.new_id("pm"), groups=[],
    )
    st.users[uid] = u
    return u


def gen_users(st: State, rng: random.Random, count: int, now: int) -> None:
    start = now - PORTAL_AGE_DAYS * DAY
    # a few fixed roles first, so every portal has an admin, a manager and an instructor
    fixed = ["admin", "manager", "instructor", "instructor"]
    created = sorted(rng.randint(start, now - 3600) for _ in range(count))
    for i, ts in enumerate(created):
        new_user(st, rng, ts, now, fixed[i] if i < len(fixed) and i < count else None)


# --- courses and modules -------------------------------------------------------

def family_name(index: int) -> str:
    topics, suffixes = names.COURSE_TOPICS, names.COURSE_SUFFIXES
    base = topics[index % len(topics)] + suffixes[(index // len(topics)) % len(suffixes)]
    rounds = index // (len(topics) * len(suffixes))
    return base if rounds == 0 else f"{base} #{rounds + 1}"


def staff_ids(st: State, *types: str) -> list[int]:
    return [u.id for u in st.users.values() if u.user_type in types]


def new_module(st: State, rng: random.Random, course_id: int, kind: str, title: str, created_at: int, creator: int) -> Module:
    mid = st.new_id("module")
    m = Module(id=mid, title=title, component_type=kind, created_at=created_at,
               updated_at=created_at + rng.randint(0, 30) * DAY // 3, course_ids=[course_id], creator_id=creator,
               exam_id=st.new_id("exam") if kind == "exam" else None,
               tags=rng.choice(("", "compliance", "sales,finance,support", "safety", "onboarding")), session_ids=[])
    st.modules[mid] = m
    return m


def module_plan(rng: random.Random, force_ilt: bool = False) -> list[str]:
    kinds = ["page"] + [rng.choice(("page", "scorm", "scorm", "tincan")) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.25:
        kinds.append("assignment")
    if force_ilt or rng.random() < 0.15:
        kinds.append("ilt session")
    if rng.random() < 0.6:
        kinds.append("exam")
    return kinds


def new_course_version(st: State, rng: random.Random, fam: Family, name: str, created_at: int,
                       published_at: int | None, owner: int, prev: Course | None) -> Course:
    cid = st.new_id("course")
    c = Course(id=cid, family=fam, prev_id=prev.id if prev else None, version=(prev.version + 1) if prev else 1,
               name=name, status="draft", created_at=created_at, date_published=published_at, owner_id=owner,
               module_ids=[], price=rng.choice((0, 0, 0, 4900, 9900)), difficulty=rng.choice(
                   ("not_applicable", "basic", "intermediate", "advanced")), sellable=rng.random() < 0.1,
               cataloged=rng.random() < 0.4, minute_length=float(rng.choice((15, 30, 45, 60, 90, 120))),
               reviews=rng.randint(0, 60), stars=0, keywords=",".join(rng.sample(names.KEYWORDS, 2)),
               reference_code=f"REF-{fam.source_id or cid}-{(prev.version + 1) if prev else 1}" if rng.random() < 0.5 else None,
               reminders=(7, 1) if rng.random() < 0.5 else None, manager_can_enroll=rng.random() < 0.4)
    c.stars = c.reviews * rng.randint(3, 5)
    if fam.source_id is None:
        fam.source_id = cid
    fam.versions.append(cid)
    st.courses[cid] = c
    if prev is None:
        # every fifth family has live learning, so even small portals have sessions
        for seq, kind in enumerate(module_plan(rng, force_ilt=len(st.families) % 5 == 1)):
            title = f"{name}: {kind.title()} {seq + 1}"
            c.module_ids.append(new_module(st, rng, cid, kind, title, created_at, owner).id)
    else:
        # a new version re-uses the previous version's modules and sometimes adds one
        c.module_ids = list(prev.module_ids)
        for mid in c.module_ids:
            st.modules[mid].course_ids.append(cid)
        if rng.random() < 0.4:
            c.module_ids.append(new_module(st, rng, cid, "page", f"{name}: What's new in v{c.version}", created_at, owner).id)
    return c


def set_version_statuses(st: State, fam: Family) -> None:
    versions = [st.courses[cid] for cid in fam.versions]
    for c in versions:
        c.status = "archived" if c.date_published is not None else "draft"
    last = versions[-1]
    if fam.retired_at is not None:
        return
    if last.date_published is None:
        if len(versions) > 1:
            versions[-2].status = "under_revision"
    else:
        last.status = "published"


def gen_courses(st: State, rng: random.Random, families: int, now: int) -> None:
    start = now - PORTAL_AGE_DAYS * DAY
    owners = staff_ids(st, "admin", "instructor") or [next(iter(st.users))]
    for index in range(families):
        created = rng.randint(start, now - 40 * DAY)
        fam = Family(source_id=None, versions=[], topic=family_name(index), created_at=created,
                     due_days=rng.choice((14, 30, 30, 60, 90)) if rng.random() < 0.45 else None,
                     cert_name=None, cert_days=None, licensed=rng.random() < 0.05, retired_at=None,
                     popularity=rng.random())
        if rng.random() < 0.4:
            fam.cert_name = f"{fam.topic} Certificate"
            fam.cert_days = rng.choice((365, 365, 730, None))
        st.families[index] = fam
        owner = rng.choice(owners)
        n_versions = rng.choices((1, 2, 3, 4), (50, 30, 15, 5))[0]
        draft_only = index == 2 or rng.random() < 0.05  # every portal has a never-published draft
        t = created
        prev = None
        name = fam.topic
        for v in range(n_versions):
            is_last = v == n_versions - 1
            published = None if (draft_only or (is_last and v > 0 and rng.random() < 0.15)) else t + rng.randint(1, 10) * DAY
            if published is not None and published > now - DAY:
                published = None
            if v > 0 and rng.random() < 0.2:
                name = f"{fam.topic} ({2020 + v + index % 4})"
            prev = new_course_version(st, rng, fam, name, t, published, owner, prev)
            if draft_only:
                break
            t = t + rng.randint(60, 400) * DAY
            if t > now - 2 * DAY:
                break
        if not draft_only and rng.random() < 0.06 and st.courses[fam.versions[-1]].date_published is not None:
            fam.retired_at = rng.randint(st.courses[fam.versions[-1]].date_published + DAY, now)
        set_version_statuses(st, fam)


# --- groups ----------------------------------------------------------------------

def gen_groups(st: State, rng: random.Random, count: int, now: int) -> None:
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
    # group courses: each group makes 1-4 live courses required for its members
    live = [f for f in st.families.values() if f.live_version(st.courses) is not None and not f.licensed]
    for gid in group_ids:
        for fam in rng.sample(live, min(len(live), rng.randint(1, 4))):
            gcid = st.new_id("group_course")
            st.group_courses[gcid] = {"id": gcid, "group_id": gid, "source_id": fam.source_id,
                                      "created_at": max(st.groups[gid]["created_at"], fam.created_at) + DAY}


def add_membership(st: State, u: User, gid: int, created_at: int) -> None:
    mid = st.new_id("membership")
    st.memberships[mid] = {"id": mid, "group_id": gid, "user_id": u.id, "created_at": created_at}
    u.groups.append(gid)


# --- enrollments -------------------------------------------------------------------

DONE = ("completed", "passed")


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


def enrollable(st: State) -> list[Family]:
    return [f for f in st.families.values() if any(st.courses[c].date_published for c in f.versions)]


def gen_enrollments(st: State, rng: random.Random, per_user: float, now: int) -> None:
    fams = sorted(enrollable(st), key=lambda f: -f.popularity)
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
