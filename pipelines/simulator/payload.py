"""Reading the JSON body of a write (POST/PUT/DELETE) the way the reference describes its payloads.

Payloads wrap their fields in one object named after the kind ({"User": {...}},
{"GroupMembership": {...}}); a missing or malformed field is the reference's
404 "Invalid parameters".
"""

from __future__ import annotations

from typing import Any, Optional

from .api import INVALID_PARAMETERS, ApiError


def invalid(detail: str) -> ApiError:
    return ApiError(404, f"{INVALID_PARAMETERS}: {detail}")


def wrapped(body: Any, key: str) -> dict[str, Any]:
    """The object under `key`; a body that is not JSON, or lacks it, is refused."""
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
    """A string field, trimmed; None when absent or empty."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise invalid(f"{name} must be a string")
    value = str(value).strip()
    return value or None


def flag(data: dict[str, Any], outer: Any, name: str, default: bool) -> bool:
    """A boolean option documented without its place: inside the wrapped object or beside it."""
    for source in (data, outer):
        if isinstance(source, dict) and name in source:
            return as_bool(source[name], name)
    return default


def required_pair(data: dict[str, Any], first: str, second: str) -> tuple[int, int]:
    """Two required integer fields (group_id and user_id of a membership)."""
    if data.get(first) in (None, "") or data.get(second) in (None, ""):
        raise invalid(f"{first} and {second} are required")
    return as_id(data[first], first), as_id(data[second], second)
