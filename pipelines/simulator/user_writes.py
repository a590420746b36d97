"""The write side of the users API: users, custom user data, group memberships and portal invites.

As the reference documents them ("Create a user", "Update a user", "Delete a user", "Update
custom user data", "Create/Delete a GroupMembership", "Portal invites"):

  POST   /users                    {"User": {...}}: email or username, plus a password of 6+ characters
  PUT    /users/{id}               {"User": {...}}: email or username in every payload; id 0 finds the user
                                   by it (new_email / new_username rename); a numeric id with another
                                   email in `email` changes the email
  DELETE /users/{id}
  POST   /group_memberships        {"GroupMembership": {"group_id", "user_id"}}; process_enrollments
                                   (default true, inside the object or beside it) enrolls the joiner in the
                                   group's courses
  DELETE /group_memberships/{id}   or id 0 with {"GroupMembership": {"group_id", "user_id"}};
                                   process_unenrollments (default true) unenrolls from the group's courses
  POST   /portal_invite            {"Invite": {...}}: email (or username)
  GET    /group_invites            the invites, filtered by group_id / invite_email_address

CustomData is keyed by field name (not case sensitive, spaces honoured) or, with
"use_definition_ids", by definition id; values are checked against the field's type and its
predefined values. Errors use the reference's shape and statuses: 404 "Invalid parameters" for
missing or invalid parameters, 400 for a duplicate email or username and other refusals, 404 for
an unknown user, group or membership. Every write counts against the rate limits (server.py).

Passwords are kept in memory only (never rendered), so tests can prove they never leak elsewhere.
"""

from __future__ import annotations

import random
import re
from datetime import date
from typing import Any, Optional

from .churn import LOGIN_DISABLED, LOGIN_ENABLED, REMOVED_FROM_GROUP, USER_DELETED, delete_user, touch_user_enrollments
from .endpoints import Api, ApiError, Params, Result, route
from .generate import DONE, new_enrollment
from .model import State, User
from .timefmt import iso, parse_day

USER_TYPES = ("learner", "instructor", "manager", "admin")
MANAGER_PERMS = {"can_enroll": True, "can_unenroll_users": False, "can_mark_complete": False,
                 "can_move_groups": False, "can_act_as_instructor": False}
INSTRUCTOR_PERMS = {"can_manage_trainings": False, "can_manage_sessions": False,
                    "tutor_can_edit_their_courses": True, "tutor_can_create_courses": False}
MEMBERSHIP_TYPE_IDS = {1: "learner", 2: "admin", 3: "instructor", 4: "manager"}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
USERNAME = re.compile(r"[\w+\-.,$#@]{6,30}")
INVITE_ID_BASE = 8800001


def invalid(detail: str) -> ApiError:
    return ApiError(404, f"Invalid parameters: {detail}")


# --- request readers -------------------------------------------------------------------------------

def wrapped(body: Any, key: str) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise invalid(f"a JSON object {{\"{key}\": {{...}}}} is required")
    return body[key]


def as_bool(value: Any, name: str) -> bool:
    """true/false, and 1/0 as the reference's tip allows, as JSON or as strings."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise invalid(f"{name} must be true or false")


def as_id(value: Any, name: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise invalid(f"{name} must be an integer") from None


def text(data: dict[str, Any], name: str) -> Optional[str]:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise invalid(f"{name} must be a string")
    value = str(value).strip()
    return value or None


def flag(data: dict[str, Any], outer: dict[str, Any], name: str, default: bool) -> bool:
    """A boolean option documented without its place: inside the wrapped object or beside it."""
    for source in (data, outer):
        if isinstance(source, dict) and name in source:
            return as_bool(source[name], name)
    return default


def check_email(api: Api, email: str, owner: Optional[int]) -> None:
    if not EMAIL.fullmatch(email):
        raise invalid(f"email {email!r} is not a valid email address")
    holder = api.user_by_email(email)
    if holder is not None and holder != owner:
        raise ApiError(400, "Email has already been taken")


def check_username(api: Api, username: str, owner: Optional[int]) -> None:
    if not USERNAME.fullmatch(username):
        raise invalid("username must be 6-30 letters, digits or + - . , $ # @ _")
    holder = api.user_by_username(username)
    if holder is not None and holder != owner:
        raise ApiError(400, "Username has already been taken")


def custom_data(st: State, data: Any) -> dict[int, Any]:
    """CustomData as {definition id: stored value}; None marks a value to clear."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise invalid("CustomData must be an object")
    by_id = "use_definition_ids" in data and as_bool(data["use_definition_ids"], "use_definition_ids")
    by_label = {f["label"].lower(): f for f in st.custom_fields}  # not case sensitive; spaces count
    by_number = {f["id"]: f for f in st.custom_fields}
    values: dict[int, Any] = {}
    for key, value in data.items():
        if key == "use_definition_ids":
            continue
        if by_id:
            field = by_number.get(as_id(key, "a custom data key with use_definition_ids"))
        else:
            field = by_label.get(str(key).lower())
        if field is None:
            raise invalid(f"no custom user data field {key!r}")
        values[field["id"]] = custom_value(field, value)
    return values


