"""Live learning (events, sessions, attendance), legacy ILT sessions, locations and time zones.

GET /live-learnings/sessions/search, GET /live-learnings/events/{event_id}/sessions/{session_id},
session attendance (GET /sessions/{session_id}/attendance in the method table,
GET /live-learnings/sessions/{session_id}/attendance in the worked sample),
GET /ilts/search, GET /locations, GET /timezones.

Attendance exists for registrants (a deterministic 35% of the course's
enrollments made before the session ended, capped by max_capacity) and is
marked only once the session has ended on the data clock; a deterministic
share of it is left unmarked then and marked later, by churn, up to a year
after the session, and churn corrects marks of sessions long over and adds
sessions to the live-learning modules of existing courses (`churn_late`).
"""

from __future__ import annotations

import random
from typing import Any, Optional

from ..api import INVALID_PARAMETERS, ApiContext, ApiError, Behaviour, Params, Result
from ..model import State
from ..rng import Stamp, how_many, mix, unit
from ..timefmt import DAY, legacy, local, no_zone

# id, title, address 1-3, time zone, country, UTC offset in minutes
LOCATIONS = (
    (2254, "Dublin office", "Ocean House", "Smithfield", "D7", "Dublin", "IE", 0),
    (2259, "Belgrade office", "Grawe Building", "Bul. Mihajila Pupina 115E", "11070 Belgrade", "Belgrade", "RS", 60),
    (2260, "Philadelphia office", "Cast Iron Building", "718 Arch Street", "Philadelphia 19106", "Eastern Time (US & Canada)", "US", -300),
    (2255, "Toronto office", "100 King St W", "Suite 500", "Toronto M5X 1A9", "Eastern Time (US & Canada)", "CA", -300),
    (2256, "Vancouver office", "1055 W Georgia St", "Floor 12", "Vancouver V6E 3P3", "Pacific Time (US & Canada)", "CA", -480),
    (2261, "Berlin office", "Friedrichstrasse 68", "", "10117 Berlin", "Berlin", "DE", 60),
)
# id, name, UTC offset in minutes
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
ENROLLMENT_STATUS_CODE = {"not_started": 1, "in_progress": 2, "completed": 3, "passed": 4, "failed": 5,
                          "pending_review": 6}
COURSE_STATUS = {1: ("published",), 2: ("under_revision",), 3: ("archived",)}


# --- data ------------------------------------------------------------------------------

