"""State shared by the resources of one extraction run.

One client (so one rate limiter and one call count) per run, the data-issue
log, progress reporting, and the course list, which several resources need and
which must be fetched only once per run.
"""

from __future__ import annotations

import copy
import functools
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dlt
import pyarrow as pa

from .arrow import IssueLog, ItemBatches
from .client import LearnUponClient, portal_name_for
from .deletions import WarehouseFacts
from .errors import ConfigError, LearnUponAPIError, SuspectListing, WeeklyBudgetReserved, describe_error

log = logging.getLogger("lms_warehouse.extract")
from .records import int_or_none, parse_bool
from .run_cache import RunCache
from .settings import COURSES_KEYS, COURSES_PATH, ENROLLABLE_STATUSES, LISTINGS, ExtractOptions
from .tables import COURSE_INSTRUCTORS, COURSES, empty_tables, item_table


class NullProgress:
    def update(self, resource: str, *, pages: int = 0, rows: int = 0) -> None:
        pass

    def done(self, resource: str, *, calls: int = 0, rows: int = 0) -> None:
        pass

    def failed(self, resource: str, cause: str) -> None:
        pass

    def step(self, text: str) -> None:
        pass


@dataclass
class ExtractContext:
    client_factory: Callable[[], LearnUponClient]
    # the configured portal's name (pipelines/config.py), in every row's `portal` column; "": the client's
    portal: str = ""
    options: ExtractOptions = field(default_factory=ExtractOptions)
    issues: IssueLog = field(default_factory=IssueLog)
    progress: Any = field(default_factory=NullProgress)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    # what the warehouse already holds that deletion signals are read against (the runner fills it)
    facts: WarehouseFacts = field(default_factory=WarehouseFacts)
    # older course versions found in earlier runs and not listed now (see `courses`)
    extra_course_ids: list[int] = field(default_factory=list)
    # the resources this run extracts (the runner sets them; empty: every resource)
    resources: tuple[str, ...] = ()
    # what a run found worth reporting beside its calls per endpoint (the runner copies it to the summary):
    # "reconciliations" (what each reconciliation re-read and its calls), "modules_reread" (courses re-read, why)
    costs: dict[str, Any] = field(default_factory=dict)
    # the subdomains of every portal the configuration has keys for (a realm's other sub-portals are reported)
    configured_subdomains: tuple[str, ...] = ()
    # resources that failed this run -> the cause (see `contained`)
    failed: dict[str, str] = field(default_factory=dict)
    # per resource run: API calls it made and rows it wrote to its own table (a failed one: what it yielded)
    # (see `contained`); the progress line and the run summary both show these figures
    resource_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # the run's mass-retirement guard (pipelines/run/mass_retirement.py; the runner sets it): whether a load may
    # retire most users or enrollments, and which resources it stopped
    retirement_guard: Any = None
    # set when the weekly API reserve is reached: the run stops there (what was read still loads)
    stopped: WeeklyBudgetReserved | None = None
    # what one resource hands to another this run: every shared value, named and typed, in run_cache.py
    run_cache: RunCache = field(default_factory=RunCache)
    _client: LearnUponClient | None = None
    _courses: list[dict[str, Any]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def client(self) -> LearnUponClient:
        with self._lock:
            if self._client is None:
                self._client = self.client_factory()
            return self._client

    @property
    def portal_name(self) -> str:
        """The portal every row of this extract belongs to."""
        if not self.portal:
            self.portal = getattr(self.client, "portal", "") or portal_name_for(None, self.client.base_url)
        return self.portal

    @property
    def client_started(self) -> bool:
        return self._client is not None

    @property
    def started_client(self) -> LearnUponClient | None:
        """The run's client if a resource has started it, else None (progress reads its figures without starting one)."""
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def extracts(self, resource: str) -> bool:
        """Whether this run extracts `resource` (a list another resource needs is fetched only if it is paid for anyway)."""
        return not self.resources or resource in self.resources

    def note_audit_events(self, rows: list[dict[str, Any]]) -> None:
        """"User unenrolled" events read by this run join the warehouse's as deletion signals."""
        self.facts.add_unenrolments(rows)

    # ---- failure containment ---------------------------------------------------
    def contained(self, name: str, *, hold: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorate a resource's generator so that its failure does not stop the others.

        All resources extract in one dlt run (one load package: a package per
        resource would cost most of a second each to load). When a resource fails,
        its error is recorded in `failed`, the dlt state it changed is put back (its
        cursors do not move, so the next run retries the same window) and it stops;
        no listing marker was yielded, so nothing is retired on its account. Rows it
        already yielded load: they are correct rows. A resource whose table is an
        SCD2 table read whole (`hold`) yields nothing until it has read everything,
        since a partial listing would retire the rows it did not reach.

        A resource that completes also creates its tables that no run has written yet,
        empty (tables.empty_tables), and reports what it cost and wrote: the API calls
        made while it ran (resources run one after another) and the rows it sent to its
        own table, added up over its runs (exam answers run once per batch; one that
        leaves items in `run_cache.pending` reports done after its last batch).
        """

        def decorate(generator: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(generator)
            def run(*args: Any, **kwargs: Any) -> Any:
                if self.stopped is not None:  # the weekly reserve was reached: no resource calls the API again
                    self.failed[name] = f"not run: {self.stopped}"
                    self.progress.failed(name, self.failed[name])
                    return
                state = dlt.current.source_state()
                before = copy.deepcopy(dict(state))
                calls_before = self.client.stats.calls if self.client_started else 0
                held: list[Any] = []
                written: set[str] = set()
                rows = 0
                batches = ItemBatches()  # pages joined per table: dlt's cost is per item

                def settle(rows_loaded: int) -> dict[str, int]:
                    counts = self.resource_counts.setdefault(name, {"calls": 0, "rows": 0})
                    counts["calls"] += (self.client.stats.calls if self.client_started else 0) - calls_before
                    counts["rows"] += rows_loaded
                    return counts

                try:
                    for item in generator(*args, **kwargs):
                        table = item_table(item, name)
                        written.add(table)
                        if table == name and isinstance(item, pa.Table):
                            rows += item.num_rows
                        if hold:
                            held += batches.add(item, table)
                        else:
                            yield from batches.add(item, table)
                except ConfigError:
                    raise  # refused keys, a bad setting: every other resource would meet it too; the run stops
                except Exception as exc:
                    state.clear()
                    state.update(before)
                    self.failed[name] = describe_error(exc)
                    if isinstance(exc, WeeklyBudgetReserved):
                        self.stopped = exc
                    log.error("resource %s failed and was not loaded: %s", name, self.failed[name])
                    self.progress.failed(name, self.failed[name])
                    settle(0 if hold else rows)  # its calls were spent; rows it already yielded still load
                    if not hold:
                        yield from batches.flush()  # rows read before the failure load, as if yielded at once
                    return
                yield from held
                yield from batches.flush()
                yield from empty_tables(name, written, dlt.current.source_schema(), self.issues)
                counts = settle(rows)
                if not self.run_cache.pending.get(name):
                    self.progress.done(name, **counts)

            return run

        return decorate

    # ---- courses ---------------------------------------------------------------
    def courses(self, refresh_versions: bool = False) -> list[dict[str, Any]]:
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
                self._courses = self._list_courses(refresh_versions)
            return self._courses

    def _list_courses(self, refresh_versions: bool) -> list[dict[str, Any]]:
        client = self._client or self.client_factory()
        self._client = client
        # `name` is a case-insensitive pattern and include_all_versions is documented to work with
        # it, so an empty name asks for every version of every course, wholly archived ones included
        # (the plain listing shows current versions only). A portal that refuses an empty name gets
        # the plain listing, and the family searches below fill in older versions.
        by_id: dict[int, dict[str, Any]] = {}
        # include_licensed_courses: courses licensed into the portal carry enrollments too
        everything = {"name": "", "include_draft": "true", "include_all_versions": "true", "include_licensed_courses": "true"}
        plain = {k: v for k, v in everything.items() if k != "name"}
        every_version_listed = True
        try:
            self._add_courses(client, everything, by_id)
        except LearnUponAPIError as error:
            if error.status not in (400, 404, 422):
                raise
            by_id.clear()
            every_version_listed = False
            self._add_courses(client, plain, by_id)
        else:
            if not by_id:
                # a 200 with nothing is suspect (a narrower reading of `name`): the plain listing decides
                self.issues.add(COURSES, None, "name", "", "the all-versions search by empty name returned no course: plain listing used")
                every_version_listed = False
                self._add_courses(client, plain, by_id)
        # without the all-versions listing, older versions come only from a search by the family's name;
        # the courses resource (daily) searches every such family to refresh them, while a run that only
        # needs the course ids (enrollments, hourly) reuses the ids an earlier search found
        refresh = refresh_versions and not every_version_listed

        state = dlt.current.source_state().setdefault("course_families", {})
        known_old_ids: set[int] = set()
        if not every_version_listed:
            known_old_ids |= self._add_unlisted_families(client, everything, by_id, state)
        families: dict[int, list[dict[str, Any]]] = {}
        for record in by_id.values():
            families.setdefault(_family_id(record), []).append(record)
        for family, versions in families.items():
            newest = max(versions, key=lambda r: int_or_none(r.get("version")) or 0)
            newest_version = int_or_none(newest.get("version")) or 1
            present = {int_or_none(r.get("version")) for r in versions}
            remembered = state.get(str(family))
            if remembered and remembered.get("version") == newest_version and not (refresh and newest_version > 1):
                known_old_ids.update(remembered.get("ids", []))
                continue
            if newest_version > 1 and (len(present) < newest_version or refresh) and newest.get("name"):
                self._search_family(client, everything, by_id, family, newest_version)
            ids = sorted(cid for cid, r in by_id.items() if _family_id(r) == family)
            state[str(family)] = {"version": newest_version, "ids": ids}
        # older versions found in earlier runs but not listed now: keep them in the fan-out
        self.extra_course_ids = sorted(known_old_ids - set(by_id))
        guard_empty_listing(COURSES, len(by_id), dlt.current.source_state())
        return list(by_id.values())

    def _search_family(self, client: LearnUponClient, everything: dict[str, str], by_id: dict[int, dict[str, Any]],
                       family: int, newest_version: int) -> None:
        """Every version of one family, searched by name (include_all_versions "works with name").

        A re-versioned course may be renamed, and `name` is a pattern: the newest title need not match
        an older one. So each title a version of the family is found with is searched once, newest
        first, until versions 1..N are all present; failing that, the root course (its id is the
        family's source_id; a course_id search returns one course, archived too) gives its title.
        """
        def versions() -> list[dict[str, Any]]:
            return [r for r in by_id.values() if _family_id(r) == family]

        searched: set[str] = set()
        root_read = False
        while len({int_or_none(r.get("version")) for r in versions()}) < newest_version:
            found = sorted(versions(), key=lambda r: -(int_or_none(r.get("version")) or 0))
            names = [str(r["name"]) for r in found if r.get("name") and str(r["name"]).lower() not in searched]
            if names:
                searched.add(names[0].lower())
                self._add_courses(client, {**everything, "name": names[0]}, by_id,
                                  keep=lambda r: _family_id(r) == family)
                continue
            if root_read or family in by_id:
                return  # every title searched: what is left is not findable by name
            root_read = True
            try:
                self._add_courses(client, {"course_id": str(family), "include_draft": "true",
                                           "include_licensed_courses": "true"}, by_id,
                                  keep=lambda r: _family_id(r) == family)
            except LearnUponAPIError as error:
                if error.status != 404:
                    raise
                return  # the root was deleted

    def _add_unlisted_families(self, client: LearnUponClient, everything: dict[str, str],
                               by_id: dict[int, dict[str, Any]], state: dict[str, Any]) -> set[int]:
        """Families no listing shows: every version archived, on a portal that lists no archived version without a name.

        Such a course is found only by its title (or id). The course-instructor listing, read once per
        run for its own table anyway, names courses by id and title, wholly archived ones included:
        each course it names that the listing did not show is searched by that title, unless an earlier
        run found its family (then its remembered ids are kept, at no cost). Returns those remembered ids.
        """
        remembered = {int(cid): int(family) for family, entry in state.items() for cid in entry.get("ids", [])}
        kept: set[int] = set()
        searched: set[str] = set()
        for record in self.course_instructor_records(client):
            cid, title = int_or_none(record.get("course_id")), record.get("course_name")
            if cid is None or cid in by_id:
                continue
            if cid in remembered:
                kept.update(state[str(remembered[cid])].get("ids", []))
                continue
            if title and str(title).lower() not in searched:
                searched.add(str(title).lower())
                self._add_courses(client, {**everything, "name": str(title)}, by_id)
        return kept - set(by_id)

    def course_instructor_records(self, client: LearnUponClient | None = None) -> list[dict[str, Any]]:
        """The course-instructor listing, read once per run (its resource and the course search share it).

        `client`: the one the course listing holds (under the context's lock, which `self.client` takes)."""
        listing = next(entry for entry in LISTINGS if entry.resource == COURSE_INSTRUCTORS)
        return self.run_cache.course_instructors.get(
            lambda: [r for page in (client or self.client).paginate(listing.path, record_keys=listing.keys) for r in page.records]
        )

    def _add_courses(self, client: LearnUponClient, params: dict[str, str], by_id: dict[int, dict[str, Any]],
                     keep: Callable[[dict[str, Any]], bool] | None = None) -> None:
        for page in client.paginate(COURSES_PATH, params, record_keys=COURSES_KEYS):
            for record in page.records:
                cid = int_or_none(record.get("id"))
                if cid is None:
                    continue
                if keep is None:
                    by_id[cid] = record
                elif keep(record):
                    by_id.setdefault(cid, record)  # a family's search adds versions, it does not replace them
            self.progress.update(COURSES, pages=1, rows=len(page.records))

    def remembered_course_ids(self) -> list[int]:
        """Older versions found in earlier runs and not listed now (they are not fetched again)."""
        self.courses()
        return list(self.extra_course_ids)

    def enrollable_course_ids(self) -> list[int]:
        ids = []
        for record in self.courses():
            cid = int_or_none(record.get("id"))
            status = str(record.get("published_status_id") or "").lower()
            enrolled = int_or_none(record.get("num_enrolled")) or 0
            if cid is not None and (status in ENROLLABLE_STATUSES or not status or enrolled > 0):
                ids.append(cid)
        return sorted(set(ids) | set(self.extra_course_ids))


SUSPECT_EMPTY_AFTER = 3  # rows a listing had last time, above which an empty answer is refused


def guard_empty_listing(name: str, count: int, state: dict[str, Any]) -> None:
    """Refuse a listing that comes back empty where the last complete one had rows.

    Loading it would retire every row of the table (and, for courses, search no
    enrollments at all) and call that a success. The resource fails instead, with
    this reason, and the next run tries again.
    """
    counts = state.setdefault("listing_counts", {})
    before = int(counts.get(name) or 0)
    if count == 0 and before >= SUSPECT_EMPTY_AFTER:
        raise SuspectListing(f"{name}: the portal listed no records where the last run listed {before}; not loaded")
    counts[name] = count


def _family_id(record: dict[str, Any]) -> int:
    """Versions of one course share source_id (the root course's id); a root may carry none."""
    return int_or_none(record.get("source_id")) or int_or_none(record.get("id")) or 0


__all__ = ["ExtractContext", "NullProgress", "parse_bool"]
