"""The audit trail: GET /audit-trails (the last 30 days, 10,000 events per page, `next` tokens).

Other domains record their audited actions here as they happen (`record`);
names are frozen as they were at that moment.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any, Optional

from .. import names
from ..api import ApiContext, ApiError, Behaviour, Params, Result
from ..model import State, User
from ..timefmt import DAY, iso_ms, parse_rfc3339

AUDIT_WINDOW = 30 * DAY

# action codes (reference, "action_id numbers and associated actions")
SET_COMPLETE, USER_UNENROLLED, USER_DELETED, LOGIN_DISABLED, LOGIN_ENABLED = 1, 2, 3, 4, 5
COURSE_DELETED, COURSE_ARCHIVED, LP_DELETED, LP_ARCHIVED, EXAM_RESET, GROUP_DELETED, REMOVED_FROM_GROUP = range(6, 13)


# --- data ------------------------------------------------------------------------------

def record(st: State, rng: random.Random, ts: int, action: int, initiator: Optional[User], impacted: Optional[User],
           data: Optional[str], kept: bool = True) -> None:
    """Append an event stamped at ts (plus random milliseconds). `kept=False` leaves the action out of the
    trail (draws the same randomness, so the rest of the data does not change)."""
    millis = rng.randint(0, 999)
    if not kept:
        return
    st.audit.append((
        ts * 1000 + millis, action,
        initiator.name if initiator else None, initiator.email if initiator else None,
        impacted.name if impacted else None, impacted.email if impacted else None, data))


def record_api_change(st: State, ts: int, action: int, impacted: User, data: Optional[str]) -> None:
    """An event for a change made through the API: the initiator (the API key) shows blank, as on automated
    events. Its milliseconds come from a stream of its own, so a write does not shift what churn draws."""
    millis = random.Random(f"{impacted.id}:{action}:{ts}").randint(0, 999)
    st.audit.append((ts * 1000 + millis, action, "", "", impacted.name, impacted.email, data))
    st.audit.sort()


def generate(st: State, rng: random.Random, now: int) -> None:
    """Events of every action over the last 60 days (only the last 30 are ever served)."""
    staff = [u for u in st.users.values() if u.user_type in ("admin", "manager")] or list(st.users.values())[:1]
    users = list(st.users.values())
    course_names = [f.topic for f in st.families.values()]
    lp_names = [p["name"] for p in st.learning_paths.values()] or ["Onboarding Path"]
    group_titles = [g["title"] for g in st.groups.values()]
    events = []
    count = max(120, len(users) // 4) * 2
    for _ in range(count):
        ts_ms = (now - rng.randint(60, 60 * DAY)) * 1000 + rng.randint(0, 999)
        action = rng.randint(1, 12)
        by: User | None = None if rng.random() < 0.1 else rng.choice(staff)
        target: Any = rng.choice(users)
        data: str | None = None
        if action == USER_DELETED:  # the deleted user no longer exists: a name of its own
            first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
            target = (f"{first} {last}", f"{first}.{last}.former@{names.DOMAINS[0]}".lower())
        elif action in (SET_COMPLETE, USER_UNENROLLED, EXAM_RESET):
            data = rng.choice(course_names)
        elif action in (COURSE_DELETED, COURSE_ARCHIVED):
            target, data = None, rng.choice(course_names)
        elif action in (LP_DELETED, LP_ARCHIVED):
            target, data = None, rng.choice(lp_names)
        elif action in (GROUP_DELETED, REMOVED_FROM_GROUP):
            data = rng.choice(group_titles) if group_titles else "Staff"
            if action == GROUP_DELETED:
                target = None
        if isinstance(target, tuple):
            impacted = target
        else:
            impacted = (target.name, target.email) if target is not None else (None, None)
        events.append((ts_ms, action, by.name if by else "", by.email if by else "", impacted[0], impacted[1], data))
    events.sort()
    st.audit = events


def finish_round(st: State, t0: int) -> dict[str, int]:
    """Keep the trail in time order after a churn round; count what the round added."""
    st.audit.sort()
    return {"audit_events": sum(1 for ev in st.audit if ev[0] > t0 * 1000)}


# --- records ----------------------------------------------------------------------------

def trail_record(ev: tuple[Any, ...]) -> dict[str, Any]:
    ts_ms, action, by_name, by_email, name, email, data = ev
    return {"action": action, "initiated_by_user": by_name, "initiated_by_user_email": by_email,
            "impacted_user": name, "impacted_user_email": email, "impacted_data": data,
            "date_and_time_utc": iso_ms(ts_ms)}


# --- handlers ----------------------------------------------------------------------------

def encode_token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        raise ApiError(400, "Invalid next token") from None


def audit_trails(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    now_ms = int(api.now() * 1000)
    token = p.str("next")
    if token and token != "false":
        state = decode_token(token)
    else:
        actions_raw = p.str("action_id") if "audit_action_param" not in api.q else None
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
            # a start older than the trail keeps, or later than the portal's now (a client whose clock
            # or cursor is ahead of the portal's), is outside "the last 30 days"
            if lo_ms < now_ms - AUDIT_WINDOW * 1000 or lo_ms > now_ms:
                raise ApiError(400, "date_range must be within the last 30 days")
        state = {"from": lo_ms, "to": hi_ms, "actions": actions, "offset": 0}
    events = [ev for ev in api.st.audit if state["from"] <= ev[0] <= state["to"]
              and (not state["actions"] or ev[1] in state["actions"])]
    off, size = state["offset"], api.b.audit_page_size
    chunk = events[off:off + size]
    more = len(events) > off + size
    return Result({"trails": [trail_record(ev) for ev in chunk],
                   "next": encode_token({**state, "offset": off + size}) if more else False})


ROUTES = (
    ("GET", "/audit-trails", audit_trails),
)


# --- ground truth ------------------------------------------------------------------------
# Stated from the model on its own, not through the records above, so it can check them.

def truth(st: State, b: Behaviour, now: int) -> dict[str, list[Any]]:
    """audit_trails: the events of the last 30 days on the data clock, oldest first."""
    since_ms = (now - AUDIT_WINDOW) * 1000
    rows = []
    for ts_ms, action, by_name, by_email, name, email, data in st.audit:
        if ts_ms >= since_ms:
            rows.append({"action": action, "initiated_by_user": by_name, "initiated_by_user_email": by_email,
                         "impacted_user": name, "impacted_user_email": email, "impacted_data": data,
                         "date_and_time_utc": iso_ms(ts_ms)})
    return {"audit_trails": rows}
