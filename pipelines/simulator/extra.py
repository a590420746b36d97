"""Second-group data: group managers, instructors, exams, assignments, mark-completes,
live learning, legacy ILT, learning paths, gamification, certifications, audit trails.

High-volume children of enrollments (exam enrollments and answers, assignment
answers, session attendance) are derived on demand from the enrollment they
belong to and a hash of (seed, id), so they cost no memory, change when the
enrollment changes, and never disagree with it.
"""

from __future__ import annotations

import random
import uuid
from typing import Any, Callable

from . import names
from .generate import DONE, stream
from .model import State, User
from .timefmt import DAY

MASK = (1 << 64) - 1

LOCATIONS = (
    (2254, "Dublin office", "Ocean House", "Smithfield", "D7", "Dublin", "IE", 0),
    (2259, "Belgrade office", "Grawe Building", "Bul. Mihajila Pupina 115E", "11070 Belgrade", "Belgrade", "RS", 60),
    (2260, "Philadelphia office", "Cast Iron Building", "718 Arch Street", "Philadelphia 19106", "Eastern Time (US & Canada)", "US", -300),
    (2255, "Toronto office", "100 King St W", "Suite 500", "Toronto M5X 1A9", "Eastern Time (US & Canada)", "CA", -300),
    (2256, "Vancouver office", "1055 W Georgia St", "Floor 12", "Vancouver V6E 3P3", "Pacific Time (US & Canada)", "CA", -480),
    (2261, "Berlin office", "Friedrichstrasse 68", "", "10117 Berlin", "Berlin", "DE", 60),
)
TIMEZONES = (
    ("Pacific Time (US & Canada)", "(GMT-08:00) Pacific Time (US & Canada)", -480),
    ("Mountain Time (US & Canada)", "(GMT-07:00) Mountain Time (US & Canada)", -420),
    ("Central Time (US & Canada)", "(GMT-06:00) Central Time (US & Canada)", -360),
    ("Eastern Time (US & Canada)", "(GMT-05:00) Eastern Time (US & Canada)", -300),
    ("UTC", "(GMT+00:00) UTC", 0), ("Dublin", "(GMT+00:00) Dublin", 0), ("London", "(GMT+00:00) London", 0),
    ("Belgrade", "(GMT+01:00) Belgrade", 60), ("Berlin", "(GMT+01:00) Berlin", 60), ("Madrid", "(GMT+01:00) Madrid", 60),
    ("Tokyo", "(GMT+09:00) Tokyo", 540), ("Sydney", "(GMT+10:00) Sydney", 600),
)
TZ_OFFSET = {tz[0]: tz[2] for tz in TIMEZONES}
TZ_NAME = {tz[0]: tz[1] for tz in TIMEZONES}
BADGES = (
    ("First Steps", 10, "activity_badge"), ("Fast Learner", 25, "learning_badge"), ("Perfect Score", 50, "learning_badge"),
    ("Compliance Champion", 40, "learning_badge"), ("Regular", 15, "activity_badge"), ("Bronze", 100, "level_badge"),
    ("Silver", 250, "level_badge"), ("Gold", 500, "level_badge"), ("Team Player", 20, "activity_badge"),
    ("Night Owl", 5, "activity_badge"),
)
LEVELS = ((0, "Novice"), (100, "Apprentice"), (300, "Expert"), (600, "Master"))


def mix(*values: int) -> int:
    """splitmix64 over a tuple of integers: a cheap deterministic hash."""
    h = 0x243F6A8885A308D3
    for v in values:
        h = (h ^ (v & MASK)) + 0x9E3779B97F4A7C15 & MASK
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9 & MASK
        h = (h ^ (h >> 27)) * 0x94D049BB133111EB & MASK
        h ^= h >> 31
    return h


def unit(h: int) -> float:
    return (h >> 11) / float(1 << 53)


