"""Second group of endpoints: groups, staff links, modules, exams, assignments,
mark-completes, live learning, legacy ILT, learning paths, gamification,
certifications and audit trails. Records are rendered here from extra.py's data.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Optional

from . import extra as X
from .endpoints import Api, ApiError, Params, Result, route
from .model import State
from .timefmt import DAY, iso, iso_ms, legacy, local, no_zone, parse_rfc3339

AUDIT_WINDOW = 30 * DAY
ENROLLMENT_STATUS_CODE = {"not_started": 1, "in_progress": 2, "completed": 3, "passed": 4, "failed": 5,
                          "pending_review": 6}


def q(api: Api, name: str) -> bool:
    return name in api.q


def wrap(api: Api, quirk: str, key: str, records: list[dict[str, Any]]) -> Any:
    return records if q(api, quirk) else {key: records}


def listing(api: Api, p: Params, key: str, items: list[Any], render: Any, quirk: Optional[str] = None) -> Result:
    """A paginated list; `quirk` names the quirk that turns the wrapper into a bare array."""
    return api.page_result(None if quirk and q(api, quirk) else key, lambda chunk: [render(i) for i in chunk], items, p)


# --- records -------------------------------------------------------------------------------

def group_rec(st: State, g: dict[str, Any]) -> dict[str, Any]:
    members = sum(1 for m in st.memberships.values() if m["group_id"] == g["id"])
    return {"id": g["id"], "title": g["title"], "description": g["description"], "created_at": iso(g["created_at"]),
            "updated_at": iso(g["updated_at"]), "number_of_members": members}


def member_rec(st: State, m: dict[str, Any], with_membership_id: bool) -> dict[str, Any]:
    u = st.users[m["user_id"]]
    rec: dict[str, Any] = {"id": m["id"], "user_id": u.id} if with_membership_id else {"id": u.id}
    rec.update({"first_name": u.first_name, "last_name": u.last_name, "email": u.email})
    if u.username:
        rec["username"] = u.username
    rec.update({"created_at": iso(u.created_at), "locale": u.locale})
    return rec


def group_course_rec(st: State, gc: dict[str, Any]) -> Optional[dict[str, Any]]:
    fam = family(st, gc["source_id"])
    live = fam.live_version(st.courses) if fam else None
    if live is None:
        return None
    return {"id": gc["id"], "group_id": gc["group_id"], "course_id": live.id,
            "group_title": st.groups[gc["group_id"]]["title"], "course_name": fam.current_name(st.courses)}


def family(st: State, source_id: int) -> Any:
    c = st.courses.get(source_id)
    return c.family if c else None


def group_manager_rec(st: State, gm: dict[str, Any]) -> dict[str, Any]:
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


def course_instructor_rec(st: State, ci: dict[str, Any]) -> Optional[dict[str, Any]]:
    fam = family(st, ci["source_id"])
    c = fam.live_version(st.courses) if fam else None
    if c is None:
        c = st.courses[fam.versions[-1]]
    u = st.users[ci["user_id"]]
    learners = len(st.enrollments_for(c.id))
    return {"id": ci["id"], "created_at": iso(ci["created_at"]), "updated_at": iso(ci["updated_at"]),
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


def module_rec(st: State, api: Api, mid: int, course_id: Optional[int]) -> dict[str, Any]:
    m = st.modules[mid]
    cid = course_id if course_id is not None else m.course_ids[0]
    creator = st.users.get(m.creator_id)
    rec: dict[str, Any] = {
        "id": m.id, "title": m.title, "tags": m.tags, "created_at": iso(m.created_at), "updated_at": iso(m.updated_at),
        "exam_id": m.exam_id, "sequence": st.courses[cid].module_ids.index(mid) + 1 if mid in st.courses[cid].module_ids else 1,
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
        s = st.extra["sessions"][m.session_ids[0]]
        loc = location(s["location_id"])
        a1, a2, a3 = ("address_1", "address_2", "address_3") if not q(api, "locations_address") else ("address1", "address2", "address3")
        rec.update({"location_id": s["location_id"], "location": loc[1] if loc else None,
                    a1: loc[2] if loc else None, a2: loc[3] if loc else None, a3: loc[4] if loc else None,
                    "location_state_code": None, "location_country_code": loc[6] if loc else None,
                    "start_at": iso(s["start"]), "end_at": iso(s["end"]), "timezone": s["timezone"],
                    "number_enrolled_on_session": len(X.session_registrants(st, s)), "max_capacity": s["max_capacity"]})
        tutor = st.users.get(s["instructors"][0])
        if tutor:
            rec.update({"session_tutor_id": tutor.id, "tutor_first_name": tutor.first_name,
                        "tutor_last_name": tutor.last_name})
    return rec


def location(location_id: Optional[int]) -> Optional[tuple[Any, ...]]:
    return next((loc for loc in X.LOCATIONS if loc[0] == location_id), None)


def location_rec(api: Api, loc: tuple[Any, ...]) -> dict[str, Any]:
    a1, a2, a3 = ("address1", "address2", "address3") if q(api, "locations_address") else ("address_1", "address_2", "address_3")
    return {"id": loc[0], "title": loc[1], a1: loc[2], a2: loc[3], a3: loc[4], "timezone": loc[5],
            "country_code": loc[6], "notes": "Meeting rooms on the ground floor."}


def exam_settings(api: Api, exam: dict[str, Any]) -> dict[str, Any]:
    if exam["is_survey"]:
        return {"name": exam["name"], "is_survey": True, "exam_id": exam["exam_id"]}
    attempts: Any = exam["attempts"]
    if attempts is None:
        attempts = 0 if q(api, "exam_attempts") else "unlimited"
    return {"name": exam["name"], "is_survey": False, "exam_id": exam["exam_id"], "is_timed_exam": exam["is_timed_exam"],
            "pass_percentage": exam["pass_percentage"], "pass_mark": None, "is_knowledge_check": exam["is_knowledge_check"],
            "attempts": attempts, "time_for_exam": exam["time_for_exam"] if exam["is_timed_exam"] else None}


def question_rec(exam: dict[str, Any], qn: dict[str, Any]) -> dict[str, Any]:
    flag = (lambda v: str(int(v))) if exam["string_flags"] else (lambda v: int(v))  # 1/0, as strings on some exams
    return {"question_id": qn["question_id"], "question_text": qn["text"], "question_type": "choice",
            "question_choice_type": "single", "points": qn["points"],
            "answers": [{"answer_id": qn["question_id"] * 10 + k, "answer_text": text,
                         "is_correct": flag(k == qn["correct"]), "for_matching": None, "sequence": k + 1,
                         "predefined_answers": None} for k, text in enumerate(qn["options"])]}


def exam_enrollment_rec(ee: dict[str, Any]) -> dict[str, Any]:
    rec = dict(ee)
    rec["date_completed"] = iso(ee["date_completed"])
    return rec


def answers_body(api: Api, st: State, exam: dict[str, Any], ee: dict[str, Any]) -> dict[str, Any]:
    alt = q(api, "exam_answers")
    questions = []
    for a in X.exam_answers(st, exam, ee):
        qn = a["question"]
        answers: dict[str, Any] = {"given_answers" if alt else "given_answer": [qn["options"][a["given"]]]}
        rec: dict[str, Any] = {"question_text": qn["text"], "question_id": qn["question_id"]}
        if not exam["is_survey"]:
            answers = {"correct_answer": [qn["options"][qn["correct"]]], **answers}
            rec["answers"] = answers
            rec["overall_status"] = (1 if a["correct"] else 2) if alt else ("correct" if a["correct"] else "incorrect")
        else:
            rec["answers"] = answers
        questions.append(rec)
    body: dict[str, Any] = {"exam_id": exam["exam_id"], "questions": questions}
    u = st.users.get(ee["user_id"])
    if u is not None and not exam["is_survey"]:
        body.update({"user": u.name, "email": u.email})
    return body


def assignment_rec(a: dict[str, Any]) -> dict[str, Any]:
    rec = dict(a)
    for k in ("reviewed_at", "answer_submitted_at", "rejected_at"):
        rec[k] = iso(a[k])
    return rec


def markcomplete_rec(mc: dict[str, Any]) -> dict[str, Any]:
    return {"id": mc["id"], "created_at": iso(mc["created_at"]), "date_completed": iso(mc["date_completed"]),
            "status": mc["status"], "percentage": mc["percentage"], "user_id": mc["user_id"], "notes": mc["notes"],
            "action_source_type": mc["action_source_type"], "enrollment_id": mc["enrollment_id"]}


def session_course(st: State, s: dict[str, Any]) -> Any:
    courses = [st.courses[c] for c in X.session_courses(st, s)]
    live = [c for c in courses if c.status in ("published", "under_revision")]
    return (live or courses)[-1]


def session_search_rec(st: State, s: dict[str, Any]) -> dict[str, Any]:
    c = session_course(st, s)
    m = st.modules[s["module_id"]]
    loc = location(s["location_id"])
    first = st.users.get(s["instructors"][0])
    return {"course_id": c.id, "course_name": c.family.current_name(st.courses), "session_enrollment_type": None,
            "component_title": m.title, "description": s["description"], "start_date": no_zone(s["start"]),
            "end_date": no_zone(s["end"]), "created_at": no_zone(s["created_at"]), "max_capacity": s["max_capacity"],
            "instructor_name": first.name if first else None, "location_id": s["location_id"],
            "location_title": loc[1] if loc else None, "timezone": s["timezone"], "session_type": s["session_type"],
            "webinar_connection_name": None if s["session_type"] == "classroom" else "Zoom (training@yourdomain.com)",
            "webinar_title": "N/A", "event_id": s["event_id"], "session_id": s["id"],
            "number_of_attendees": len(X.session_registrants(st, s)), "session_title": s["title"]}


def session_detail_rec(st: State, s: dict[str, Any]) -> dict[str, Any]:
    loc = location(s["location_id"])
    offset = X.TZ_OFFSET.get(s["timezone"], 0)
    instructors = []
    for k, uid in enumerate(s["instructors"]):
        u = st.users.get(uid)
        if u is not None:
            rec = {"user_id": u.id, "first_name": u.first_name, "last_name": u.last_name, "email": u.email,
                   "is_primary": k == 0}
            if u.username:
                rec["username"] = u.username
            instructors.append(rec)
    return {"id": s["id"], "portal_id": 45678, "event_id": s["event_id"], "title": s["title"],
            "description_html": f"<p>{s['description']}</p>", "description_text": s["description"],
            "num_enrolled": len(X.session_registrants(st, s)), "min_capacity": s["min_capacity"],
            "max_capacity": s["max_capacity"], "start_time": local(s["start"], offset), "end_time": local(s["end"], offset),
            "timezone": X.TZ_NAME.get(s["timezone"], s["timezone"]), "session_type": s["session_type"],
            "location": loc[1] if loc else "Webinar",
            "webinar_url": None if loc else f"https://zoom.example.com/j/{s['id']}",
            "completion_requirement": "attendance required" if s["required"] else "attendance optional",
            "minimum_attendance_threshold": None, "instructors": instructors,
            "location_id": loc[0] if loc else -1, "address1": loc[2] if loc else "", "address2": loc[3] if loc else "",
            "address3": loc[4] if loc else ""}


def attendance_recs(st: State, s: dict[str, Any], now: int) -> list[dict[str, Any]]:
    out = []
    for eid in X.session_registrants(st, s):
        e = st.enrollments[eid]
        u = st.users.get(e.user_id)
        if u is None:
            continue
        session_status, status, minutes = X.attendance_mark(st, s, eid, now)
        out.append({"pm_id": u.pm_id, "user_id": u.id, "session_status": session_status,
                    "attendance_data": [{"part": s["part"], "status": status, "minutes": minutes}],
                    "enrollment_data": [{"enrollment_id": eid, "course": e.course_id,
                                         "enrollment_status": ENROLLMENT_STATUS_CODE[e.status],
                                         # the reference types these as strings
                                         "from_catalog": "true" if e.from_catalog else "false",
                                         "from_store": "true" if e.from_store else "false"}]})
    return out


def ilt_rec(st: State, i: dict[str, Any]) -> dict[str, Any]:
    fam = family(st, i["source_id"])
    c = fam.live_version(st.courses) or st.courses[fam.versions[-1]]
    loc = i["location"]
    tutor = st.users.get(i["instructor"])
    return {"course_id": c.id, "course_name": fam.current_name(st.courses), "session_enrollment_type": i["enrollment_type"],
            "component_title": i["title"], "description": "<p>Classroom training</p>\r\n", "start_date": legacy(i["start"]),
            "end_date": legacy(i["end"]), "created_at": legacy(i["created_at"]), "max_capacity": i["max_capacity"],
            "instructor_name": tutor.name if tutor else None, "location_id": loc[0] if loc else None,
            "location_title": loc[1] if loc else None, "timezone": loc[5] if loc else "UTC",
            "session_type": "Session" if loc else "Webinar",
            "webinar_display_name": None if loc else "Zoom (support.webinar@yourcompany.com)", "webinar_title": "N/A"}


def lp_rec(st: State, p: dict[str, Any], with_courses: bool) -> dict[str, Any]:
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


def lp_courses(st: State, p: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for seq, source in enumerate(p["sources"]):
        fam = family(st, source)
        c = fam.live_version(st.courses) or st.courses[fam.versions[-1]]
        out.append({"id": c.id, "name": fam.current_name(st.courses), "sequence": seq + 1})
    return out


def lpe_rec(st: State, e: dict[str, Any]) -> dict[str, Any]:
    u = st.users[e["user_id"]]
    p = st.extra["learning_paths"][e["lp_id"]]
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
    return rec


def badge_rec(b: dict[str, Any], with_image: bool) -> dict[str, Any]:
    rec = dict(b)
    rec["created_at"], rec["updated_at"] = iso(b["created_at"]), iso(b["updated_at"])
    if with_image:
        rec["image_url"] = f"https://cdn.example.com/badges/{b['id']}.png"
    return rec


def leaderboard(st: State) -> list[dict[str, Any]]:
    rows = []
    for uid, awards in st.extra["awards"].items():
        u = st.users.get(uid)
        if u is None or u.user_type == "admin":
            continue
        points = sum(a["total_points"] for a in awards)
        rows.append((-points, uid, u, points, sum(a["badge_count"] for a in awards)))
    rows.sort()
    out = []
    for pos, (_, uid, u, points, badges) in enumerate(rows, 1):
        level = [name for floor, name in X.LEVELS if points >= floor][-1]
        out.append({"user_id": uid, "login": u.username or u.email, "name": u.name, "position": pos, "level": level,
                    "total_points": points, "total_badges": badges})
    return out


def trail_rec(ev: tuple[Any, ...]) -> dict[str, Any]:
    ts_ms, action, by_name, by_email, name, email, data = ev
    return {"action": action, "initiated_by_user": by_name, "initiated_by_user_email": by_email,
            "impacted_user": name, "impacted_user_email": email, "impacted_data": data,
            "date_and_time_utc": iso_ms(ts_ms)}


# --- handlers -----------------------------------------------------------------------------------

def int_param(p: Params, name: str) -> Optional[int]:
    return p.int(name) if p.str(name) else None


def list_groups(api: Api, p: Params, _: dict[str, str]) -> Result:
    st, title = api.st, (p.str("title") or "").lower()
    groups = [g for g in st.groups.values() if title in g["title"].lower()]
    return listing(api, p, "groups", groups, lambda g: group_rec(st, g))


def list_memberships(api: Api, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    gid, uid = int_param(p, "group_id"), int_param(p, "user_id")
    if gid is not None:
        if gid not in st.groups:
            raise ApiError(404, "Group not found")
        ms = [m for m in st.memberships.values() if m["group_id"] == gid and m["user_id"] in st.users]
        with_id = p.str("version_id") == "1.1"
        return listing(api, p, "user", ms, lambda m: member_rec(st, m, with_id))
    if uid is not None:
        if uid not in st.users:
            raise ApiError(404, "User not found")
        gs = [st.groups[m["group_id"]] for m in st.memberships.values() if m["user_id"] == uid]
        return listing(api, p, "group", gs, lambda g: {k: v for k, v in group_rec(st, g).items() if k != "number_of_members"})
    raise ApiError(400, "You must provide a group_id or a user_id")


def list_group_courses(api: Api, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    gid, cid = int_param(p, "group_id"), int_param(p, "course_id")
    recs = [r for r in (group_course_rec(st, gc) for gc in sorted(st.group_courses.values(), key=lambda g: g["created_at"])) if r]
    if gid is not None:
        recs = [r for r in recs if r["group_id"] == gid]
    if cid is not None:
        source = st.courses[cid].family.source_id if cid in st.courses else None
        recs = [r for r in recs if st.courses[r["course_id"]].family.source_id == source]
    return listing(api, p, "group_courses", recs, lambda r: r)


def user_filter(api: Api, p: Params) -> Optional[int]:
    """user_id, email or username parameter as a user id; -1 when given but unknown."""
    if p.str("user_id"):
        return p.int("user_id")
    if p.str("email"):
        return api.user_by_email(p.str("email") or "") or -1
    if p.str("username"):
        return api.user_by_username(p.str("username") or "") or -1
    return None


def list_group_managers(api: Api, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    gid, uid = int_param(p, "group_id"), user_filter(api, p)
    gms = [gm for gm in st.extra["group_managers"].values() if gm["user_id"] in st.users
           and (gid is None or gm["group_id"] == gid) and (uid is None or gm["user_id"] == uid)]
    return listing(api, p, "group_managers", gms, lambda gm: group_manager_rec(st, gm))


def list_course_instructors(api: Api, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    cid, uid = int_param(p, "course_id"), user_filter(api, p)
    recs = [course_instructor_rec(st, ci) for ci in st.extra["course_instructors"].values() if ci["user_id"] in st.users]
    recs = [r for r in recs if r and (uid is None or r["user_id"] == uid)]
    if cid is not None:
        source = st.courses[cid].family.source_id if cid in st.courses else None
        recs = [r for r in recs if st.courses[r["course_id"]].family.source_id == source]
    return listing(api, p, "course_instructors", recs, lambda r: r)


def list_modules(api: Api, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    cid = int_param(p, "course_id")
    if cid is not None:
        if cid not in st.courses:
            raise ApiError(404, "Course not found")
        return listing(api, p, "modules", st.courses[cid].module_ids, lambda mid: module_rec(st, api, mid, cid),
                       "modules_wrapper")
    return listing(api, p, "modules", list(st.modules), lambda mid: module_rec(st, api, mid, None), "modules_wrapper")


def find_exam(api: Api, args: dict[str, str]) -> dict[str, Any]:
    exam = api.st.extra["exams"].get(int(args["exam_id"]))
    if exam is None:
        raise ApiError(404, "Exam not found")
    return exam


def exam_enrollment_ids(st: State, exam: dict[str, Any]) -> list[int]:
    ids: list[int] = []
    for cid in st.modules[exam["module_id"]].course_ids:
        ids.extend(st.enrollments_for(cid))
    return sorted(ids)


def all_exam_enrollments(st: State, exam: dict[str, Any]) -> list[dict[str, Any]]:
    return [ee for ee in (X.exam_enrollment(st, exam, eid) for eid in exam_enrollment_ids(st, exam)) if ee]


def get_exam(api: Api, p: Params, args: dict[str, str]) -> Result:
    return Result({"exam": exam_settings(api, find_exam(api, args))})


def get_exam_questions(api: Api, p: Params, args: dict[str, str]) -> Result:
    exam = find_exam(api, args)
    return Result({"exam_id": exam["exam_id"], "questions": [question_rec(exam, qn) for qn in exam["questions"]]})


def get_exam_enrollments(api: Api, p: Params, args: dict[str, str]) -> Result:
    exam = find_exam(api, args)
    return listing(api, p, "exam_enrollments", all_exam_enrollments(api.st, exam), exam_enrollment_rec)


def get_exam_answers(api: Api, p: Params, args: dict[str, str]) -> Result:
    st, exam = api.st, find_exam(api, args)
    eeid = int(args["exam_enrollment_id"])
    ee = X.exam_enrollment(st, exam, eeid // 10)
    if ee is None or ee["exam_enrollment_id"] != eeid or st.enrollments[eeid // 10].course_id not in st.modules[exam["module_id"]].course_ids:
        raise ApiError(404, "Exam enrollment not found")
    return Result(answers_body(api, st, exam, ee))


def assignment_answers(st: State, module_id: int) -> list[dict[str, Any]]:
    ids: list[int] = []
    for cid in st.modules[module_id].course_ids:
        ids.extend(st.enrollments_for(cid))
    return [a for a in (X.assignment_answer(st, module_id, eid) for eid in sorted(ids)) if a]


def get_assignment_answers(api: Api, p: Params, args: dict[str, str]) -> Result:
    m = api.st.modules.get(int(args["assignment_id"]))
    if m is None or m.component_type != "assignment":
        raise ApiError(404, "Assignment not found")
    return listing(api, p, "assignment_answers", assignment_answers(api.st, m.id), assignment_rec)


def get_assignment_answer(api: Api, p: Params, args: dict[str, str]) -> Result:
    m = api.st.modules.get(int(args["assignment_id"]))
    aid = int(args["answer_id"])
    a = X.assignment_answer(api.st, m.id, aid // 10) if m is not None and m.component_type == "assignment" else None
    if a is None or a["id"] != aid:
        raise ApiError(404, "Assignment answer not found")
    return Result({"assignment_answer": assignment_rec(a)})


def visible_markcompletes(st: State) -> list[dict[str, Any]]:
    return [mc for mc in st.extra["markcompletes"].values() if mc["enrollment_id"] in st.enrollments]


def list_markcompletes(api: Api, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    mid, uid, eid, cid = (int_param(p, k) for k in ("id", "user_id", "enrollment_id", "course_id"))
    out = []
    for mc in visible_markcompletes(st):
        e = st.enrollments[mc["enrollment_id"]]
        if (mid is None or mc["id"] == mid) and (uid is None or e.user_id == uid) and \
                (eid is None or mc["enrollment_id"] == eid) and (cid is None or e.course_id == cid):
            out.append(mc)
    return listing(api, p, "markcompletes", out, markcomplete_rec)


COURSE_STATUS = {1: ("published",), 2: ("under_revision",), 3: ("archived",)}


def search_sessions(api: Api, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    cid, event, instructor, loc_id, status = (int_param(p, k) for k in
                                               ("course_id", "event_id", "instructor_user_id", "location_id", "course_status"))
    start, end = p.day("start_date"), p.day("end_date")
    out = []
    for s in st.extra["sessions"].values():
        if cid is not None and cid not in X.session_courses(st, s):
            continue
        if event is not None and s["event_id"] != event or instructor is not None and instructor not in s["instructors"]:
            continue
        if loc_id is not None and s["location_id"] != loc_id:
            continue
        if status is not None and session_course(st, s).status not in COURSE_STATUS.get(status, ()):
            continue
        if start is not None and s["start"] < start or end is not None and s["start"] >= end + DAY:
            continue
        out.append(s)
    return listing(api, p, "sessions", out, lambda s: session_search_rec(st, s), "sessions_wrapper")


def get_session(api: Api, p: Params, args: dict[str, str]) -> Result:
    s = api.st.extra["sessions"].get(int(args["session_id"]))
    if s is None or s["event_id"] != int(args["event_id"]):
        raise ApiError(404, "Session not found")
    return Result({"session": session_detail_rec(api.st, s)})


def get_attendance(api: Api, p: Params, args: dict[str, str]) -> Result:
    s = api.st.extra["sessions"].get(int(args["session_id"]))
    if s is None:
        raise ApiError(404, "Session not found")
    records = attendance_recs(api.st, s, api.data_now())
    page = p.page()
    chunk = records[(page - 1) * api.page_size: page * api.page_size]
    has_next = len(records) > page * api.page_size
    return Result(chunk if q(api, "attendance_nesting") else [chunk], page, has_next)


def search_ilts(api: Api, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    cid, loc_id, pm, status = (int_param(p, k) for k in ("course_id", "location_id", "instructor_pm_id", "course_status"))
    start, end = p.day("start_date"), p.day("end_date")
    out = []
    for i in st.extra["ilts"].values():
        fam = family(st, i["source_id"])
        if cid is not None and cid not in fam.versions:
            continue
        if loc_id is not None and (i["location"] or (None,))[0] != loc_id:
            continue
        tutor = st.users.get(i["instructor"])
        if pm is not None and (tutor is None or tutor.pm_id != pm):
            continue
        live = fam.live_version(st.courses)
        if status is not None and (live.status if live else "archived") not in COURSE_STATUS.get(status, ()):
            continue
        if start is not None and i["start"] < start or end is not None and i["start"] >= end + DAY:
            continue
        out.append(i)
    return listing(api, p, "ilts", out, lambda i: ilt_rec(st, i))


def list_locations(api: Api, p: Params, _: dict[str, str]) -> Result:
    return listing(api, p, "locations", list(X.LOCATIONS), lambda loc: location_rec(api, loc))


def list_timezones(api: Api, p: Params, _: dict[str, str]) -> Result:
    return listing(api, p, "timezones", list(X.TIMEZONES), lambda tz: {"id": tz[0], "name": tz[1]})


def list_learning_paths(api: Api, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    name, lp_id = (p.str("name") or "").lower(), int_param(p, "id")
    draft, courses = p.bool("include_draft"), p.bool("include_courses")
    paths = [lp for lp in st.extra["learning_paths"].values() if (draft or lp["status"] != "draft")
             and name in lp["name"].lower() and (lp_id is None or lp["id"] == lp_id)]
    return listing(api, p, "learning_paths", paths, lambda lp: lp_rec(st, lp, courses))


def search_lp_enrollments(api: Api, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    if not any(p.str(k) for k in ("user_id", "email", "username", "lp_id", "lp_name")):
        raise ApiError(400, "You must provide one of: user_id, email, username, lp_id, lp_name")
    uid = user_filter(api, p)
    if uid is not None and uid not in st.users:
        raise ApiError(404, "User not found")
    lp_id = int_param(p, "lp_id")
    lp_name = p.str("lp_name")
    paths = st.extra["learning_paths"]
    if lp_id is not None and lp_id not in paths or lp_name and not any(lp["name"] == lp_name for lp in paths.values()):
        raise ApiError(404, "Learning path not found")
    lo, hi = p.day("date_from"), p.day("date_to")
    out = [e for e in visible_lp_enrollments(st)
           if (uid is None or e["user_id"] == uid) and (lp_id is None or e["lp_id"] == lp_id)
           and (not lp_name or paths[e["lp_id"]]["name"] == lp_name)
           and (lo is None or e["updated_at"] >= lo) and (hi is None or e["updated_at"] < hi + DAY)]
    return listing(api, p, "learning_path_enrollments", out, lambda e: lpe_rec(st, e), "lp_enrollments_wrapper")


def visible_lp_enrollments(st: State) -> list[dict[str, Any]]:
    return [e for e in st.extra["lp_enrollments"].values() if e["user_id"] in st.users]


def get_lp_enrollment(api: Api, p: Params, args: dict[str, str]) -> Result:
    e = api.st.extra["lp_enrollments"].get(int(args["id"]))
    if e is None or e["user_id"] not in api.st.users:
        raise ApiError(404, "Learning path enrollment not found")
    return Result(wrap(api, "lp_enrollments_wrapper", "learning_path_enrollments", [lpe_rec(api.st, e)]))


def list_badges(api: Api, p: Params, _: dict[str, str]) -> Result:
    image = p.str("version_id") == "1.1"
    return listing(api, p, "badges", api.st.extra["badges"], lambda b: badge_rec(b, image))


def list_leaderboard(api: Api, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    rows = leaderboard(st)
    gid, uid = int_param(p, "group_id"), int_param(p, "user_id")
    over, under, level = int_param(p, "points_over"), int_param(p, "points_under"), p.str("level_name")
    if gid is not None:
        members = {m["user_id"] for m in st.memberships.values() if m["group_id"] == gid}
        rows = [r for r in rows if r["user_id"] in members]
    if uid is not None:
        rows = [r for r in rows if r["user_id"] == uid]
    rows = [r for r in rows if (over is None or r["total_points"] >= over) and (under is None or r["total_points"] <= under)
            and (not level or r["level"] == level)]
    return listing(api, p, "leaderboard", rows, lambda r: r)


def list_certifications(api: Api, p: Params, _: dict[str, str]) -> Result:
    return listing(api, p, "certifications", api.st.extra["certifications"], lambda c: dict(c))


def encode_token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        raise ApiError(400, "Invalid next token") from None


def audit_trails(api: Api, p: Params, _: dict[str, str]) -> Result:
    now_ms = int(api.now() * 1000)
    token = p.str("next")
    if token and token != "false":
        state = decode_token(token)
    else:
        actions_raw = p.str("action_id") if not q(api, "audit_action_param") else None
        actions_raw = actions_raw or p.str("action")
        try:
            actions = sorted({int(a) for a in actions_raw.split(",") if a.strip()}) if actions_raw else []
        except ValueError:
            raise ApiError(400, "action_id must be comma-separated integers") from None
        lo_ms, hi_ms = now_ms - AUDIT_WINDOW * 1000, now_ms
        if p.str("date_range"):
            parts = (p.str("date_range") or "").split(",")
            try:
                lo_ms, hi_ms = (int(parse_rfc3339(x) * 1000) for x in parts) if len(parts) == 2 else (None, None)
            except (ValueError, TypeError):
                raise ApiError(400, "date_range must be two comma-separated RFC3339 dates") from None
            if lo_ms is None or hi_ms < lo_ms:
                raise ApiError(400, "date_range must be two comma-separated RFC3339 dates, start before end")
            if lo_ms < now_ms - AUDIT_WINDOW * 1000:
                raise ApiError(400, "date_range must be within the last 30 days")
        state = {"from": lo_ms, "to": hi_ms, "actions": actions, "offset": 0}
    events = [ev for ev in api.st.extra["audit"] if state["from"] <= ev[0] <= state["to"]
              and (not state["actions"] or ev[1] in state["actions"])]
    off, size = state["offset"], api.audit_page_size
    chunk = events[off:off + size]
    more = len(events) > off + size
    return Result({"trails": [trail_rec(ev) for ev in chunk],
                   "next": encode_token({**state, "offset": off + size}) if more else False})


route("/groups", list_groups)
route("/group_memberships", list_memberships)
route("/group_courses", list_group_courses)
route("/group_managers", list_group_managers)
route("/course_instructors", list_course_instructors)
route("/modules", list_modules)
route("/exams/{exam_id}", get_exam)
route("/exams/{exam_id}/questions", get_exam_questions)
route("/exams/{exam_id}/enrollments", get_exam_enrollments)
route("/exams/{exam_id}/answers/{exam_enrollment_id}", get_exam_answers)
route("/assignments/{assignment_id}/answers", get_assignment_answers)
route("/assignments/{assignment_id}/answers/{answer_id}", get_assignment_answer)
route("/markcompletes", list_markcompletes)
route("/live-learnings/sessions/search", search_sessions)
route("/live-learnings/events/{event_id}/sessions/{session_id}", get_session)
route("/sessions/{session_id}/attendance", get_attendance)
route("/live-learnings/sessions/{session_id}/attendance", get_attendance)
route("/ilts/search", search_ilts)
route("/locations", list_locations)
route("/timezones", list_timezones)
route("/learning_paths", list_learning_paths)
route("/learning_path_enrollments/search", search_lp_enrollments)
route("/learning_path_enrollments/{id}", get_lp_enrollment)
route("/badges", list_badges)
route("/leaderboard", list_leaderboard)
route("/certifications", list_certifications)
route("/audit-trails", audit_trails)
