"""Users and custom user data: GET /users (and search, by id), GET /users/customuserdata.

A deleted user takes with it everything that hangs off them: enrollments,
learning-path enrollments, group memberships, manager and instructor links,
awards (`delete_user`).
"""

from __future__ import annotations

import random
from typing import Any, Optional, Sequence

from .. import names
from ..api import ApiContext, ApiError, Behaviour, Params, Result
from ..model import State, User
from ..rng import Stamp, how_many, mix, unit
from ..timefmt import DAY, day, iso
from . import audit, enrollments, gamification, groups

PORTAL_AGE_DAYS = 3 * 365
DEPARTMENT = 231  # the definition id of the "department" field

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

# manager and instructor permissions, in the order the user table lists them
MANAGER_PERMS = ("can_enroll", "can_unenroll_users", "can_mark_complete", "can_move_groups", "can_act_as_instructor")
INSTRUCTOR_PERMS = ("can_manage_trainings", "can_manage_sessions", "tutor_can_edit_their_courses", "tutor_can_create_courses")


# --- data ------------------------------------------------------------------------------

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


def generate(st: State, rng: random.Random, count: int, now: int) -> None:
    st.custom_fields = [dict(f) for f in CUSTOM_FIELDS]
    start = now - PORTAL_AGE_DAYS * DAY
    # a few fixed roles first, so every portal has an admin, a manager and an instructor
    fixed = ["admin", "manager", "instructor", "instructor"]
    created = sorted(rng.randint(start, now - 3600) for _ in range(count))
    for i, ts in enumerate(created):
        new_user(st, rng, ts, now, fixed[i] if i < len(fixed) and i < count else None)


def staff(st: State) -> list[User]:
    """Admins and managers: who initiates audited actions."""
    return [u for u in st.users.values() if u.user_type in ("admin", "manager")]


def delete_user(st: State, u: User) -> None:
    """The user and everything that hangs off them vanish from every listing."""
    for eid in list(st.enr_by_user.get(u.id, ())):
        enrollments.remove_enrollment(st, eid)
    st.enr_by_user.pop(u.id, None)
    groups.forget_user(st, u.id)
    del st.users[u.id]
    st.note_deleted("user", u.id)
    st.awards.pop(u.id, None)
    groups.forget_manager(st, u.id)
    for key in [k for k, v in st.course_instructors.items() if v["user_id"] == u.id]:
        del st.course_instructors[key]
        st.note_deleted("course_instructor", key)
    enrollments.forget_lp_user(st, u.id)


def churn(st: State, rng: random.Random, stamp: Stamp, share: float, round_no: int, who: list[User]) -> dict[str, int]:
    """Sign-ins (no updated_at bump), profile edits (bump), login toggles, new and deleted users."""
    counts: dict[str, int] = {}
    n_users = len(st.users)
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
        # names and emails are denormalised onto enrollments: changing them bumps their updated_at
        enrollments.touch_user(st, u.id, ts)
    counts["users_changed"] = k
    k = min(len(users), how_many(rng, n_users * share * 0.2))
    for u in rng.sample(users, k):
        u.enabled = not u.enabled  # not one of the fields updated_at tracks
        audit.record(st, rng, stamp(), audit.LOGIN_ENABLED if u.enabled else audit.LOGIN_DISABLED, rng.choice(who), u, None)
    counts["users_login_toggled"] = k
    k = how_many(rng, n_users * share)
    group_ids = list(st.groups)
    for _ in range(k):
        ts = stamp()
        u = new_user(st, rng, ts, ts, "learner")
        u.last_sign_in_at, u.sign_in_count = None, 0
        if group_ids and rng.random() < 0.8:
            groups.add_membership(st, u, rng.choice(group_ids), ts)
    counts["users_created"] = k
    deletable = [u for u in st.users.values() if u.user_type == "learner"]
    k = min(len(deletable), how_many(rng, n_users * share * 0.3))
    for u in rng.sample(deletable, k):
        audit.record(st, rng, stamp(), audit.USER_DELETED, rng.choice(who), u, None)
        delete_user(st, u)
    counts["users_deleted"] = k
    return counts


# --- records ----------------------------------------------------------------------------

def custom_defs_key(q: frozenset[str]) -> str:
    return "customDataFieldDefintions" if "custom_defs_key" in q else "customDataFieldDefinitions"