def generate_extra(st: State, seed: int, now: int) -> None:
    x = st.extra
    x["seed"] = seed
    x["next"] = {"group_manager": 31001, "course_instructor": 41001, "markcomplete": 81001, "event": 350001,
                 "session": 390001, "part": 333001, "ilt": 520001, "lp": 9001, "lp_enrollment": 6000001}
    gen_staff_links(st, stream(seed, "staff"), now)
    gen_exams(st, stream(seed, "exams"))
    gen_markcompletes(st, stream(seed, "markcompletes"))
    gen_live_learning(st, stream(seed, "live"), now)
    gen_learning_paths(st, stream(seed, "paths"), now)
    gen_gamification(st, stream(seed, "gamification"), now)
    gen_certifications(st, stream(seed, "certs"))
    gen_audit(st, stream(seed, "audit"), now)


def next_id(st: State, kind: str) -> int:
    value = st.extra["next"][kind]
    st.extra["next"][kind] = value + 1
    return value


# --- managers and instructors -----------------------------------------------------------

def gen_staff_links(st: State, rng: random.Random, now: int) -> None:
    managers = [u for u in st.users.values() if u.user_type == "manager"]
    instructors = [u for u in st.users.values() if u.user_type == "instructor"
                   or (u.user_type == "manager" and u.perms.get("can_act_as_instructor"))]
    groups = list(st.groups)
    gms: dict[int, dict[str, Any]] = {}
    for u in managers:
        for gid in rng.sample(groups, min(len(groups), rng.randint(1, 2))):
            i = next_id(st, "group_manager")
            created = max(u.created_at, st.groups[gid]["created_at"]) + rng.randint(0, 20) * DAY
            created = min(created, now)
            gms[i] = {"id": i, "group_id": gid, "user_id": u.id, "created_at": created,
                      "updated_at": rng.randint(created, now), "can_create_users": rng.random() < 0.3}
    st.extra["group_managers"] = gms
    cis: dict[int, dict[str, Any]] = {}
    for fam in st.families.values():
        if not instructors or not fam.versions:
            continue
        for u in rng.sample(instructors, min(len(instructors), rng.randint(0, 2))):
            i = next_id(st, "course_instructor")
            created = min(now, max(u.created_at, fam.created_at) + rng.randint(0, 30) * DAY)
            cis[i] = {"id": i, "source_id": fam.source_id, "user_id": u.id, "created_at": created,
                      "updated_at": rng.randint(created, now)}
    st.extra["course_instructors"] = cis


# --- exams ---------------------------------------------------------------------------------

def gen_exams(st: State, rng: random.Random) -> None:
    exams: dict[int, dict[str, Any]] = {}
    for m in st.modules.values():
        if m.component_type != "exam":
            continue
        survey = rng.random() < 0.1
        questions = []
        for qn in range(rng.randint(4, 8)):
            qid = m.exam_id * 100 + qn
            options = [f"Option {chr(65 + k)}" for k in range(rng.randint(3, 4))]
            correct = rng.randrange(len(options))
            questions.append({"question_id": qid, "text": f"<p>{m.title}: question {qn + 1}?</p>",
                              "options": options, "correct": correct, "points": rng.choice((1, 2, 5)),
                              # a few questions most learners get wrong
                              "p_correct": 0.25 if rng.random() < 0.2 else 0.88,
                              "trap": (correct + 1) % len(options)})
        exams[m.exam_id] = {"exam_id": m.exam_id, "module_id": m.id, "name": m.title, "is_survey": survey,
                            "is_timed_exam": rng.random() < 0.4, "time_for_exam": rng.choice((10, 20, 30)),
                            "pass_percentage": rng.choice((50, 70, 80)), "attempts": rng.choice((None, None, 1, 3)),
                            "is_knowledge_check": rng.random() < 0.1, "questions": questions,
                            "string_flags": rng.random() < 0.3}
    st.extra["exams"] = exams


def exam_position(st: State, course_id: int, module_id: int) -> int:
    kinds = [mid for mid in st.courses[course_id].module_ids if st.modules[mid].component_type in ("exam", "assignment")]
    return kinds.index(module_id) if module_id in kinds else 0


