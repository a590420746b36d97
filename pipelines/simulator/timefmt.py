"""Date formats the API uses. Times are kept as integer epoch seconds (UTC)."""

from __future__ import annotations

import calendar
import time
from datetime import date, datetime, timezone
from typing import Optional

DAY = 86400


_DAY_PREFIX: dict[int, str] = {}


def iso(ts: Optional[int]) -> Optional[str]:
    """The API's default format, YYYY-MM-DDTHH:MM:SSZ (hot path: day prefixes are cached)."""
    if ts is None:
        return None
    days, secs = divmod(int(ts), 86400)
    prefix = _DAY_PREFIX.get(days)
    if prefix is None:
        prefix = _DAY_PREFIX[days] = time.strftime("%Y-%m-%dT", time.gmtime(days * 86400))
    hours, secs = divmod(secs, 3600)
    return "%s%02d:%02d:%02dZ" % (prefix, hours, secs // 60, secs % 60)


def iso_ms(ts_ms: int) -> str:
    """Audit trails: milliseconds, 2024-04-17T20:14:24.272Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts_ms // 1000)) + ".%03dZ" % (ts_ms % 1000)


def legacy(ts: Optional[int]) -> Optional[str]:
    """Legacy ILT search: 2021-01-19 09:00:00 UTC."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def local(ts: int, offset_minutes: int) -> str:
    """Wall time in a zone, without zone designator (live-learning session detail)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts + offset_minutes * 60))


def no_zone(ts: Optional[int]) -> Optional[str]:
    """yyyy-mm-ddThh:mm:ss in UTC, no designator (live-learning session search)."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))


def day(ts: Optional[int]) -> Optional[str]:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def to_ts(dt: datetime) -> int:
    return calendar.timegm(dt.astimezone(timezone.utc).timetuple())


def from_ts(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def parse_day(text: str) -> int:
    """Epoch seconds of midnight UTC of a YYYY-MM-DD string; ValueError if malformed."""
    d = date.fromisoformat(text)
    if len(text) != 10:
        raise ValueError(text)
    return calendar.timegm(d.timetuple())


def parse_rfc3339(text: str) -> float:
    """Epoch seconds of an RFC3339 timestamp (Z or offset; fractions allowed)."""
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    dt = datetime.fromisoformat(t)
    if dt.tzinfo is None:
        raise ValueError(f"no zone in {text!r}")
    return dt.timestamp()