def custom_field_definitions(st: State, full: bool, predefined_values: str = "list") -> list[dict[str, Any]]:
    """Definitions; `full` adds predefined_values (GET /users/customuserdata shows them), as a JSON list or,
    with predefined_values="text", as the comma-separated string the reference's type "string" reads as."""
    if full:
        return [{**f, "predefined_values": choices_text(f["predefined_values"])} if predefined_values == "text" else dict(f)
                for f in st.custom_fields]
    return [{"id": f["id"], "type_id": f["type_id"], "label": f["label"]} for f in st.custom_fields]


def choices_text(values: Optional[list[Any]]) -> Optional[str]:
    """A choice list as text: strings comma-separated ("Account Manager,Engineer"), numbers as the reference's
    examples write them ("1.00, 2.00")."""
    if values is None:
        return None
    if all(isinstance(v, str) for v in values):
        return ",".join(values)
    return ", ".join(str(v) for v in values)


def _custom_object(st: State, values: dict[int, Any]) -> dict[str, Any]:
    labels = {f["id"]: f["label"] for f in st.custom_fields}
    out = {}
    for def_id, value in values.items():
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        out[labels[def_id]] = value
    return out


def disagrees(st: State, b: Behaviour, u: User) -> bool:
    """Whether this user's CustomData gives an older department than customDataFieldValues (both shapes served)."""
    return (b.custom_data_shapes == "both" and DEPARTMENT in u.custom
            and unit(mix(st.seed, u.id, DEPARTMENT)) < b.custom_data_disagreements)


def older_department(value: Any) -> str:
    """Another department than `value` (one a write may have set outside the generated list included)."""
    position = names.DEPARTMENTS.index(value) if value in names.DEPARTMENTS else -1
    return names.DEPARTMENTS[(position + 1) % len(names.DEPARTMENTS)]


def custom_attributes(st: State, b: Behaviour, u: User) -> dict[str, Any]:
    """The custom-data attributes of a user record, in the shapes this portal serves."""
    out: dict[str, Any] = {}
    if b.custom_data_shapes in ("labels", "both"):
        out["CustomData"] = _custom_object(st, u.custom)
        if disagrees(st, b, u):
            label = next(f["label"] for f in st.custom_fields if f["id"] == DEPARTMENT)
            out["CustomData"][label] = older_department(u.custom[DEPARTMENT])
    if b.custom_data_shapes in ("values", "both"):
        out["customDataFieldValues"] = [{"definition_id": k, "value": v} for k, v in u.custom.items()]
    return out


def user_record(st: State, u: User, b: Behaviour, version: Optional[str] = None) -> dict[str, Any]:
    """A user as GET /users lists it. version: None, "1.1" or "1.2"."""
    q = b.quirks
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
    awards = st.awards.get(u.id)
    if awards is not None:
        rec["number_of_points"] = sum(a["total_points"] for a in awards)
        rec["number_of_badges"] = sum(a["badge_count"] for a in awards)
    rec.update(custom_attributes(st, b, u))
    return rec


# --- handlers ----------------------------------------------------------------------------

def users_key(api: ApiContext) -> str:
    return "users" if "users_wrapper" in api.q else "user"


def _records(api: ApiContext, users: Sequence[Any], version: Optional[str]) -> list[dict[str, Any]]:
    return [user_record(api.st, u, api.b, version) for u in users]


def _defs(api: ApiContext) -> dict[str, Any]:
    if not api.b.user_listing_definitions:
        return {}
    return {custom_defs_key(api.q): custom_field_definitions(api.st, full=False)}


