"""Portal invites: POST /portal_invite, GET /group_invites.

As the reference documents them ("Portal invites", "Group invites"):

  POST /portal_invite   {"Invite": {...}}: email (or username); group_id, portal_membership_type_id
                        (1 learner, 2 admin, 3 instructor, 4 manager), CustomData as for users
  GET  /group_invites   the invites, filtered by group_id / invite_email_address

An invite becomes a user only when its recipient accepts it; `accept_invites` plays every
recipient (for tests and demos).
"""

from __future__ import annotations

from typing import Any

from ..api import ApiContext, ApiError, Behaviour, Params, Result
from ..model import State
from ..payload import as_id, invalid, text, wrapped
from ..timefmt import iso
from . import membership_writes, user_writes

MEMBERSHIP_TYPE_IDS = {1: "learner", 2: "admin", 3: "instructor", 4: "manager"}
TIMESTAMPS = ("created_at", "last_reminder_sent_at")


def invite_record(inv: dict[str, Any]) -> dict[str, Any]:
    return {k: (iso(v) if k in TIMESTAMPS else v) for k, v in inv.items() if k != "custom"}


def portal_invite(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    data = wrapped(p.body, "Invite")
    email, username = text(data, "email"), text(data, "username")
    if not email and not username:
        raise invalid("email (or username) is required")
    if email:
        if not user_writes.EMAIL.fullmatch(email):
            raise invalid(f"email {email!r} is not a valid email address")
        if api.user_by_email(email) is not None:
            raise ApiError(400, "A user with this email is already on the portal")
    group_id = as_id(data["group_id"], "group_id") if data.get("group_id") not in (None, "") else None
    if group_id is not None and group_id not in st.groups:
        raise ApiError(404, "Group not found")
    kind_id = as_id(data.get("portal_membership_type_id", 1), "portal_membership_type_id")
    if kind_id not in MEMBERSHIP_TYPE_IDS:
        raise invalid("portal_membership_type_id must be 1, 2, 3 or 4")
    values = user_writes.custom_data(st, data.get("CustomData"))
    iid = st.new_id("invite")
    st.invites[iid] = {
        "id": iid, "created_at": int(api.now()), "expires_at": text(data, "expires_at"), "num_reminders_sent": 0,
        "last_reminder_sent_at": None, "invite_status": "sent", "invite_email_address": email,
        "last_name": text(data, "last_name"), "first_name": text(data, "first_name"), "username": username,
        "user_type": MEMBERSHIP_TYPE_IDS[kind_id], "accept_url": f"/invites/accept/{iid:x}", "group_id": group_id,
        "custom": values,
    }
    return Result({"id": iid, "email": email})


def list_invites(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    found = list(api.st.invites.values())
    if p.str("group_id"):
        group_id = p.int("group_id")
        found = [i for i in found if i["group_id"] == group_id]
    if p.str("invite_email_address"):
        wanted = (p.str("invite_email_address") or "").strip().lower()
        found = [i for i in found if (i["invite_email_address"] or "").lower() == wanted]
    return api.page_result("group_invite", lambda chunk: [invite_record(i) for i in chunk], found, p)


def accept_invites(api: ApiContext) -> list[int]:
    """Every sent invite accepted, as its recipients would: the users they become. The caller holds the portal lock."""
    st = api.st
    made = []
    for inv in st.invites.values():
        if inv["invite_status"] != "sent" or api.user_by_email(inv["invite_email_address"] or "") is not None:
            continue
        now = int(api.now())
        kind = inv["user_type"]
        u = user_writes.new_api_user(
            st, now, first_name=inv["first_name"] or "", last_name=inv["last_name"] or "",
            email=inv["invite_email_address"] or "", username=inv["username"], locale="en", enabled=True,
            account_expires=None, timezone_id=None, user_type=kind, perms=user_writes.default_perms(kind),
            membership_type=None)
        u.last_sign_in_at, u.sign_in_count = now, 1  # accepting is signing in
        user_writes.apply_custom(u, inv["custom"])
        inv["invite_status"] = "accepted"
        if inv["group_id"] is not None:
            membership_writes.join_group(st, u, inv["group_id"], now, process_enrollments=True)
        api.invalidate()
        made.append(u.id)
    return made


ROUTES = (
    ("POST", "/portal_invite", portal_invite),
    ("GET", "/group_invites", list_invites),
)


def truth(st: State, b: Behaviour, now: int) -> dict[str, list[Any]]:
    """group_invites: every invite as GET /group_invites lists it."""
    return {"group_invites": [{k: (iso(v) if k in TIMESTAMPS else v) for k, v in inv.items() if k != "custom"}
                              for inv in st.invites.values()]}
