"""The catalog: courses (every version is its own course), modules, course instructors and learning paths.

GET /courses, GET /modules, GET /course_instructors, GET /learning_paths.
"""

from __future__ import annotations

import random
from typing import Any, Optional

from .. import names
from ..api import ApiContext, ApiError, Behaviour, Params, Result, without
from ..model import Course, Family, Module, State, User
from ..rng import Stamp, how_many
from ..timefmt import DAY, iso
from . import audit, live_learning

PORTAL_AGE_DAYS = 3 * 365

# strict mode: "Data attributes returned for CourseInstructors search" name the course, not the instructor
STRICT_COURSE_INSTRUCTOR_OMITS = ("user_id", "first_name", "last_name", "email")


def listed_path_statuses(strict: bool, include_draft: bool) -> tuple[str, ...]:
    """The learning paths a listing shows. Strict, as the reference says ("include_draft: Set to true to return both
    draft and published versions. Default false returns only published versions"): archived ones never."""
    if strict:
        return ("published", "draft") if include_draft else ("published",)
    return ("published", "draft", "archived") if include_draft else ("published", "archived")


# --- data ------------------------------------------------------------------------------

def family_name(index: int) -> str:
    topics, suffixes = names.COURSE_TOPICS, names.COURSE_SUFFIXES
    base = topics[index % len(topics)] + suffixes[(index // len(topics)) % len(suffixes)]
    rounds = index // (len(topics) * len(suffixes))
    return base if rounds == 0 else f"{base} #{rounds + 1}"


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


def generate_courses(st: State, rng: random.Random, families: int, now: int) -> None:
    """Families of 1-4 versions; some never published, some retired, a few licensed."""
    start = now - PORTAL_AGE_DAYS * DAY
    owners = [u.id for u in st.users.values() if u.user_type in ("admin", "instructor")] or [next(iter(st.users))]
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


def generate_instructors(st: State, rng: random.Random, now: int) -> None:
    """0-2 instructors (or managers who act as instructors) per course family."""
    instructors = [u for u in st.users.values() if u.user_type == "instructor"
                   or (u.user_type == "manager" and u.perms.get("can_act_as_instructor"))]
    for fam in st.families.values():
        if not instructors or not fam.versions:
            continue
        for u in rng.sample(instructors, min(len(instructors), rng.randint(0, 2))):
            i = st.new_id("course_instructor")
            created = min(now, max(u.created_at, fam.created_at) + rng.randint(0, 30) * DAY)
            st.course_instructors[i] = {"id": i, "source_id": fam.source_id, "user_id": u.id, "created_at": created,
                                        "updated_at": rng.randint(created, now)}


def generate_learning_paths(st: State, rng: random.Random, now: int) -> None:
    """clamp(users/250, 3, 80) paths of 2-5 live course families; 80% published, 12% draft, 8% archived."""
    fams = [f for f in st.families.values() if f.live_version(st.courses) is not None]
    count = max(3, min(80, len(st.users) // 250))
    for i in range(count):
        lp = st.new_id("lp")
        picked = rng.sample(fams, min(len(fams), rng.randint(2, 5)))
        created = max(f.created_at for f in picked) + DAY if picked else now - 100 * DAY
        created = min(created, now - DAY)
        status = rng.choices(("published", "draft", "archived"), (80, 12, 8))[0]
        st.learning_paths[lp] = {"id": lp, "name": f"{picked[0].topic if picked else 'General'} Path {i + 1}",
                                 "created_at": created, "status": status,
                                 "date_published": None if status == "draft" else created + DAY // 2,
                                 "sources": [f.source_id for f in picked], "due_days": rng.choice((None, 30, 60)),
                                 "cert": rng.random() < 0.3}


def churn_versions(st: State, rng: random.Random, stamp: Stamp, share: float) -> dict[str, int]:
    """Some families get a new published version (sometimes renamed); the previous one is archived."""
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
    return {"course_versions_created": k}


def churn_archive_events(st: State, rng: random.Random, stamp: Stamp, share: float, who: list[User]) -> None:
    """Audit events of courses archived elsewhere in the portal (the trail only: no course changes)."""
    k = how_many(rng, len(st.families) * share)
    for _ in range(k):
        audit.record(st, rng, stamp(), audit.COURSE_ARCHIVED, rng.choice(who), None,
                     rng.choice(list(st.families.values())).topic)


def churn_archive_paths(st: State, rng: random.Random, stamp: Stamp, share: float, who: list[User]) -> dict[str, int]:
    """Some published learning paths are archived (audit 9); their enrollments stay."""
    published = [p for p in st.learning_paths.values() if p["status"] == "published"]
    k = min(len(published), how_many(rng, len(st.learning_paths) * share))
    for p in rng.sample(published, k):
        p["status"] = "archived"
        audit.record(st, rng, stamp(), audit.LP_ARCHIVED, rng.choice(who), None, p["name"])
    return {"learning_paths_archived": k}


# --- records ----------------------------------------------------------------------------

def course_record(st: State, c: Course) -> dict[str, Any]:
    fam = c.family
    n = st.course_counts(c.id)
    rec: dict[str, Any] = {
        "id": c.id, "name": c.name, "version": c.version, "source_id": fam.source_id,
        "created_at": iso(c.created_at), "sellable": c.sellable, "cataloged": c.cataloged,
        "date_published": iso(c.date_published), "keywords": c.keywords, "reference_code": c.reference_code,
        "manager_can_enroll": c.manager_can_enroll, "allow_users_rate_course": True,
        "number_of_reviews": c.reviews, "number_of_stars": c.stars, "minute_length": c.minute_length,
        "course_length_unit": "minutes",
        "num_enrolled": n["num_enrolled"], "num_not_started": n["not_started"], "num_in_progress": n["in_progress"],
        "num_completed": n["completed"], "num_passed": n["passed"], "num_failed": n["failed"],
        "num_pending_review": n["pending_review"], "number_of_modules": len(c.module_ids), "price": c.price,
        "published_status_id": c.status, "difficulty_level": c.difficulty,
        "description_html": f"<p>{c.name}: what every colleague needs to know.</p>",
        "description_text": f"{c.name}: what every colleague needs to know.",
        "objectives_html": "<ul><li>Understand the policy</li><li>Apply it at work</li></ul>",
        "objectives_text": "Understand the policy. Apply it at work.",
        "credits_to_be_awarded": "CEU:1.00" if fam.cert_name else None,
        "due_days_after_enrollment": fam.due_days, "due_date_after_enrollment": None,
        "send_due_date_reminders": c.reminders is not None,
        "due_date_reminder_days": c.reminders[0] if c.reminders else None,
        "due_date_reminder_days_2": c.reminders[1] if c.reminders else None,
        "thumbnail_image_url": None,
    }
    if fam.licensed:
        rec.update({"license_expires": None, "license_number_enrollments_purchased": None,
                    "license_is_open_ended": True, "license_has_unlimited_enrollments": True})
    owner = st.users.get(c.owner_id)
    rec.update({"owner_first_name": owner.first_name if owner else None,
                "owner_last_name": owner.last_name if owner else None,
                "owner_email": owner.email if owner else None, "owner_id": c.owner_id})
    return rec


def family_of(st: State, source_id: int) -> Optional[Family]:
    c = st.courses.get(source_id)
    return c.family if c else None


def course_instructor_record(st: State, ci: dict[str, Any], strict: bool) -> dict[str, Any]:
    fam = family_of(st, ci["source_id"])
    assert fam is not None
    c = fam.live_version(st.courses) or st.courses[fam.versions[-1]]
    u = st.users[ci["user_id"]]
    learners = len(st.enrollments_for(c.id))
    rec = {"id": ci["id"], "created_at": iso(ci["created_at"]), "updated_at": iso(ci["updated_at"]),
            "enrollment_count": learners, "course_id": c.id, "course_name": fam.current_name(st.courses),
            "version": c.version, "course_created_at": iso(c.created_at), "sellable": c.sellable,
            "cataloged": c.cataloged, "date_published": iso(c.date_published), "keywords": c.keywords,
            "reference_code": c.reference_code, "manager_can_enroll": c.manager_can_enroll,
            "allow_users_rate_course": True, "number_of_reviews": c.reviews, "number_of_stars": c.stars,
            "minute_length": c.minute_length, "course_length_unit": "minutes", "price": c.price,
            "published_status_id": c.status, "difficulty_level": c.difficulty,
            "description_html": f"<p>{c.name}: what every colleague needs to know.</p>",
            "description_text": f"{c.name}: what every colleague needs to know.",
            "objectives_html": "<ul><li>Understand the policy</li><li>Apply it at work</li></ul>",
            "objectives_text": "Understand the policy. Apply it at work.",
            "user_id": u.id, "first_name": u.first_name, "last_name": u.last_name, "email": u.email}
    return without(rec, STRICT_COURSE_INSTRUCTOR_OMITS) if strict else rec


def address_keys(q: frozenset[str]) -> tuple[str, str, str]:
    return ("address1", "address2", "address3") if "locations_address" in q else ("address_1", "address_2", "address_3")


def module_rows(st: State, mids: list[int], strict: bool) -> list[tuple[int, Optional[int]]]:
    """(module id, session id) per row: strict, a live-learning module once per session ("One module_id can be
    associated with multiple training_id and session_id for a live learning event"), else once."""
    if not strict:
        return [(mid, None) for mid in mids]
    return [(mid, sid) for mid in mids for sid in (st.modules[mid].session_ids or [None])]


def module_record(st: State, q: frozenset[str], mid: int, course_id: Optional[int], strict: bool = False,
                  session_id: Optional[int] = None) -> dict[str, Any]:
    """A module as GET /modules lists it; strict, with the session's training_id and session_id (null when none)."""
    m = st.modules[mid]
    cid = course_id if course_id is not None else m.course_ids[0]
    creator = st.users.get(m.creator_id)
    module_ids = st.courses[cid].module_ids
    rec: dict[str, Any] = {
        "id": m.id, "title": m.title, "tags": m.tags, "created_at": iso(m.created_at), "updated_at": iso(m.updated_at),
        "exam_id": m.exam_id, "sequence": module_ids.index(mid) + 1 if mid in module_ids else 1,
        "number_of_linked_courses": len(m.course_ids), "component_type": m.component_type,
        "description_html": f"<p>{m.title}</p>", "description_text": m.title,
        "creator_id": m.creator_id, "creator_first_name": creator.first_name if creator else None,
        "creator_last_name": creator.last_name if creator else None, "creator_email": creator.email if creator else None,
    }
    if creator and creator.username:
        rec["creator_username"] = creator.username
    if m.component_type == "assignment":
        rec.update({"assignment_passing_percentage": 60, "assignment_question_html": "<p>Describe how you apply this.</p>",
                    "assignment_question_text": "Describe how you apply this."})
    if m.component_type == "ilt session" and m.session_ids:
        s = st.sessions[session_id if session_id is not None else m.session_ids[0]]
        loc = live_learning.location(s["location_id"])
        a1, a2, a3 = address_keys(q)
        rec.update({"location_id": s["location_id"], "location": loc[1] if loc else None,
                    a1: loc[2] if loc else None, a2: loc[3] if loc else None, a3: loc[4] if loc else None,
                    "location_state_code": None, "location_country_code": loc[6] if loc else None,
                    "start_at": iso(s["start"]), "end_at": iso(s["end"]), "timezone": s["timezone"],
                    "number_enrolled_on_session": len(live_learning.registrants(st, s)),
                    "max_capacity": s["max_capacity"]})
        tutor = st.users.get(s["instructors"][0])
        if tutor:
            rec.update({"session_tutor_id": tutor.id, "tutor_first_name": tutor.first_name,
                        "tutor_last_name": tutor.last_name})
    if strict:
        rec["training_id"] = st.sessions[session_id]["event_id"] if session_id is not None else None
        rec["session_id"] = session_id
    return rec


def lp_courses(st: State, p: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for seq, source in enumerate(p["sources"]):
        fam = family_of(st, source)
        assert fam is not None
        c = fam.live_version(st.courses) or st.courses[fam.versions[-1]]
        out.append({"id": c.id, "name": fam.current_name(st.courses), "sequence": seq + 1})
    return out


def learning_path_record(st: State, p: dict[str, Any], with_courses: bool) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": p["id"], "name": p["name"], "created_at": iso(p["created_at"]), "sellable": False, "cataloged": True,
        "date_published": iso(p["date_published"]), "keywords": "path", "minute_length": 120.0,
        "path_length_unit": "minutes", "price": 0, "published_status_id": p["status"],
        "difficulty_level": "not_applicable", "description_html": f"<p>{p['name']}</p>", "description_text": p["name"],
        "credits_to_be_awarded": None, "due_days_after_enrollment": p["due_days"], "due_date_after_enrollment": None,
        "send_due_date_reminders": p["due_days"] is not None, "due_date_reminder_days": 7 if p["due_days"] else None,
        "due_date_reminder_days_2": None, "thumbnail_image_url": None}
    if with_courses:
        rec["courses"] = lp_courses(st, p)
    return rec


# --- handlers ----------------------------------------------------------------------------

def select_courses(api: ApiContext, p: Params) -> list[Any]:
    st = api.st
    include_draft = p.bool("include_draft")
    licensed = p.bool("include_licensed_courses")
    name = p.str("name")
    course_id = p.int("course_id")
    if course_id is not None:
        c = st.courses.get(course_id)
        if c is None or (c.status == "draft" and not include_draft) or (c.family.licensed and not licensed):
            raise ApiError(404, "Course not found")
        return [c]
    if name == "" and api.b.empty_name_search != "all":
        if api.b.empty_name_search == "400":
            raise ApiError(400, "name cannot be blank")
        return []  # a pattern that is empty matches nothing
    all_versions = p.bool("include_all_versions") and (name is not None or "courses_all_versions" in api.q)
    picked = []
    for c in st.courses.values():
        if c.family.licensed and not licensed:
            continue
        if c.status == "draft":
            if not include_draft:
                continue
        elif not all_versions and c.status not in ("published", "under_revision"):
            continue
        if name and name.lower() not in c.name.lower():
            continue
        picked.append(c)
    return picked


def list_courses(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    courses = select_courses(api, p)
    return api.page_result("courses", lambda chunk: [course_record(api.st, c) for c in chunk], courses, p)


def list_course_instructors(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    cid, uid = p.opt_int("course_id"), api.user_filter(p)
    source = (st.courses[cid].family.source_id if cid in st.courses else None) if cid is not None else None
    links = [ci for ci in st.course_instructors.values() if ci["user_id"] in st.users
             and (uid is None or ci["user_id"] == uid) and (cid is None or ci["source_id"] == source)]
    return api.listing(p, "course_instructors", links, lambda ci: course_instructor_record(st, ci, api.b.strict))


def list_modules(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    st, strict = api.st, api.b.strict
    cid = p.opt_int("course_id")
    if cid is not None and cid not in st.courses:
        raise ApiError(404, "Course not found")
    rows = module_rows(st, st.courses[cid].module_ids if cid is not None else list(st.modules), strict)
    return api.listing(p, "modules", rows, lambda row: module_record(st, api.q, row[0], cid, strict, row[1]),
                       "modules_wrapper")


def list_learning_paths(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    name, lp_id = (p.str("name") or "").lower(), p.opt_int("id")
    draft, courses = p.bool("include_draft"), p.bool("include_courses")
    shown = listed_path_statuses(api.b.strict, draft)
    paths = [lp for lp in st.learning_paths.values() if lp["status"] in shown
             and name in lp["name"].lower() and (lp_id is None or lp["id"] == lp_id)]
    return api.listing(p, "learning_paths", paths, lambda lp: learning_path_record(st, lp, courses))


ROUTES = (
    ("GET", "/courses", list_courses),
    ("GET", "/modules", list_modules),
    ("GET", "/course_instructors", list_course_instructors),
    ("GET", "/learning_paths", list_learning_paths),
)


# --- ground truth ------------------------------------------------------------------------
# Stated from the model on its own, not through the records above, so it can check them.

def published_title(st: State, fam: Family) -> str:
    """A family's most recent published title (a never-published family: its newest title)."""
    published = [st.courses[cid] for cid in fam.versions if st.courses[cid].date_published is not None]
    return (published or [st.courses[fam.versions[-1]]])[-1].name


def current_version(st: State, fam: Family) -> Course:
    """The version a family shows now: published or under revision, else its newest."""
    live = [st.courses[cid] for cid in fam.versions if st.courses[cid].status in ("published", "under_revision")]
    return (live or [st.courses[fam.versions[-1]]])[-1]


def _course_facts(c: Course) -> dict[str, Any]:
    """What a course and a course-instructor link both say about a course version."""
    return {"sellable": c.sellable, "cataloged": c.cataloged, "date_published": iso(c.date_published),
            "keywords": c.keywords, "reference_code": c.reference_code, "manager_can_enroll": c.manager_can_enroll,
            "allow_users_rate_course": True, "number_of_reviews": c.reviews, "number_of_stars": c.stars,
            "minute_length": c.minute_length, "course_length_unit": "minutes", "price": c.price,
            "published_status_id": c.status, "difficulty_level": c.difficulty,
            "description_html": f"<p>{c.name}: what every colleague needs to know.</p>",
            "description_text": f"{c.name}: what every colleague needs to know.",
            "objectives_html": "<ul><li>Understand the policy</li><li>Apply it at work</li></ul>",
            "objectives_text": "Understand the policy. Apply it at work."}


def truth(st: State, b: Behaviour, now: int) -> dict[str, list[Any]]:
    """courses (every version), modules (GET /modules), course_instructors, learning_paths (drafts and courses
    included) and learning_path_courses (lp_id + course entry)."""
    statuses = ("not_started", "in_progress", "completed", "passed", "failed", "pending_review")
    counts: dict[int, dict[str, int]] = {}
    for e in st.enrollments.values():
        n = counts.setdefault(e.course_id, dict.fromkeys(statuses, 0))
        n[e.status] += 1
    courses = []
    for c in st.courses.values():
        fam = c.family
        n = counts.get(c.id, dict.fromkeys(statuses, 0))
        owner = st.users.get(c.owner_id)
        row: dict[str, Any] = {
            "id": c.id, "name": c.name, "version": c.version, "source_id": fam.source_id, "created_at": iso(c.created_at),
            **_course_facts(c), "num_enrolled": sum(n.values()),
            **{f"num_{s}": n[s] for s in statuses}, "number_of_modules": len(c.module_ids),
            "credits_to_be_awarded": "CEU:1.00" if fam.cert_name else None,
            "due_days_after_enrollment": fam.due_days, "due_date_after_enrollment": None,
            "send_due_date_reminders": c.reminders is not None,
            "due_date_reminder_days": c.reminders[0] if c.reminders else None,
            "due_date_reminder_days_2": c.reminders[1] if c.reminders else None, "thumbnail_image_url": None,
            "owner_id": c.owner_id, "owner_first_name": owner.first_name if owner else None,
            "owner_last_name": owner.last_name if owner else None, "owner_email": owner.email if owner else None,
        }
        if fam.licensed:
            row.update({"license_expires": None, "license_number_enrollments_purchased": None,
                        "license_is_open_ended": True, "license_has_unlimited_enrollments": True})
        courses.append(row)

    modules = [_module_truth(st, b, mid, st.modules[mid].course_ids[0], sid) for mid, sid in _module_rows(st, b, list(st.modules))]
    course_modules = [{"course_id": c.id, **_module_truth(st, b, mid, c.id, sid)}
                      for c in st.courses.values() for mid, sid in _module_rows(st, b, c.module_ids)]

    instructors = []
    for ci in st.course_instructors.values():
        u = st.users.get(ci["user_id"])
        if u is None:
            continue
        fam = st.courses[ci["source_id"]].family
        c = current_version(st, fam)
        row = {
            "id": ci["id"], "created_at": iso(ci["created_at"]), "updated_at": iso(ci["updated_at"]),
            "enrollment_count": sum(counts.get(c.id, {}).values()),
            "course_id": c.id, "course_name": published_title(st, fam), "version": c.version,
            "course_created_at": iso(c.created_at), **_course_facts(c),
            "user_id": u.id, "first_name": u.first_name, "last_name": u.last_name, "email": u.email}
        instructors.append(without(row, STRICT_COURSE_INSTRUCTOR_OMITS) if b.strict else row)

    paths, path_courses = [], []
    listed = listed_path_statuses(b.strict, include_draft=True)
    for p in st.learning_paths.values():
        if p["status"] not in listed:
            continue
        entries = []
        for seq, source in enumerate(p["sources"], 1):
            fam = st.courses[source].family
            entries.append({"id": current_version(st, fam).id, "name": published_title(st, fam), "sequence": seq})
        paths.append({
            "id": p["id"], "name": p["name"], "created_at": iso(p["created_at"]), "sellable": False, "cataloged": True,
            "date_published": iso(p["date_published"]), "keywords": "path", "minute_length": 120.0,
            "path_length_unit": "minutes", "price": 0, "published_status_id": p["status"],
            "difficulty_level": "not_applicable", "description_html": f"<p>{p['name']}</p>",
            "description_text": p["name"], "credits_to_be_awarded": None, "due_days_after_enrollment": p["due_days"],
            "due_date_after_enrollment": None, "send_due_date_reminders": p["due_days"] is not None,
            "due_date_reminder_days": 7 if p["due_days"] else None, "due_date_reminder_days_2": None,
            "thumbnail_image_url": None, "courses": entries})
        path_courses.extend({"lp_id": p["id"], **entry} for entry in entries)
    archived = [p["id"] for p in st.learning_paths.values() if p["status"] == "archived"]
    return {"courses": courses, "modules": modules, "course_modules": course_modules,
            "course_instructors": instructors, "learning_paths": paths, "learning_path_courses": path_courses,
            "archived_learning_path_ids": archived}


def _module_rows(st: State, b: Behaviour, mids: list[int]) -> list[tuple[int, Optional[int]]]:
    """Strict: a row per session of a live-learning module (a null session when it has none)."""
    rows: list[tuple[int, Optional[int]]] = []
    for mid in mids:
        sessions: list[Optional[int]] = list(st.modules[mid].session_ids) if b.strict else []
        rows.extend((mid, sid) for sid in sessions or [None])
    return rows


def _module_truth(st: State, b: Behaviour, mid: int, course_id: int, session_id: Optional[int]) -> dict[str, Any]:
    m = st.modules[mid]
    creator = st.users.get(m.creator_id)
    order = st.courses[course_id].module_ids
    row: dict[str, Any] = {
        "id": m.id, "title": m.title, "tags": m.tags, "created_at": iso(m.created_at), "updated_at": iso(m.updated_at),
        "exam_id": m.exam_id, "sequence": order.index(mid) + 1 if mid in order else 1,
        "number_of_linked_courses": len(m.course_ids), "component_type": m.component_type,
        "description_html": f"<p>{m.title}</p>", "description_text": m.title, "creator_id": m.creator_id,
        "creator_first_name": creator and creator.first_name, "creator_last_name": creator and creator.last_name,
        "creator_email": creator and creator.email,
    }
    if creator is not None and creator.username:
        row["creator_username"] = creator.username
    if m.component_type == "assignment":
        row["assignment_passing_percentage"] = 60
        row["assignment_question_html"] = "<p>Describe how you apply this.</p>"
        row["assignment_question_text"] = "Describe how you apply this."
    if b.strict:
        row["session_id"] = session_id
        row["training_id"] = None if session_id is None else st.sessions[session_id]["event_id"]
    if m.component_type == "ilt session" and m.session_ids:
        s = st.sessions[m.session_ids[0] if session_id is None else session_id]
        loc = {place[0]: place for place in live_learning.LOCATIONS}.get(s["location_id"])
        for key, k in zip(address_keys(b.quirks), (2, 3, 4)):
            row[key] = loc[k] if loc else None
        tutor = st.users.get(s["instructors"][0])
        row.update({"location_id": s["location_id"], "location": loc[1] if loc else None, "location_state_code": None,
                    "location_country_code": loc[6] if loc else None, "start_at": iso(s["start"]),
                    "end_at": iso(s["end"]), "timezone": s["timezone"],
                    "number_enrolled_on_session": len(live_learning.registrants(st, s)),
                    "max_capacity": s["max_capacity"]})
        if tutor is not None:
            row.update({"session_tutor_id": tutor.id, "tutor_first_name": tutor.first_name,
                        "tutor_last_name": tutor.last_name})
    return row