def custom_value(field: dict[str, Any], value: Any) -> Any:
    label, type_id, allowed = field["label"], field["type_id"], field.get("predefined_values")
    if value is None or value == "":
        return None
    items = value if isinstance(value, list) else [value]
    if not items:
        return None
    parsed = []
    for item in items:
        if isinstance(item, (dict, list)) or isinstance(item, bool):
            raise invalid(f"custom data {label!r} has a value of the wrong type")
        try:
            if type_id in (2, 5):
                item = float(item)
            elif type_id in (3, 6):
                number = float(item)
                if number != int(number):
                    raise ValueError
                item = int(number)
            elif type_id == 7:
                item = date.fromisoformat(str(item).strip()).isoformat()
            else:
                item = str(item)
        except ValueError:
            raise invalid(f"custom data {label!r} must be a {CUSTOM_TYPES.get(type_id, 'value')}") from None
        if type_id in (4, 5, 6) and allowed is not None:
            if not any(item == (float(a) if type_id == 5 else a) for a in allowed):
                raise invalid(f"custom data {label!r} must be one of {allowed}")
        parsed.append(item)
    if type_id in (4, 6):
        return parsed  # choice fields read back as lists
    if len(parsed) > 1:
        if type_id != 5:
            raise invalid(f"custom data {label!r} takes one value")
        return parsed
    return parsed[0]


CUSTOM_TYPES = {1: "string", 2: "decimal", 3: "integer", 4: "choice", 5: "decimal choice", 6: "integer choice",
                7: "date (YYYY-MM-DD)"}


def apply_custom(u: User, values: dict[int, Any]) -> None:
    for def_id, value in values.items():
        if value is None:
            u.custom.pop(def_id, None)
        else:
            u.custom[def_id] = value


def account_expires(data: dict[str, Any]) -> Any:
    raw = text(data, "account_expires")
    if raw is None:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise invalid("account_expires must be a date, yyyy-mm-dd") from None
    return parse_day(day.isoformat())


def user_type_and_perms(data: dict[str, Any], current: Optional[User]) -> tuple[str, dict[str, bool]]:
    kind = text(data, "user_type") or (current.user_type if current else "learner")
    if kind not in USER_TYPES:
        raise invalid(f"user_type must be one of {', '.join(USER_TYPES)}")
    defaults = MANAGER_PERMS if kind == "manager" else INSTRUCTOR_PERMS if kind == "instructor" else {}
    old = current.perms if current is not None and current.user_type == kind else {}
    perms = {name: as_bool(data[name], name) if name in data else old.get(name, default) for name, default in defaults.items()}
    return kind, perms


def audit(st: State, ts: int, action: int, u: User, data: Optional[str]) -> None:
    """An audit event for a change made through the API (the initiator is the API key, shown blank)."""
    ms = ts * 1000 + random.Random(f"{u.id}:{action}:{ts}").randint(0, 999)
    st.extra.setdefault("audit", []).append((ms, action, "", "", u.name, u.email, data))
    st.extra["audit"].sort()


def secrets(st: State) -> dict[int, dict[str, Any]]:
    """Per user: the password last set through the API and whether it must change at first sign-in."""
    return st.extra.setdefault("user_secrets", {})


# --- users -----------------------------------------------------------------------------------------

