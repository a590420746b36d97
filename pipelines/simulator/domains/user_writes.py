"""The write side of users and custom user data: POST /users, PUT /users/{id}, DELETE /users/{id}.

As the reference documents them ("Create a user", "Update a user", "Delete a user", "Update
custom user data"):

  POST   /users        {"User": {...}}: email or username, plus a password of 6+ characters
  PUT    /users/{id}   {"User": {...}}: email or username in every payload; id 0 finds the user by it
                       (new_email / new_username rename); a numeric id with another email in `email`
                       changes the email
  DELETE /users/{id}   as churn deletes a user (users.delete_user), with audit 3

CustomData is keyed by field name (not case sensitive, spaces honoured) or, with
"use_definition_ids", by definition id; values are checked against the field's type and its
predefined values. Errors use the reference's shape and statuses: 404 "Invalid parameters" for
missing or invalid parameters, 400 for a duplicate email or username, 404 for an unknown user.
Passwords are kept in the state only (State.passwords, never rendered), so tests can prove they
never leak elsewhere. Group membership writes are in groups.py, invites in invites.py.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Optional

from ..api import ApiContext, ApiError, Behaviour, Params, Result
from ..model import State, User
from ..payload import as_bool, as_id, invalid, text, wrapped
from ..timefmt import parse_day
from . import audit, enrollments, users

USER_TYPES = ("learner", "instructor", "manager", "admin")
# what a manager or instructor made through the API may do until told otherwise
MANAGER_PERM_DEFAULTS = dict(zip(users.MANAGER_PERMS, (True, False, False, False, False)))
INSTRUCTOR_PERM_DEFAULTS = dict(zip(users.INSTRUCTOR_PERMS, (False, False, True, False)))
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
USERNAME = re.compile(r"[\w+\-.,$#@]{6,30}")
CUSTOM_TYPES = {1: "string", 2: "decimal", 3: "integer", 4: "choice", 5: "decimal choice", 6: "integer choice",
                7: "date (YYYY-MM-DD)"}


# --- checks ---------------------------------------------------------------------------------

def default_perms(user_type: str) -> dict[str, bool]:
    if user_type == "manager":
        return dict(MANAGER_PERM_DEFAULTS)
    if user_type == "instructor":
        return dict(INSTRUCTOR_PERM_DEFAULTS)
    return {}


def check_email(api: ApiContext, email: str, owner: Optional[int]) -> None:
    if not EMAIL.fullmatch(email):
        raise invalid(f"email {email!r} is not a valid email address")
    holder = api.user_by_email(email)
    if holder is not None and holder != owner:
        raise ApiError(400, "Email has already been taken")


def check_username(api: ApiContext, username: str, owner: Optional[int]) -> None:
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
    old = current.perms if current is not None and current.user_type == kind else {}
    perms = {name: as_bool(data[name], name) if name in data else old.get(name, default)
             for name, default in default_perms(kind).items()}
    return kind, perms


def new_api_user(st: State, now: int, **fields: Any) -> User:
    """A user made through the API (or by an accepted invite): no sign-ins, no groups yet."""
    u = User(id=st.new_id("user"), created_at=now, updated_at=now, last_sign_in_at=None, sign_in_count=0,
             custom={}, pm_id=st.new_id("pm"), groups=[], **fields)
    st.users[u.id] = u
    return u


# --- handlers ---------------------------------------------------------------------------------

def create_user(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
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
    enabled = as_bool(data["enabled"], "enabled") if "enabled" in data else True
    change = as_bool(data["change_password_on_first_login"], "change_password_on_first_login") \
        if "change_password_on_first_login" in data else False
    u = new_api_user(st, int(api.now()), first_name=text(data, "first_name") or "",
                     last_name=text(data, "last_name") or "", email=email or "", username=username,
                     locale=text(data, "language") or "en", enabled=enabled, account_expires=account_expires(data),
                     timezone_id=text(data, "timezone_id"), user_type=kind, perms=perms,
                     membership_type=text(data, "membership_type"))
    apply_custom(u, values)
    st.passwords[u.id] = {"password": password, "change_password_on_first_login": change}
    api.invalidate()
    return Result({"id": u.id})


def update_user(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
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
    renamed = (u.email, u.first_name, u.last_name, u.username) != tracked_before
    # updated_at tracks email, names, username and password resets only (reference, version_id=1.1)
    if renamed or password is not None:
        u.updated_at = max(u.updated_at, now)
    if renamed:  # names and emails are denormalised onto enrollments
        enrollments.touch_user(st, u.id, now)
    if password is not None:
        st.passwords[u.id] = {"password": password, "change_password_on_first_login": False}
    if enabled != u.enabled:
        u.enabled = enabled
        audit.record_api_change(st, now, audit.LOGIN_ENABLED if enabled else audit.LOGIN_DISABLED, u, None)
    api.invalidate()
    return Result({"id": u.id})


def delete_user(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
    st = api.st
    u = st.users.get(int(args["id"]))
    if u is None:
        raise ApiError(404, "User not found")
    audit.record_api_change(st, int(api.now()), audit.USER_DELETED, u, None)
    users.delete_user(st, u)  # takes everything that hangs off the user and notes what was deleted
    st.passwords.pop(u.id, None)
    api.invalidate()
    return Result({"id": u.id})


ROUTES = (
    ("POST", "/users", create_user),
    ("PUT", "/users/{id}", update_user),
    ("DELETE", "/users/{id}", delete_user),
)


def truth(st: State, b: Behaviour, now: int) -> dict[str, list[Any]]:
    """Nothing of its own: users written here are in the users domain's tables like any other."""
    return {}