def exam_enrollment(st: State, exam: dict[str, Any], eid: int) -> dict[str, Any] | None:
    """The exam enrollment behind a course enrollment, or None if the learner has not sat it."""
    e = st.enrollments.get(eid)
    if e is None or e.user_id not in st.users:
        return None
    h = mix(st.extra["seed"], eid, exam["exam_id"])
    if e.status == "not_started" or (e.status == "in_progress" and unit(h) < 0.6):
        return None
    u = st.users[e.user_id]
    eeid = eid * 10 + exam_position(st, e.course_id, exam["module_id"])
    if exam["is_survey"]:
        status, score = "Completed", None
    elif e.status in ("passed", "completed", "pending_review"):
        status, score = "Passed", e.percentage if e.percentage is not None else 70 + h % 31
    else:
        status, score = "Failed", 10 + h % 50
    attempts = 1 if status != "Failed" and unit(h >> 7) < 0.7 else 1 + (h >> 13) % 3
    done = e.date_completed or e.date_lastaccessed or e.date_started
    return {"exam_id": exam["exam_id"], "exam_enrollment_id": eeid, "status": status,
            "time_taken": round(3 + unit(h >> 17) * 40, 1), "attempts_used": attempts, "score": score,
            "user_id": u.id, "portal_membership_id": u.pm_id, "date_completed": done}


def exam_answers(st: State, exam: dict[str, Any], ee: dict[str, Any]) -> list[dict[str, Any]]:
    """Per question: correct? and the given option index (wrong answers cluster on a trap option)."""
    out = []
    passed = ee["status"] != "Failed"
    for q in exam["questions"]:
        h = mix(st.extra["seed"], ee["exam_enrollment_id"], q["question_id"], ee["attempts_used"])
        p = q["p_correct"] + (0.08 if passed else -0.3)
        if exam["is_survey"]:
            given, correct = h % len(q["options"]), None
        elif unit(h) < p:
            given, correct = q["correct"], True
        else:
            given = q["trap"] if unit(h >> 9) < 0.7 else (q["correct"] + 1 + (h >> 20) % (len(q["options"]) - 1)) % len(q["options"])
            correct = given == q["correct"]
        out.append({"question": q, "given": given, "correct": correct})
    return out


def assignment_answer(st: State, module_id: int, eid: int) -> dict[str, Any] | None:
    e = st.enrollments.get(eid)
    if e is None or e.status not in ("completed", "passed", "failed", "pending_review"):
        return None
    h = mix(st.extra["seed"], eid, module_id, 7)
    submitted = e.date_completed or e.date_lastaccessed or e.updated_at
    reviewed = e.status != "pending_review"
    rejected = e.status == "failed" and unit(h) < 0.5
    reviewer = st.extra["course_instructor_ids"].get(st.courses[e.course_id].family.source_id)
    auto = reviewed and (reviewer is None or unit(h >> 5) < 0.5)
    return {"id": eid * 10 + exam_position(st, e.course_id, module_id), "answer": "<p>Please see attached document for full response</p>\n",
            "feedback": "<p>Thanks for submitting your assignment.</p>\n" if reviewed else None,
            "score": (e.percentage if e.percentage is not None else 100) if reviewed else None,
            "status": "pending_review" if not reviewed else "failed" if e.status == "failed" else "passed",
            "user_id": e.user_id, "reviewed_at": submitted if reviewed else None, "assignment_id": module_id,
            "answer_submitted_at": submitted, "was_rejected": rejected, "rejected_at": submitted if rejected else None,
            "was_autocompleted": auto, "reviewed_by_user_id": None if auto or not reviewed else reviewer,
            "rejected_by_user_id": reviewer if rejected and not auto else None}


# --- mark-completes -----------------------------------------------------------------------

