"""What the simulator's own tests share: their clock, the simulated portal's keys, and reading a listing page by page."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx

CLOCK = datetime(2025, 3, 14, 12, 0, tzinfo=timezone.utc)
AUTH = ("sim-user", "sim-secret-password")


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
