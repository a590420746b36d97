"""State shared by the resources of one extraction run.

One client (so one rate limiter and one call count) per run, the data-issue
log, progress reporting, and the course list, which several resources need and
which must be fetched only once per run.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dlt

from .arrow import IssueLog
from .client import LearnUponClient
from .errors import LearnUponAPIError
from .records import parse_bool, parse_int
from .settings import COURSES_KEYS, COURSES_PATH, ENROLLABLE_STATUSES, ExtractOptions


class NullProgress:
    def update(self, resource: str, *, pages: int = 0, rows: int = 0) -> None:
        pass

    def done(self, resource: str) -> None:
        pass


@dataclass
class ExtractContext:
    client_factory: Callable[[], LearnUponClient]
    options: ExtractOptions = field(default_factory=ExtractOptions)
    issues: IssueLog = field(default_factory=IssueLog)
    progress: Any = field(default_factory=NullProgress)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    _client: LearnUponClient | None = None
    _courses: list[dict[str, Any]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cache: dict[str, Any] = field(default_factory=dict)
    _cache_locks: dict[str, threading.Lock] = field(default_factory=dict)

    @property
    def client(self) -> LearnUponClient:
        with self._lock:
            if self._client is None:
                self._client = self.client_factory()
            return self._client

    @property
    def client_started(self) -> bool:
        return self._client is not None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """compute() once per run for `name`, whichever resource asks first (thread-safe)."""
        with self._lock:
            lock = self._cache_locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._cache:
                self._cache[name] = compute()
            return self._cache[name]

    def is_cached(self, name: str) -> bool:
        return name in self._cache

    def put(self, name: str, value: Any) -> None:
        self._cache[name] = value

    # ---- courses ---------------------------------------------------------------
    def courses(self) -> list[dict[str, Any]]:
        """Every course version on the portal (drafts and archived included), fetched once per run.

        One listing with an empty `name` pattern and include_all_versions returns every
        version. As a safety net, for each course family whose newest version is N but
        whose versions 1..N are not all present, we search by the family's name once
        and keep the results of that family. Families already completed at version N
        in an earlier run are remembered in the source state, with their ids, so
        their old versions cost no calls.
        """
        with self._lock:
            if self._courses is None:
                self._courses = self._list_courses()
            return self._courses

    def _list_courses(self) -> list[dict[str, Any]]:
        client = self._client or self.client_factory()
        self._client = client
        # `name` is a case-insensitive pattern and include_all_versions is documented to work with
        # it, so an empty name asks for every version of every course, wholly archived ones included
        # (the plain listing shows current versions only). A portal that refuses an empty name gets
        # the plain listing, and the family searches below fill in older versions.
        by_id: dict[int, dict[str, Any]] = {}
        # include_licensed_courses: courses licensed into the portal carry enrollments too
        everything = {"name": "", "include_draft": "true", "include_all_versions": "true", "include_licensed_courses": "true"}
        try:
            self._add_courses(client, everything, by_id)
        except LearnUponAPIError as error:
            if error.status not in (400, 404, 422):
                raise
            by_id.clear()
            plain = {k: v for k, v in everything.items() if k != "name"}
            self._add_courses(client, plain, by_id)

        state = dlt.current.source_state().setdefault("course_families", {})
        families: dict[int, list[dict[str, Any]]] = {}
        for record in by_id.values():
            families.setdefault(_family_id(record), []).append(record)
        known_old_ids: set[int] = set()
        for family, versions in families.items():
            newest = max(versions, key=lambda r: _safe_int(r.get("version")) or 0)
            newest_version = _safe_int(newest.get("version")) or 1
            present = {_safe_int(r.get("version")) for r in versions}
            remembered = state.get(str(family))
            if remembered and remembered.get("version") == newest_version:
                known_old_ids.update(remembered.get("ids", []))
                continue
            if newest_version > 1 and len(present) < newest_version and newest.get("name"):
                search = {**everything, "name": newest["name"]}
                for page in client.paginate(COURSES_PATH, search, record_keys=COURSES_KEYS):
                    for record in page.records:
                        cid = _safe_int(record.get("id"))
                        if cid is not None and _family_id(record) == family:
                            by_id.setdefault(cid, record)
            ids = sorted(cid for cid, r in by_id.items() if _family_id(r) == family)
            state[str(family)] = {"version": newest_version, "ids": ids}
        # older versions found in earlier runs but not listed now: keep them in the fan-out
        self.extra_course_ids = sorted(known_old_ids - set(by_id))
        return list(by_id.values())

    def _add_courses(self, client: LearnUponClient, params: dict[str, str], by_id: dict[int, dict[str, Any]]) -> None:
        for page in client.paginate(COURSES_PATH, params, record_keys=COURSES_KEYS):
            for record in page.records:
                cid = _safe_int(record.get("id"))
                if cid is not None:
                    by_id[cid] = record
            self.progress.update("courses", pages=1, rows=len(page.records))

    def enrollable_course_ids(self) -> list[int]:
        ids = []
        for record in self.courses():
            cid = _safe_int(record.get("id"))
            status = str(record.get("published_status_id") or "").lower()
            enrolled = _safe_int(record.get("num_enrolled")) or 0
            if cid is not None and (status in ENROLLABLE_STATUSES or not status or enrolled > 0):
                ids.append(cid)
        return sorted(set(ids) | set(getattr(self, "extra_course_ids", [])))


def _safe_int(value: Any) -> int | None:
    try:
        return parse_int(value)
    except (TypeError, ValueError):
        return None


def _family_id(record: dict[str, Any]) -> int:
    """Versions of one course share source_id (the root course's id); a root may carry none."""
    return _safe_int(record.get("source_id")) or _safe_int(record.get("id")) or 0


__all__ = ["ExtractContext", "NullProgress", "parse_bool"]