def gen_markcompletes(st: State, rng: random.Random) -> None:
    staff = [u.id for u in st.users.values() if u.user_type in ("admin", "manager")]
    mcs: dict[int, dict[str, Any]] = {}
    for e in st.enrollments.values():
        if e.status in ("completed", "passed", "failed") and rng.random() < 0.03:
            add_markcomplete(st, rng, e.id, e.date_completed + rng.randint(0, 3 * DAY), staff, mcs)
    st.extra["markcompletes"] = mcs
    st.extra["course_instructor_ids"] = {ci["source_id"]: ci["user_id"] for ci in st.extra["course_instructors"].values()}


def add_markcomplete(st: State, rng: random.Random, eid: int, created: int, staff: list[int],
                     mcs: dict[int, dict[str, Any]]) -> dict[str, Any]:
    e = st.enrollments[eid]
    via_api = rng.random() < 0.3
    mc = {"id": next_id(st, "markcomplete"), "enrollment_id": eid, "created_at": created,
          "date_completed": e.date_completed, "status": e.status, "percentage": e.percentage,
          "user_id": None if via_api or not staff else rng.choice(staff),
          "notes": rng.choice(("Completed offline training", "Exemption approved by HR", "Imported from previous LMS", None)),
          "action_source_type": "API" if via_api else "UI"}
    mcs[mc["id"]] = mc
    return mc


# --- live learning and legacy ILT ------------------------------------------------------------