def list_users(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    version = p.str("version_id")
    users: Sequence[Any] = list(api.st.users.values())
    if p.has("login_enabled"):
        wanted = p.bool("login_enabled")
        users = [u for u in users if u.enabled == wanted]
    return api.page_result(users_key(api), lambda chunk: _records(api, chunk, version), users, p, _defs(api))


def search_users(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    if p.str("email"):
        uid = api.user_by_email(p.str("email") or "")
    elif p.str("username"):
        uid = api.user_by_username(p.str("username") or "")
    else:
        raise ApiError(400, "You must provide an email or a username")
    if uid is None:
        raise ApiError(404, "User not found")
    u = api.st.users[uid]
    return api.page_result(users_key(api), lambda chunk: _records(api, chunk, p.str("version_id")), [u], p, _defs(api))


def get_user(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
    u = api.st.users.get(int(args["id"]))
    if u is None:
        raise ApiError(404, "User not found")
    rec = user_record(api.st, u, api.b, p.str("version_id"))
    body: dict[str, Any] = {users_key(api): [rec]}
    if api.st.gamification:
        awards = gamification.user_awards(api.st, u.id)
        if "user_awards" in api.q:
            body["awards"] = awards
        else:
            rec["awards"] = awards
    body.update(_defs(api))
    return Result(body)


def custom_user_data(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    defs = custom_field_definitions(api.st, full=True, predefined_values=api.b.predefined_values)
    return api.page_result(custom_defs_key(api.q), lambda chunk: list(chunk), defs, p)


ROUTES = (
    ("GET", "/users", list_users),
    ("GET", "/users/search", search_users),
    ("GET", "/users/customuserdata", custom_user_data),
    ("GET", "/users/{id}", get_user),
)


# --- ground truth ------------------------------------------------------------------------
# Stated from the model on its own, not through the records above, so it can check them.

def truth(st: State, b: Behaviour, now: int) -> dict[str, list[Any]]:
    """users: the listing with version_id=1.2; custom_user_fields: GET /users/customuserdata; user_custom_data:
    one row per user and field (user_id, definition_id, label as CustomData keys it or None, value as the
    model holds it); user_custom_data_disagreements: the fields whose two shapes disagree."""
    enrolled: dict[int, int] = {}
    accessed: dict[int, int] = {}
    for e in st.enrollments.values():
        enrolled[e.user_id] = enrolled.get(e.user_id, 0) + 1
        if e.status in ("in_progress", "completed", "passed"):
            accessed[e.user_id] = accessed.get(e.user_id, 0) + 1
    labels = {f["id"]: f["label"] for f in st.custom_fields}
    rows, custom, disagreeing = [], [], []
    for u in st.users.values():
        row: dict[str, Any] = {
            "id": u.id, "first_name": u.first_name, "last_name": u.last_name, "email": u.email, "locale": u.locale,
            "created_at": iso(u.created_at), "last_sign_in_at": iso(u.last_sign_in_at),
            "account_expires": day(u.account_expires), "sign_in_count": u.sign_in_count, "enabled": u.enabled,
            "timezone_id": u.timezone_id, "user_type": u.user_type, **u.perms,
            "number_of_enrollments": enrolled.get(u.id, 0), "number_of_enrollments_accessed": accessed.get(u.id, 0),
        }
        if "users_v12_cumulative" not in b.quirks:
            row["updated_at"] = iso(u.updated_at)
        if u.username is not None:
            row["username"] = u.username
        if u.membership_type is not None:
            row["membership_type"] = u.membership_type
        if u.id in st.awards:
            row["number_of_points"] = sum(a["total_points"] for a in st.awards[u.id])
            row["number_of_badges"] = sum(a["badge_count"] for a in st.awards[u.id])
        if b.custom_data_shapes in ("labels", "both"):
            row["CustomData"] = {labels[k]: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in u.custom.items()}
        if b.custom_data_shapes in ("values", "both"):
            row["customDataFieldValues"] = [{"definition_id": k, "value": v} for k, v in u.custom.items()]
        # one row per field whatever the shapes; the value is the model's (the definition-id shape's when both)
        for k, v in u.custom.items():
            custom.append({"user_id": u.id, "definition_id": k, "value": v,
                           "label": labels[k] if b.custom_data_shapes in ("labels", "both") else None})
        if disagrees(st, b, u):
            disagreeing.append({"user_id": u.id, "definition_id": DEPARTMENT, "value": u.custom[DEPARTMENT],
                                "by_label": older_department(u.custom[DEPARTMENT])})
        rows.append(row)
    fields = [{"id": f["id"], "type_id": f["type_id"], "label": f["label"], "predefined_values": f["predefined_values"]}
              for f in st.custom_fields]
    if b.predefined_values == "text":
        fields = [{**f, "predefined_values": choices_text(f["predefined_values"])} for f in fields]
    return {"users": rows, "custom_user_fields": fields, "user_custom_data": custom,
            "user_custom_data_disagreements": disagreeing}
