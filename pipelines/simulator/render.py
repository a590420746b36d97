"""API-shaped records (JSON-native dicts) from the in-memory state.

One function per record shape; `q` is the set of quirks switched to their
alternative reading (see quirks.py).
"""

from __future__ import annotations

from typing import Any, Optional

from .model import Course, Enrollment, State, User
from .timefmt import iso

MANAGER_PERMS = ("can_enroll", "can_unenroll_users", "can_mark_complete", "can_move_groups", "can_act_as_instructor")
INSTRUCTOR_PERMS = ("can_manage_trainings", "can_manage_sessions", "tutor_can_edit_their_courses", "tutor_can_create_courses")


def custom_defs_key(q: frozenset[str]) -> str:
    return "customDataFieldDefintions" if "custom_defs_key" in q else "customDataFieldDefinitions"


def custom_field_definitions(st: State, full: bool) -> list[dict[str, Any]]:
    """Definitions; `full` adds predefined_values (GET /users/customuserdata shows them)."""
    if full:
        return [dict(f) for f in st.custom_fields]
    return [{"id": f["id"], "type_id": f["type_id"], "label": f["label"]} for f in st.custom_fields]


def _custom_object(st: State, values: dict[int, Any]) -> dict[str, Any]:
    labels = {f["id"]: f["label"] for f in st.custom_fields}
    out = {}
    for def_id, value in values.items():
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        out[labels[def_id]] = value
    return out


def user(st: State, u: User, q: frozenset[str], version: Optional[str] = None) -> dict[str, Any]:
    """A user as GET /users lists it. version: None, "1.1" or "1.2"."""
    rec: dict[str, Any] = {
        "id": u.id, "last_name": u.last_name, "first_name": u.first_name, "email": u.email,
    }
    if u.username is not None:
        rec["username"] = u.username
    rec["locale"] = u.locale
    rec["created_at"] = iso(u.created_at)
    if version in ("1.1", "1.2") and not (version == "1.2" and "users_v12_cumulative" in q):
        rec["updated_at"] = iso(u.updated_at)
    rec["last_sign_in_at"] = iso(u.last_sign_in_at)
    rec["account_expires"] = None if u.account_expires is None else iso(u.account_expires)[:10]
    rec["sign_in_count"] = u.sign_in_count
    rec["enabled"] = u.enabled
    if version == "1.2":
        rec["timezone_id"] = u.timezone_id
    rec["user_type"] = u.user_type
    for k, v in u.perms.items():
        rec[k] = v
    rec["number_of_enrollments"] = len(st.enr_by_user.get(u.id, ()))
    rec["number_of_enrollments_accessed"] = sum(
        1 for eid in st.enr_by_user.get(u.id, ()) if st.enrollments[eid].status in ("in_progress", "completed", "passed"))
    if u.membership_type is not None:
        rec["membership_type"] = u.membership_type
    awards = st.extra.get("awards", {}).get(u.id)
    if awards is not None:
        rec["number_of_points"] = sum(a["total_points"] for a in awards)
        rec["number_of_badges"] = sum(a["badge_count"] for a in awards)
    if "user_custom_data" in q:
        rec["CustomData"] = _custom_object(st, u.custom)
    else:
        rec["customDataFieldValues"] = [{"definition_id": k, "value": v} for k, v in u.custom.items()]
    return rec


def user_awards(st: State, u: User) -> dict[str, Any]:
    awards = st.extra.get("awards", {}).get(u.id, [])
    return {"number_of_points": sum(a["total_points"] for a in awards),
            "number_of_badges": sum(a["badge_count"] for a in awards),
            "awards": [dict(a) for a in awards]}


def course(st: State, c: Course) -> dict[str, Any]:
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


def enrollment(st: State, e: Enrollment, q: frozenset[str]) -> dict[str, Any]:
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
