"""Tolerant readers for the shapes the LearnUpon reference documents.

The reference is not always consistent with itself (a wrapper key missing from
a sample, a misspelt key, booleans as strings or 1/0). These helpers accept
every reading we know of; docs/api-ambiguities.md lists them.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any

from .errors import MalformedResponse

# keys that ride along with the list in a wrapper object and are not records
_METADATA_KEYS = {
    "customDataFieldDefinitions",
    "customDataFieldDefintions",
    "next",
    "message",
    "response_type",
    "response_code",
}

_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n", ""}


def extract_records(body: Any, keys: tuple[str, ...] = (), endpoint: str = "") -> list[dict[str, Any]]:
    """The list of records in a response body.

    Accepts: a bare list; a list of lists (session attendance is [[{...}]]); a
    wrapper object under any of `keys`; a wrapper whose single list-valued key
    is not metadata; a single object under a key (exam settings: {"exam": {...}}).
    """
    if body is None:
        return []
    if isinstance(body, list):
        if body and all(isinstance(item, list) for item in body):
            body = [record for inner in body for record in inner]
        return [r for r in body if isinstance(r, dict)]
    if not isinstance(body, dict):
        raise MalformedResponse(f"{endpoint}: expected a JSON object or list, got {type(body).__name__}")
    for key in keys:
        if key in body:
            value = body[key]
            if value is None:
                return []
            if isinstance(value, dict):
                return [value]
            return extract_records(value, (), endpoint)
    candidates = [k for k, v in body.items() if isinstance(v, list) and k not in _METADATA_KEYS]
    if len(candidates) == 1:
        return extract_records(body[candidates[0]], (), endpoint)
    if not candidates and all(isinstance(v, list) for k, v in body.items() if k in _METADATA_KEYS) and not (
        set(body) - _METADATA_KEYS
    ):
        return []  # e.g. {"customDataFieldDefinitions": []} only
    raise MalformedResponse(
        f"{endpoint}: cannot find the record list in the response (keys: {sorted(body)[:8]})"
    )


def field_definitions(body: Any) -> list[dict[str, Any]]:
    """Custom data field definitions riding along a users/courses response, under either spelling."""
    if not isinstance(body, dict):
        return []
    for key in ("customDataFieldDefinitions", "customDataFieldDefintions", "CustomDataFieldDefinitions"):
        value = body.get(key)
        if isinstance(value, list):
            return [d for d in value if isinstance(d, dict)]
    return []


def parse_bool(value: Any) -> bool | None:
    """True/False from booleans, 1/0, or their string forms in any case; None when unknown."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


_TS = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?\s*$",
    re.IGNORECASE,
)


def parse_timestamp(value: Any) -> datetime | None:
    """A UTC datetime from every date/time form the reference shows.

    '2026-11-20T23:30:00Z', '2024-04-17T20:14:24.272Z', '2021-01-19 09:00:00 UTC',
    '2025-04-11' (midnight UTC) and offsets like '+02:00'. A string without a zone
    is read as UTC, which the reference says all returned dates are.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    match = _TS.match(str(value))
    if not match:
        raise ValueError(f"not a date/time: {value!r}")
    y, mo, d, h, mi, s, frac, zone = match.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    result = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), micro, tzinfo=timezone.utc)
    if zone and zone.upper() not in ("Z", "UTC", "GMT"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        from datetime import timedelta

        result -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return result


def parse_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(f"not an integer: {value!r}")
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        as_float = float(text)
        if as_float.is_integer():
            return int(as_float)
        raise ValueError(f"not an integer: {value!r}") from None


def int_or_none(value: Any) -> int | None:
    """parse_int, with None for a value that is not a whole number (an id read only to match or fan out over)."""
    try:
        return parse_int(value)
    except (TypeError, ValueError):
        return None


def parse_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return float(value)
    return float(value)
