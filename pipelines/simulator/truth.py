"""Ground truth: every record a perfect copy of the portal would hold now."""

from __future__ import annotations

from typing import Any

from . import render
from .model import State


def ground_truth(st: State, q: frozenset[str], now: int) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {
        "users": [render.user(st, u, q, "1.2") for u in st.users.values()],
        "custom_user_fields": render.custom_field_definitions(st, full=True),
        "courses": [render.course(st, c) for c in st.courses.values()],
        "enrollments": [render.enrollment(st, st.enrollments[eid], q) for eid in sorted(st.enrollments)],
        "deleted_user_ids": list(st.deleted_user_ids),
        "deleted_enrollment_ids": list(st.deleted_enrollment_ids),
    }
    extra = st.extra.get("truth")
    if extra is not None:
        out.update(extra(st, q, now))
    return out


def extra_truth(st: State, q: frozenset[str], now: int) -> dict[str, list[Any]]:
    """Second-group tables, rendered exactly as their endpoints render them."""
    from types import SimpleNamespace

    from . import endpoints2 as E
    from . import extra as X

    api: Any = SimpleNamespace(q=q)
    exams = st.extra["exams"].values()
    exam_enrollments = {e["exam_id"]: E.all_exam_enrollments(st, e) for e in exams}
    paths = st.extra["learning_paths"].values()
    sessions = st.extra["sessions"].values()
    out: dict[str, list[Any]] = {
        "groups": [E.group_rec(st, g) for g in st.groups.values()],
        "group_memberships": [{**E.member_rec(st, m, True), "group_id": m["group_id"]}
                              for m in st.memberships.values() if m["user_id"] in st.users],
        "group_courses": [r for r in (E.group_course_rec(st, gc) for gc in st.group_courses.values()) if r],
        "group_managers": [E.group_manager_rec(st, gm) for gm in st.extra["group_managers"].values()],
        "course_instructors": [r for r in (E.course_instructor_rec(st, ci) for ci in st.extra["course_instructors"].values()) if r],
        "modules": [E.module_rec(st, api, mid, None) for mid in st.modules],
        "learning_paths": [E.lp_rec(st, p, True) for p in paths],
        "learning_path_courses": [{"lp_id": p["id"], **c} for p in paths for c in E.lp_courses(st, p)],
        "learning_path_enrollments": [E.lpe_rec(st, e) for e in E.visible_lp_enrollments(st)],
        "exams": [E.exam_settings(api, e) for e in exams],
        "exam_questions": [{"exam_id": e["exam_id"], **E.question_rec(e, qn)} for e in exams for qn in e["questions"]],
        "exam_enrollments": [E.exam_enrollment_rec(ee) for e in exams for ee in exam_enrollments[e["exam_id"]]],
        "exam_answers": [{"exam_enrollment_id": ee["exam_enrollment_id"], **E.answers_body(api, st, e, ee)}
                         for e in exams for ee in exam_enrollments[e["exam_id"]]],
        "assignment_answers": [E.assignment_rec(a) for m in st.modules.values() if m.component_type == "assignment"
                               for a in E.assignment_answers(st, m.id)],
        "markcompletes": [E.markcomplete_rec(mc) for mc in E.visible_markcompletes(st)],
        "sessions": [E.session_search_rec(st, s) for s in sessions],
        "session_attendance": [{"session_id": s["id"], **a} for s in sessions for a in E.attendance_recs(st, s, now)],
        "ilt_sessions": [E.ilt_rec(st, i) for i in st.extra["ilts"].values()],
        "locations": [E.location_rec(api, loc) for loc in X.LOCATIONS],
        "timezones": [{"id": tz[0], "name": tz[1]} for tz in X.TIMEZONES],
        "badges": [E.badge_rec(b, False) for b in st.extra["badges"]],
        "certifications": [dict(c) for c in st.extra["certifications"]],
        "leaderboard": E.leaderboard(st),
        "audit_trails": [E.trail_rec(ev) for ev in st.extra["audit"] if ev[0] >= (now - E.AUDIT_WINDOW) * 1000],
    }
    return out