def gen_live_learning(st: State, rng: random.Random, now: int) -> None:
    instructors = [u.id for u in st.users.values() if u.user_type == "instructor"] or [next(iter(st.users))]
    sessions: dict[int, dict[str, Any]] = {}
    for m in st.modules.values():
        if m.component_type != "ilt session":
            continue
        event_id = next_id(st, "event")
        for k in range(rng.randint(2, 6)):
            start = now + rng.randint(-150, 60) * DAY + rng.choice((9, 10, 13, 14, 16)) * 3600 - (now % DAY)
            classroom = rng.random() < 0.5
            loc = rng.choice(LOCATIONS) if classroom else None
            tz = loc[5] if loc else rng.choice(TIMEZONES)[0]
            sid = next_id(st, "session")
            sessions[sid] = {
                "id": sid, "event_id": event_id, "module_id": m.id, "part": next_id(st, "part"),
                "title": f"{m.title} - session {k + 1}", "start": start, "end": start + rng.choice((1, 2, 3, 8)) * 3600,
                "timezone": tz, "session_type": "classroom" if classroom else "webinar",
                "location_id": loc[0] if loc else None, "max_capacity": rng.choice((10, 20, 50, None)),
                "min_capacity": rng.choice((None, 3)), "created_at": start - rng.randint(10, 60) * DAY,
                "instructors": rng.sample(instructors, min(len(instructors), rng.randint(1, 2))),
                "required": rng.random() < 0.6, "description": f"{m.title}: live session",
            }
            m.session_ids.append(sid)
    st.extra["sessions"] = sessions
    # legacy ILT sessions on a few courses
    ilts: dict[int, dict[str, Any]] = {}
    fams = [f for f in st.families.values() if f.live_version(st.courses) is not None]
    for fam in rng.sample(fams, max(1, len(fams) // 10)) if fams else []:
        for k in range(rng.randint(1, 3)):
            start = now + rng.randint(-300, 60) * DAY + 9 * 3600 - (now % DAY)
            loc = rng.choice(LOCATIONS) if rng.random() < 0.6 else None
            i = next_id(st, "ilt")
            ilts[i] = {"id": i, "source_id": fam.source_id, "title": f"{fam.topic} classroom {k + 1}", "start": start,
                       "end": start + 3 * 3600, "location": loc, "created_at": start - 30 * DAY,
                       "max_capacity": rng.choice((20, 200)), "instructor": rng.choice(instructors),
                       "enrollment_type": rng.choice((0, 1, 2))}
    st.extra["ilts"] = ilts


def session_courses(st: State, session: dict[str, Any]) -> list[int]:
    return st.modules[session["module_id"]].course_ids


def session_registrants(st: State, session: dict[str, Any]) -> list[int]:
    """Enrollment ids registered on a session: a deterministic share of the module's course enrollments.

    Only learners enrolled before the session ended: one who joins the course later
    is not registered, after the fact, on a session that is long over.
    """
    seed = st.extra["seed"]
    out = []
    cap = session["max_capacity"] or 10 ** 9
    for cid in session_courses(st, session):
        for eid in st.enrollments_for(cid):
            if st.enrollments[eid].date_enrolled > session["end"]:
                continue
            if unit(mix(seed, session["id"], eid)) < 0.35:
                out.append(eid)
                if len(out) >= cap:
                    return sorted(out)
    return sorted(out)


def attendance_mark(st: State, session: dict[str, Any], eid: int, now: int) -> tuple[int, int, int | None]:
    """(session_status, attendance status, minutes): marked only once the session has ended."""
    if session["end"] > now:
        return 10, 0, None
    h = mix(st.extra["seed"], session["id"], eid, 3)
    r = unit(h)
    minutes = (session["end"] - session["start"]) // 60
    if r < 0.78:
        return 20, 10, minutes  # present
    if r < 0.9:
        return 30, 5, None  # absent
    return 40, 0, None  # no-show


# --- learning paths -------------------------------------------------------------------------

def gen_learning_paths(st: State, rng: random.Random, now: int) -> None:
    fams = [f for f in st.families.values() if f.live_version(st.courses) is not None]
    paths: dict[int, dict[str, Any]] = {}
    count = max(3, min(80, len(st.users) // 250))
    for i in range(count):
        lp = next_id(st, "lp")
        picked = rng.sample(fams, min(len(fams), rng.randint(2, 5)))
        created = max(f.created_at for f in picked) + DAY if picked else now - 100 * DAY
        created = min(created, now - DAY)
        status = rng.choices(("published", "draft", "archived"), (80, 12, 8))[0]
        paths[lp] = {"id": lp, "name": f"{picked[0].topic if picked else 'General'} Path {i + 1}",
                     "created_at": created, "status": status,
                     "date_published": None if status == "draft" else created + DAY // 2,
                     "sources": [f.source_id for f in picked], "due_days": rng.choice((None, 30, 60)),
                     "cert": rng.random() < 0.3}
    st.extra["learning_paths"] = paths
    lpes: dict[int, dict[str, Any]] = {}
    live_paths = [p for p in paths.values() if p["status"] == "published"]
    for u in st.users.values():
        if not live_paths or rng.random() > 0.25:
            continue
        p = rng.choice(live_paths)
        enrolled = rng.randint(max(u.created_at, p["created_at"]), now - 60)
        lpes_add(st, rng, lpes, u.id, p, enrolled, now)
    st.extra["lp_enrollments"] = lpes


def lpes_add(st: State, rng: random.Random, lpes: dict[int, dict[str, Any]], uid: int, p: dict[str, Any],
             enrolled: int, now: int) -> dict[str, Any]:
    r = rng.random()
    status = "completed" if r < 0.35 else "in_progress" if r < 0.75 else "not_started"
    started = min(now, enrolled + rng.randint(0, max(1, (now - enrolled) // 4))) if status != "not_started" else None
    completed = rng.randint(started, now) if status == "completed" and started else None
    rec = {"id": next_id(st, "lp_enrollment"), "lp_id": p["id"], "user_id": uid, "status": status,
           "date_enrolled": enrolled, "date_started": started, "date_completed": completed,
           "date_lastaccessed": completed or started, "percentage": 100 if completed else None,
           "due_date": enrolled + p["due_days"] * DAY if p["due_days"] else None,
           "cert_expires_at": completed + 365 * DAY if completed and p["cert"] else None,
           "updated_at": max(t for t in (enrolled, started, completed) if t), "unenrolled": False}
    lpes[rec["id"]] = rec
    return rec


# --- gamification, certifications -----------------------------------------------------------

def gen_gamification(st: State, rng: random.Random, now: int) -> None:
    admin = next((u.id for u in st.users.values() if u.user_type == "admin"), None)
    badges = []
    start = now - 3 * 365 * DAY
    for i, (name, points, kind) in enumerate(BADGES):
        created = start + i * DAY
        badges.append({"id": 601 + i, "name": name, "points": points, "is_used": i != 9,
                       "badge_type_id": {"level_badge": 1, "learning_badge": 2, "activity_badge": 3}[kind],
                       "badge_type": kind, "created_by": admin, "updated_by": admin, "created_at": created,
                       "updated_at": created + 30 * DAY})
    st.extra["badges"] = badges
    awards: dict[int, list[dict[str, Any]]] = {}
    for u in st.users.values():
        done = sum(1 for eid in st.enr_by_user.get(u.id, ()) if st.enrollments[eid].status in DONE)
        if done == 0 and rng.random() < 0.7:
            continue
        give_awards(rng, awards, u.id, badges, 1 + done // 2)
    st.extra["awards"] = awards


def give_awards(rng: random.Random, awards: dict[int, list[dict[str, Any]]], uid: int,
                badges: list[dict[str, Any]], times: int) -> None:
    mine = {a["badge_id"]: a for a in awards.get(uid, [])}
    for _ in range(times):
        b = rng.choice(badges[:9])
        a = mine.get(b["id"])
        if a is None:
            a = mine[b["id"]] = {"badge_id": b["id"], "badge_name": b["name"], "badge_count": 0, "total_points": 0}
        a["badge_count"] += 1
        a["total_points"] += b["points"]
    awards[uid] = sorted(mine.values(), key=lambda a: a["badge_id"])


def gen_certifications(st: State, rng: random.Random) -> None:
    certs = []
    for fam in st.families.values():
        if fam.cert_name:
            certs.append({"guid": str(uuid.UUID(int=rng.getrandbits(128), version=1)), "title": fam.cert_name})
    st.extra["certifications"] = certs


# --- audit trails ----------------------------------------------------------------------------

def gen_audit(st: State, rng: random.Random, now: int) -> None:
    """Events of every action over the last 60 days (only the last 30 are ever served)."""
    staff = [u for u in st.users.values() if u.user_type in ("admin", "manager")] or list(st.users.values())[:1]
    users = list(st.users.values())
    course_names = [f.topic for f in st.families.values()]
    lp_names = [p["name"] for p in st.extra["learning_paths"].values()] or ["Onboarding Path"]
    group_titles = [g["title"] for g in st.groups.values()]
    events = []
    count = max(120, len(users) // 4) * 2
    for _ in range(count):
        ts_ms = (now - rng.randint(60, 60 * DAY)) * 1000 + rng.randint(0, 999)
        action = rng.randint(1, 12)
        by: User | None = None if rng.random() < 0.1 else rng.choice(staff)
        target: Any = rng.choice(users)
        data: str | None = None
        if action == 3:  # the deleted user no longer exists: a name of its own
            first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
            target = (f"{first} {last}", f"{first}.{last}.former@{names.DOMAINS[0]}".lower())
        elif action in (1, 2, 10):
            data = rng.choice(course_names)
        elif action in (6, 7):
            target, data = None, rng.choice(course_names)
        elif action in (8, 9):
            target, data = None, rng.choice(lp_names)
        elif action in (11, 12):
            data = rng.choice(group_titles) if group_titles else "Staff"
            if action == 11:
                target = None
        if isinstance(target, tuple):
            impacted = target
        else:
            impacted = (target.name, target.email) if target is not None else (None, None)
        events.append((ts_ms, action, by.name if by else "", by.email if by else "", impacted[0], impacted[1], data))
    events.sort()
    st.extra["audit"] = events


def install(st: State, seed: int, now: int, hooks: dict[str, Callable[..., Any]]) -> None:
    generate_extra(st, seed, now)
    st.extra.update(hooks)
