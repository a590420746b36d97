"""What the simulator's own tests share: their clock, the simulated portal's keys, and reading a listing page by page."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TypeVar

import httpx

CLOCK = datetime(2025, 3, 14, 12, 0, tzinfo=timezone.utc)
AUTH = ("sim-user", "sim-secret-password")
# a rate-limit "minute" an hour long: a test that spends a budget call by call rarely meets a window's end
RATE_WINDOW_SECONDS = 3600.0

T = TypeVar("T")


def within_one_rate_window(attempt: Callable[[], T], window: float = RATE_WINDOW_SECONDS) -> T:
    """attempt()'s result from a try that began and ended inside one rate-limit window (the simulator's windows
    are wall-clock multiples of `window`): a try that met a window's end proves nothing, and is made again
    (attempt must set up its own portal). No wait for a boundary, whatever the machine's speed."""
    for _ in range(5):
        window_before = time.time() // window
        result = attempt()
        if time.time() // window == window_before:
            return result
    raise AssertionError(f"every try met a rate-limit window's end ({window:.0f} s windows)")


def fetch_all(
    c: httpx.Client, path: str, key: str | None, params: dict | None = None, records_per_page: str | None = None
) -> list[dict]:
    """Every record of a listing, asking for pages 1, 2, ... until `LU-Has-Next-Page` says no more;
    each page must say which page it is (and, when given, how many records a page holds)."""
    records, page = [], 1
    while True:
        r = c.get(path, params={**(params or {}), "page": page})
        assert r.status_code == 200, r.text
        assert r.headers["LU-Current-Page"] == str(page)
        if records_per_page is not None:
            assert r.headers["LU-Records-Per-Page"] == records_per_page
        body = r.json()
        records.extend(body if key is None else body[key])
        if r.headers["LU-Has-Next-Page"] != "true":
            return records
        page += 1