def create_user(api: Api, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    data = wrapped(p.body, "User")
    email, username = text(data, "email"), text(data, "username")
    if not email and not username:
        raise invalid("email or username is required")
    password = data.get("password")
    if not isinstance(password, str) or len(password) < 6:
        raise invalid("password is required, 6 or more characters")
    if email:
        check_email(api, email, None)
    if username:
        check_username(api, username, None)
    values = custom_data(st, data.get("CustomData"))
    kind, perms = user_type_and_perms(data, None)
    now = int(api.now())
    u = User(id=st.new_id("user"), first_name=text(data, "first_name") or "", last_name=text(data, "last_name") or "",
             email=email or "", username=username, locale=text(data, "language") or "en", created_at=now,
             updated_at=now, last_sign_in_at=None, sign_in_count=0,
             enabled=as_bool(data["enabled"], "enabled") if "enabled" in data else True,
             account_expires=account_expires(data), timezone_id=text(data, "timezone_id"), user_type=kind,
             perms=perms, membership_type=text(data, "membership_type"), custom={}, pm_id=st.new_id("pm"), groups=[])
    apply_custom(u, values)
    st.users[u.id] = u
    change = as_bool(data["change_password_on_first_login"], "change_password_on_first_login") \
        if "change_password_on_first_login" in data else False
    secrets(st)[u.id] = {"password": password, "change_password_on_first_login": change}
    api.invalidate()
    return Result({"id": u.id})


def update_user(api: Api, p: Params, args: dict[str, str]) -> Result:
    st = api.st
    data = wrapped(p.body, "User")
    email, username = text(data, "email"), text(data, "username")
    if not email and not username:
        raise invalid("email or username is required")
    uid = int(args["id"])
    new_email, new_username = text(data, "new_email"), text(data, "new_username")
    if uid == 0:  # find the user by the identifier in the payload
        found = api.user_by_email(email) if email else api.user_by_username(username or "")
        if found is None:
            raise ApiError(404, "User not found")
        u = st.users[found]
    else:
        u = st.users.get(uid)
        if u is None:
            raise ApiError(404, "User not found")
        if email and email.lower() != (u.email or "").lower():
            new_email = new_email or email
        if username and username.lower() != (u.username or "").lower():
            new_username = new_username or username
    if new_email:
        check_email(api, new_email, u.id)
    if new_username:
        check_username(api, new_username, u.id)
    password = data.get("password")
    if password is not None and (not isinstance(password, str) or len(password) < 6):
        raise invalid("password must be 6 or more characters")
    values = custom_data(st, data.get("CustomData"))
    enabled = as_bool(data["enabled"], "enabled") if "enabled" in data else u.enabled
    kind, perms = user_type_and_perms(data, u)
    expires = account_expires(data) if "account_expires" in data else u.account_expires

    now = int(api.now())
    tracked_before = (u.email, u.first_name, u.last_name, u.username)
    if new_email:
        u.email = new_email
    if new_username:
        u.username = new_username
    for name in ("first_name", "last_name"):
        if name in data:
            setattr(u, name, text(data, name) or "")
    if "language" in data:
        u.locale = text(data, "language") or u.locale
    if "timezone_id" in data:
        u.timezone_id = text(data, "timezone_id")
    if "membership_type" in data:
        u.membership_type = text(data, "membership_type")
    u.user_type, u.perms, u.account_expires = kind, perms, expires
    apply_custom(u, values)
    # updated_at tracks email, names, username and password resets only (reference, version_id=1.1)
    if (u.email, u.first_name, u.last_name, u.username) != tracked_before or password is not None:
        u.updated_at = max(u.updated_at, now)
    if (u.email, u.first_name, u.last_name, u.username) != tracked_before:
        touch_user_enrollments(st, u.id, now)
    if password is not None:
        secrets(st)[u.id] = {"password": password, "change_password_on_first_login": False}
    if enabled != u.enabled:
        u.enabled = enabled
        audit(st, now, LOGIN_ENABLED if enabled else LOGIN_DISABLED, u, None)
    api.invalidate()
    return Result({"id": u.id})


def remove_user(api: Api, p: Params, args: dict[str, str]) -> Result:
    st = api.st
    u = st.users.get(int(args["id"]))
    if u is None:
        raise ApiError(404, "User not found")
    audit(st, int(api.now()), USER_DELETED, u, None)
    delete_user(st, u)
    secrets(st).pop(u.id, None)
    api.invalidate()
    return Result({"id": u.id})


# --- group memberships -------------------------------------------------------------------------------

def group_families(st: State, group_id: int) -> list[Any]:
    """The course families a group's group courses make required."""
    families = []
    for gc in st.group_courses.values():
        course = st.courses.get(gc["source_id"]) if gc["group_id"] == group_id else None
        if course is not None:
            families.append(course.family)
    return families


def enroll_in_group_courses(st: State, u: User, group_id: int, now: int) -> None:
    taken = {st.courses[st.enrollments[eid].course_id].family.source_id for eid in st.enr_by_user.get(u.id, ())}
    rng = random.Random(f"join:{u.id}:{group_id}")
    for fam in group_families(st, group_id):
        live = fam.live_version(st.courses)
        if live is None or fam.source_id in taken:
            continue
        e = new_enrollment(st, rng, u, live, now, now, True)
        e.status, e.date_started, e.date_completed, e.date_lastaccessed = "not_started", None, None, None
        e.percentage, e.pct_complete, e.cert_expires_at, e.updated_at, e.is_overdue = None, 0, None, now, False
        e.group_id = group_id
        st.add_enrollment(e)
        taken.add(fam.source_id)


def unenroll_from_group_courses(st: State, u: User, group_id: int, now: int) -> None:
    still_required = {f.source_id for gid in u.groups for f in group_families(st, gid)}
    leaving = {f.source_id for f in group_families(st, group_id)} - still_required
    for eid in list(st.enr_by_user.get(u.id, ())):
        e = st.enrollments[eid]
        if st.courses[e.course_id].family.source_id not in leaving:
            continue
        if e.status in DONE:
            if not e.unenrolled:
                e.unenrolled, e.updated_at = True, max(e.updated_at, now)  # completions stay in the history
        else:
            st.remove_enrollment(eid)


def create_membership(api: Api, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    data = wrapped(p.body, "GroupMembership")
    if data.get("group_id") in (None, "") or data.get("user_id") in (None, ""):
        raise invalid("group_id and user_id are required")
    group_id, user_id = as_id(data["group_id"], "group_id"), as_id(data["user_id"], "user_id")
    if group_id not in st.groups:
        raise ApiError(404, "Group not found")
    u = st.users.get(user_id)
    if u is None:
        raise ApiError(404, "User not found")
    if any(m["group_id"] == group_id and m["user_id"] == user_id for m in st.memberships.values()):
        raise ApiError(400, "User is already a member of this group")
    process = flag(data, p.body, "process_enrollments", True)
    now = int(api.now())
    mid = st.new_id("membership")
    st.memberships[mid] = {"id": mid, "group_id": group_id, "user_id": user_id, "created_at": now}
    u.groups.append(group_id)
    if process:
        enroll_in_group_courses(st, u, group_id, now)
    api.invalidate()
    return Result({"id": mid})


def delete_membership(api: Api, p: Params, args: dict[str, str]) -> Result:
    st = api.st
    mid = int(args["id"])
    if mid == 0:  # found by the group and user in the payload
        data = wrapped(p.body, "GroupMembership")
        if data.get("group_id") in (None, "") or data.get("user_id") in (None, ""):
            raise invalid("group_id and user_id are required with id 0")
        group_id, user_id = as_id(data["group_id"], "group_id"), as_id(data["user_id"], "user_id")
        found = [m for m in st.memberships.values() if m["group_id"] == group_id and m["user_id"] == user_id]
        membership = found[0] if found else None
    else:
        data = p.body.get("GroupMembership") if isinstance(p.body, dict) else None
        membership = st.memberships.get(mid)
    if membership is None:
        raise ApiError(404, "Group membership not found")
    process = flag(data if isinstance(data, dict) else {}, p.body, "process_unenrollments", True)
    now = int(api.now())
    del st.memberships[membership["id"]]
    u = st.users.get(membership["user_id"])
    if u is not None:
        if membership["group_id"] in u.groups:
            u.groups.remove(membership["group_id"])
        if process:
            unenroll_from_group_courses(st, u, membership["group_id"], now)
        audit(st, now, REMOVED_FROM_GROUP, u, st.groups[membership["group_id"]]["title"])
    api.invalidate()
    return Result({"id": membership["id"]})


# --- invites ------------------------------------------------------------------------------------------

def invites(st: State) -> dict[int, dict[str, Any]]:
    return st.extra.setdefault("invites", {})


def invite_rec(inv: dict[str, Any]) -> dict[str, Any]:
    return {k: (iso(v) if k in ("created_at", "last_reminder_sent_at") else v) for k, v in inv.items() if k != "custom"}


def portal_invite(api: Api, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    data = wrapped(p.body, "Invite")
    email, username = text(data, "email"), text(data, "username")
    if not email and not username:
        raise invalid("email (or username) is required")
    if email:
        if not EMAIL.fullmatch(email):
            raise invalid(f"email {email!r} is not a valid email address")
        if api.user_by_email(email) is not None:
            raise ApiError(400, "A user with this email is already on the portal")
    group_id = as_id(data["group_id"], "group_id") if data.get("group_id") not in (None, "") else None
    if group_id is not None and group_id not in st.groups:
        raise ApiError(404, "Group not found")
    kind_id = as_id(data.get("portal_membership_type_id", 1), "portal_membership_type_id")
    if kind_id not in MEMBERSHIP_TYPE_IDS:
        raise invalid("portal_membership_type_id must be 1, 2, 3 or 4")
    values = custom_data(st, data.get("CustomData"))
    st.next_ids.setdefault("invite", INVITE_ID_BASE)
    iid = st.new_id("invite")
    invites(st)[iid] = {
        "id": iid, "created_at": int(api.now()), "expires_at": text(data, "expires_at"), "num_reminders_sent": 0,
        "last_reminder_sent_at": None, "invite_status": "sent", "invite_email_address": email, "last_name": text(data, "last_name"),
        "first_name": text(data, "first_name"), "username": username, "user_type": MEMBERSHIP_TYPE_IDS[kind_id],
        "accept_url": f"/invites/accept/{iid:x}", "group_id": group_id, "custom": values,
    }
    return Result({"id": iid, "email": email})


def list_invites(api: Api, p: Params, _: dict[str, str]) -> Result:
    found = list(invites(api.st).values())
    if p.str("group_id"):
        group_id = p.int("group_id")
        found = [i for i in found if i["group_id"] == group_id]
    if p.str("invite_email_address"):
        wanted = (p.str("invite_email_address") or "").strip().lower()
        found = [i for i in found if (i["invite_email_address"] or "").lower() == wanted]
    return api.page_result("group_invite", lambda chunk: [invite_rec(i) for i in chunk], found, p)


def accept_invites(api: Api) -> list[int]:
    """Every sent invite accepted, as its recipients would: the users they become (for tests and demos).

    The caller holds the portal lock.
    """
    st = api.st
    made = []
    for inv in invites(st).values():
        if inv["invite_status"] != "sent" or api.user_by_email(inv["invite_email_address"] or "") is not None:
            continue
        now = int(api.now())
        kind = inv["user_type"]
        u = User(id=st.new_id("user"), first_name=inv["first_name"] or "", last_name=inv["last_name"] or "",
                 email=inv["invite_email_address"] or "", username=inv["username"], locale="en", created_at=now,
                 updated_at=now, last_sign_in_at=now, sign_in_count=1, enabled=True, account_expires=None,
                 timezone_id=None, user_type=kind,
                 perms=dict(MANAGER_PERMS if kind == "manager" else INSTRUCTOR_PERMS if kind == "instructor" else {}),
                 membership_type=None, custom={}, pm_id=st.new_id("pm"), groups=[])
        apply_custom(u, inv["custom"])
        st.users[u.id] = u
        inv["invite_status"] = "accepted"
        api.invalidate()
        if inv["group_id"] is not None:
            mid = st.new_id("membership")
            st.memberships[mid] = {"id": mid, "group_id": inv["group_id"], "user_id": u.id, "created_at": now}
            u.groups.append(inv["group_id"])
            enroll_in_group_courses(st, u, inv["group_id"], now)
        made.append(u.id)
    return made


route("/users", create_user, "POST")
route("/users/{id}", update_user, "PUT")
route("/users/{id}", remove_user, "DELETE")
route("/group_memberships", create_membership, "POST")
route("/group_memberships/{id}", delete_membership, "DELETE")
route("/portal_invite", portal_invite, "POST")
route("/group_invites", list_invites)