def generate(st: State, rng: random.Random, now: int) -> None:
    """2-6 sessions per live-learning module (150 days ago to 60 ahead); legacy ILTs on a tenth of live families."""
    instructors = [u.id for u in st.users.values() if u.user_type == "instructor"] or [next(iter(st.users))]
    for m in st.modules.values():
        if m.component_type != "ilt session":
            continue
        event_id = st.new_id("event")
        for k in range(rng.randint(2, 6)):
            start = now + rng.randint(-150, 60) * DAY + rng.choice((9, 10, 13, 14, 16)) * 3600 - (now % DAY)
            classroom = rng.random() < 0.5
            loc = rng.choice(LOCATIONS) if classroom else None
            tz = loc[5] if loc else rng.choice(TIMEZONES)[0]
            sid = st.new_id("session")
            st.sessions[sid] = {
                "id": sid, "event_id": event_id, "module_id": m.id, "part": st.new_id("part"),
                "title": f"{m.title} - session {k + 1}", "start": start, "end": start + rng.choice((1, 2, 3, 8)) * 3600,
                "timezone": tz, "session_type": "classroom" if classroom else "webinar",
                "location_id": loc[0] if loc else None, "max_capacity": rng.choice((10, 20, 50, None)),
                "min_capacity": rng.choice((None, 3)), "created_at": start - rng.randint(10, 60) * DAY,
                "instructors": rng.sample(instructors, min(len(instructors), rng.randint(1, 2))),
                "required": rng.random() < 0.6, "description": f"{m.title}: live session",
            }
            m.session_ids.append(sid)
    fams = [f for f in st.families.values() if f.live_version(st.courses) is not None]
    for fam in rng.sample(fams, max(1, len(fams) // 10)) if fams else []:
        for k in range(rng.randint(1, 3)):
            start = now + rng.randint(-300, 60) * DAY + 9 * 3600 - (now % DAY)
            loc = rng.choice(LOCATIONS) if rng.random() < 0.6 else None
            i = st.new_id("ilt")
            st.ilts[i] = {"id": i, "source_id": fam.source_id, "title": f"{fam.topic} classroom {k + 1}", "start": start,
                          "end": start + 3 * 3600, "location": loc, "created_at": start - 30 * DAY,
                          "max_capacity": rng.choice((20, 200)), "instructor": rng.choice(instructors),
                          "enrollment_type": rng.choice((0, 1, 2))}


def churn(st: State, stamp: Stamp, t1: int) -> dict[str, int]:
    """Attendance is marked (on read) for sessions that ended in this round."""
    return {"sessions_ended": sum(1 for s in st.sessions.values() if stamp.t0 < s["end"] <= t1)}


# registrations of an ended session whose attendance an admin marks late (churn marks them), and how late at most
LATE_MARK_SHARE = 0.12
LATE_MARK_DAYS = 365


def churn_late(st: State, round_no: int, t0: int, t1: int, share: float) -> dict[str, int]:
    """Late changes: attendance marked or corrected up to a year after its session, sessions added to existing modules.

    Drawn from a stream of their own, after the rest of the round, so the other changes stay as they were.
    """
    rng = random.Random(f"{st.seed}:churn:{round_no}:live")
    marked = corrected = 0
    for s in sorted(st.sessions.values(), key=lambda s: s["id"]):
        if not t1 - LATE_MARK_DAYS * DAY <= s["end"] <= t0:
            continue
        for eid in registrants(st, s):
            key = (s["id"], eid)
            if key not in st.attendance_marks and is_marked_late(st, s, eid):
                if rng.random() < min(1.0, share * 6):
                    st.attendance_marks[key] = first_mark(st, s, eid)
                    marked += 1
            elif rng.random() < share / 2:
                session_status, _, _ = attendance_mark(st, s, eid, t1)
                # present becomes absent, absent or no-show becomes present
                st.attendance_marks[key] = (30, 5, None) if session_status == 20 else (20, 10, (s["end"] - s["start"]) // 60)
                corrected += 1
    live = [
        m for m in sorted(st.modules.values(), key=lambda m: m.id)
        if m.component_type == "ilt session" and m.session_ids
        and any(st.courses[c].status in ("published", "under_revision") for c in m.course_ids)
    ]
    added = min(len(live), max(1, how_many(rng, len(live) * share * 2))) if live else 0
    for m in rng.sample(live, added):
        template = st.sessions[m.session_ids[-1]]
        start = t1 - t1 % DAY + rng.randint(2, 45) * DAY + rng.choice((9, 10, 13, 14, 16)) * 3600
        sid = st.new_id("session")
        st.sessions[sid] = {
            **template, "id": sid, "part": st.new_id("part"), "title": f"{m.title} - session {len(m.session_ids) + 1}",
            "start": start, "end": start + rng.choice((1, 2, 3, 8)) * 3600,
            "created_at": rng.randint(t0 + 1, t1) if t1 > t0 else t1, "max_capacity": rng.choice((10, 20, 50, None)),
            "instructors": list(template["instructors"]),
        }
        m.session_ids.append(sid)
    return {"attendance_marked_late": marked, "attendance_corrected": corrected, "sessions_added": added}


def location(location_id: Optional[int]) -> Optional[tuple[Any, ...]]:
    return next((loc for loc in LOCATIONS if loc[0] == location_id), None)


def session_courses(st: State, session: dict[str, Any]) -> list[int]:
    return st.modules[session["module_id"]].course_ids


def registrants(st: State, session: dict[str, Any]) -> list[int]:
    """Enrollment ids registered on a session: a deterministic share of the module's course enrollments.

    Only learners enrolled before the session ended: one who joins the course later
    is not registered, after the fact, on a session that is long over.
    """
    out = []
    cap = session["max_capacity"] or 10 ** 9
    for cid in session_courses(st, session):
        for eid in st.enrollments_for(cid):
            if st.enrollments[eid].date_enrolled > session["end"]:
                continue
            if unit(mix(st.seed, session["id"], eid)) < 0.35:
                out.append(eid)
                if len(out) >= cap:
                    return sorted(out)
    return sorted(out)


def attendance_keys_of(st: State, eid: int) -> list[list[int]]:
    """[session_id, user_id] of the attendance rows an enrollment gives (before it is removed)."""
    e = st.enrollments[eid]
    if e.user_id not in st.users:
        return []
    keys = []
    for mid in st.courses[e.course_id].module_ids:
        for sid in st.modules[mid].session_ids:
            if is_registrant(st, st.sessions[sid], eid):
                keys.append([sid, e.user_id])
    return keys


def is_registrant(st: State, session: dict[str, Any], eid: int) -> bool:
    """eid in registrants(st, session), without listing them all (churn asks for each enrollment it deletes)."""
    def qualifies(x: int) -> bool:
        return st.enrollments[x].date_enrolled <= session["end"] and unit(mix(st.seed, session["id"], x)) < 0.35

    if not qualifies(eid):
        return False
    cap = session["max_capacity"]
    if cap is None:
        return True
    seen = 0  # registrants are the first `cap` that qualify, in the order registrants() walks
    for cid in session_courses(st, session):
        for x in st.enrollments_for(cid):
            if x == eid:
                return True
            if qualifies(x):
                seen += 1
                if seen >= cap:
                    return False
    return False


def is_marked_late(st: State, session: dict[str, Any], eid: int) -> bool:
    """A registration whose attendance stays unmarked after the session until churn marks it (`churn_late`)."""
    return unit(mix(st.seed, session["id"], eid, 7)) < LATE_MARK_SHARE


def attendance_mark(st: State, session: dict[str, Any], eid: int, now: int) -> tuple[int, int, Optional[int]]:
    """(session_status, attendance status, minutes): marked only once the session has ended, some of it late,
    and as last corrected."""
    if session["end"] > now:
        return 10, 0, None
    late = st.attendance_marks.get((session["id"], eid))
    if late is not None:
        return late
    if is_marked_late(st, session, eid):
        return 10, 0, None
    return first_mark(st, session, eid)


def first_mark(st: State, session: dict[str, Any], eid: int) -> tuple[int, int, Optional[int]]:
    """The mark an admin gives a registration of a session that has ended."""
    r = unit(mix(st.seed, session["id"], eid, 3))
    minutes = (session["end"] - session["start"]) // 60
    if r < 0.78:
        return 20, 10, minutes  # present
    if r < 0.9:
        return 30, 5, None  # absent
    return 40, 0, None  # no-show


def session_course(st: State, s: dict[str, Any]) -> Any:
    """The course a session search shows: the live version of the module's courses, else the newest."""
    courses = [st.courses[c] for c in session_courses(st, s)]
    live = [c for c in courses if c.status in ("published", "under_revision")]
    return (live or courses)[-1]


# --- records ----------------------------------------------------------------------------

def session_search_record(st: State, s: dict[str, Any]) -> dict[str, Any]:
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
            "number_of_attendees": len(registrants(st, s)), "session_title": s["title"]}


def session_detail_record(st: State, s: dict[str, Any]) -> dict[str, Any]:
    loc = location(s["location_id"])
    offset = TZ_OFFSET.get(s["timezone"], 0)
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
            "num_enrolled": len(registrants(st, s)), "min_capacity": s["min_capacity"],
            "max_capacity": s["max_capacity"], "start_time": local(s["start"], offset), "end_time": local(s["end"], offset),
            "timezone": TZ_NAME.get(s["timezone"], s["timezone"]), "session_type": s["session_type"],
            "location": loc[1] if loc else "Webinar",
            "webinar_url": None if loc else f"https://zoom.example.com/j/{s['id']}",
            "completion_requirement": "attendance required" if s["required"] else "attendance optional",
            "minimum_attendance_threshold": None, "instructors": instructors,
            "location_id": loc[0] if loc else -1, "address1": loc[2] if loc else "", "address2": loc[3] if loc else "",
            "address3": loc[4] if loc else ""}


def attendance_records(st: State, s: dict[str, Any], now: int) -> list[dict[str, Any]]:
    out = []
    for eid in registrants(st, s):
        e = st.enrollments[eid]
        u = st.users.get(e.user_id)
        if u is None:
            continue
        session_status, status, minutes = attendance_mark(st, s, eid, now)
        out.append({"pm_id": u.pm_id, "user_id": u.id, "session_status": session_status,
                    "attendance_data": [{"part": s["part"], "status": status, "minutes": minutes}],
                    "enrollment_data": [{"enrollment_id": eid, "course": e.course_id,
                                         "enrollment_status": ENROLLMENT_STATUS_CODE[e.status],
                                         # the reference types these as strings
                                         "from_catalog": "true" if e.from_catalog else "false",
                                         "from_store": "true" if e.from_store else "false"}]})
    return out


def ilt_record(st: State, i: dict[str, Any]) -> dict[str, Any]:
    fam = st.courses[i["source_id"]].family
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


def location_record(q: frozenset[str], loc: tuple[Any, ...]) -> dict[str, Any]:
    a1, a2, a3 = ("address1", "address2", "address3") if "locations_address" in q else ("address_1", "address_2", "address_3")
    return {"id": loc[0], "title": loc[1], a1: loc[2], a2: loc[3], a3: loc[4], "timezone": loc[5],
            "country_code": loc[6], "notes": "Meeting rooms on the ground floor."}


# --- handlers ----------------------------------------------------------------------------

def search_sessions(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    cid, event, instructor, loc_id, status = (p.opt_int(k) for k in
                                               ("course_id", "event_id", "instructor_user_id", "location_id", "course_status"))
    start, end = p.day("start_date"), p.day("end_date")
    out = []
    for s in st.sessions.values():
        if cid is not None and cid not in session_courses(st, s):
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
    return api.listing(p, "sessions", out, lambda s: session_search_record(st, s), "sessions_wrapper")


def get_session(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
    s = api.st.sessions.get(int(args["session_id"]))
    if s is None or s["event_id"] != int(args["event_id"]):
        raise ApiError(404, "Session not found")
    return Result({"session": session_detail_record(api.st, s)})


def attendance(api: ApiContext, p: Params, args: dict[str, str], path: str) -> Result:
    """Attendance of a session, paged like any listing. `path`: "method" or "sample", the documented path asked.

    The portal answers on the path(s) its `attendance_path` names; on the other, and strict for a session it does
    not know, it answers the reference's invalid-parameter 404, so a client cannot tell the two apart by the body.
    """
    if api.b.attendance_path not in (path, "both"):
        raise ApiError(404, INVALID_PARAMETERS)
    s = api.st.sessions.get(int(args["session_id"]))
    if s is None:
        raise ApiError(404, INVALID_PARAMETERS if api.b.strict else "Session not found")
    records = attendance_records(api.st, s, api.data_now())
    page = p.page()
    chunk = records[(page - 1) * api.page_size: page * api.page_size]
    has_next = len(records) > page * api.page_size
    return Result(chunk if "attendance_nesting" in api.q else [chunk], page, has_next)


def attendance_on_method_path(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
    """GET /sessions/{session_id}/attendance: the method table's path."""
    return attendance(api, p, args, "method")


def attendance_on_sample_path(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
    """GET /live-learnings/sessions/{session_id}/attendance: the worked sample's path."""
    return attendance(api, p, args, "sample")


def search_ilts(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    cid, loc_id, pm, status = (p.opt_int(k) for k in ("course_id", "location_id", "instructor_pm_id", "course_status"))
    start, end = p.day("start_date"), p.day("end_date")
    out = []
    for i in st.ilts.values():
        fam = st.courses[i["source_id"]].family
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
    return api.listing(p, "ilts", out, lambda i: ilt_record(st, i))


def list_locations(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    return api.listing(p, "locations", list(LOCATIONS), lambda loc: location_record(api.q, loc))


def list_timezones(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    return api.listing(p, "timezones", list(TIMEZONES), lambda tz: {"id": tz[0], "name": tz[1]})


ROUTES = (
    ("GET", "/live-learnings/sessions/search", search_sessions),
    ("GET", "/live-learnings/events/{event_id}/sessions/{session_id}", get_session),
    ("GET", "/sessions/{session_id}/attendance", attendance_on_method_path),
    ("GET", "/live-learnings/sessions/{session_id}/attendance", attendance_on_sample_path),
    ("GET", "/ilts/search", search_ilts),
    ("GET", "/locations", list_locations),
    ("GET", "/timezones", list_timezones),
)


# --- ground truth ------------------------------------------------------------------------
# Stated from the model on its own, not through the records above, so it can check them.

def truth(st: State, b: Behaviour, now: int) -> dict[str, list[Any]]:
    """sessions (search shape), session_attendance (+session_id), ilt_sessions, locations, timezones."""
    places = {loc[0]: loc for loc in LOCATIONS}
    sessions, attendance = [], []
    for s in st.sessions.values():
        m = st.modules[s["module_id"]]
        versions = [st.courses[cid] for cid in m.course_ids]
        c = ([v for v in versions if v.status in ("published", "under_revision")] or versions)[-1]
        published = [st.courses[cid].name for cid in c.family.versions if st.courses[cid].date_published is not None]
        loc = places.get(s["location_id"])
        first = st.users.get(s["instructors"][0])
        registered = registrants(st, s)
        sessions.append({
            "session_id": s["id"], "event_id": s["event_id"], "course_id": c.id,
            "course_name": (published or [st.courses[c.family.versions[-1]].name])[-1], "session_enrollment_type": None,
            "component_title": m.title, "session_title": s["title"], "description": s["description"],
            "start_date": no_zone(s["start"]), "end_date": no_zone(s["end"]), "created_at": no_zone(s["created_at"]),
            "max_capacity": s["max_capacity"], "instructor_name": f"{first.first_name} {first.last_name}" if first else None,
            "location_id": s["location_id"], "location_title": loc[1] if loc else None, "timezone": s["timezone"],
            "session_type": s["session_type"], "webinar_title": "N/A",
            "webinar_connection_name": "Zoom (training@yourdomain.com)" if s["session_type"] != "classroom" else None,
            "number_of_attendees": len(registered)})
        for eid in registered:
            e = st.enrollments[eid]
            u = st.users.get(e.user_id)
            if u is None:
                continue
            session_status, status, minutes = attendance_mark(st, s, eid, now)
            attendance.append({
                "session_id": s["id"], "pm_id": u.pm_id, "user_id": u.id, "session_status": session_status,
                "attendance_data": [{"part": s["part"], "status": status, "minutes": minutes}],
                "enrollment_data": [{"enrollment_id": eid, "course": e.course_id,
                                     "enrollment_status": ENROLLMENT_STATUS_CODE[e.status],
                                     "from_catalog": str(e.from_catalog).lower(), "from_store": str(e.from_store).lower()}]})
    ilts = []
    for i in st.ilts.values():
        fam = st.courses[i["source_id"]].family
        versions = [st.courses[cid] for cid in fam.versions]
        c = ([v for v in versions if v.status in ("published", "under_revision")] or versions[-1:])[-1]
        published = [v.name for v in versions if v.date_published is not None]
        loc, tutor = i["location"], st.users.get(i["instructor"])
        ilts.append({
            "course_id": c.id, "course_name": (published or [versions[-1].name])[-1],
            "session_enrollment_type": i["enrollment_type"], "component_title": i["title"],
            "description": "<p>Classroom training</p>\r\n", "start_date": legacy(i["start"]), "end_date": legacy(i["end"]),
            "created_at": legacy(i["created_at"]), "max_capacity": i["max_capacity"],
            "instructor_name": f"{tutor.first_name} {tutor.last_name}" if tutor else None,
            "location_id": loc[0] if loc else None, "location_title": loc[1] if loc else None,
            "timezone": loc[5] if loc else "UTC", "session_type": "Session" if loc else "Webinar",
            "webinar_display_name": None if loc else "Zoom (support.webinar@yourcompany.com)", "webinar_title": "N/A"})
    a1, a2, a3 = ("address1", "address2", "address3") if "locations_address" in b.quirks else ("address_1", "address_2", "address_3")
    locations = [{"id": loc[0], "title": loc[1], a1: loc[2], a2: loc[3], a3: loc[4], "timezone": loc[5],
                  "country_code": loc[6], "notes": "Meeting rooms on the ground floor."} for loc in LOCATIONS]
    zones = [{"id": tz[0], "name": tz[1]} for tz in TIMEZONES]
    return {"sessions": sessions, "session_attendance": attendance, "ilt_sessions": ilts, "locations": locations,
            "timezones": zones}
