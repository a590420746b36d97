"""Course and learning-path enrollments: one search per course / path, incremental by `date_from` (merge on id).

The cursor is the portal's clock, not the data: each run keeps in its dlt state
the portal time (HTTP `Date`) at which its searches started, and the next run
searches from that moment less the look-back, as a date (`date_from` is
day-granular and its time zone undocumented). A record without `updated_at`
(the reference's learning-path enrollment table does not list it) loads like
any other; nothing depends on it. The state commits only with a successful
load of the resource, so a failed run searches the same window again.

Deletions upstream are found by the signals in deletions.py; a scope read
completely (a user's enrollments, a course's, everything on a reconciliation)
is marked so that its rows not seen again are retired after the load.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from .. import tables
from ..context import ExtractContext
from ..deletions import courses_short_of_enrollments, courses_to_read_whole, fits_one_page
from ..fanout import fan_out
from ..records import int_or_none, parse_timestamp
from ..settings import ENROLLMENTS_KEYS, ENROLLMENTS_SEARCH_PATH, LP_ENROLLMENTS_KEYS, LP_ENROLLMENTS_SEARCH_PATH
from .catalog import learning_path_ids, learning_path_records, remember_learning_paths
from .common import listing_complete, reconciliation_due

log = logging.getLogger("lms_warehouse.enrollments")


def incremental_search_resource(
    context: ExtractContext,
    name: str,
    path: str,
    keys: tuple[str, ...],
    id_param: str,
    ids: Callable[[], list[int]],
    signals: Callable[[dict[str, Any], bool, set[int]], tuple[set[int], set[int]]],
    loaded_counts: Callable[[], dict[int, int]],
    expected_sizes: Callable[[], dict[int, int]] = dict,
) -> DltResource:
    """A search that needs one id per call (course, learning path) and filters on updated_at by day.

    `expected_sizes`: records per id as the portal states them (a course's `num_enrolled`), else the
    rows loaded (`loaded_counts`) tell which searches are long.

    `signals(state, reconcile, read_whole_anyway)` gives (ids to search without date_from, user ids
    to search whole); `read_whole_anyway` are the ids searched whole in any case (one page each).
    """
    lookback = timedelta(days=context.options.enrollment_lookback_days)

    # A record belongs to the one course (or path) it is searched by, the client's paging keeps each id
    # once per search, and records a user's search already gave are dropped from the course searches:
    # the load holds no duplicate keys, so dlt skips its own ROW_NUMBER pass over the staged rows, which
    # on a first load of a million enrollments costs seconds and memory.
    @dlt.resource(**tables.hints(name))  # merge by delete-insert, "deduplicated"
    @context.contained(name)
    def search_all() -> Iterator[pa.Table]:
        state = dlt.current.resource_state()
        client = context.client
        portal_now = client.server_now()
        cursor = _cursor(state, context, name, portal_now)
        # a full read (no date_from); the first run reads everything and marks itself complete below
        reconcile = cursor is not None and reconciliation_due(state, context.options, portal_now)
        all_ids = ids()
        if cursor is None:
            # a first load reads everything: deletion signals older than it are already reflected
            whole_ids, users = set(), set()
            state["signals_through"] = portal_now.isoformat()
        else:
            # one page either way: those are read whole, which sees every deletion at no extra call
            small = set() if reconcile else fits_one_page(all_ids, loaded_counts(), client.page_size)
            whole_ids, users = signals(state, reconcile, small)
            whole_ids |= small
        params: dict[str, Any] = {}
        if not reconcile:
            if cursor is not None:
                params["date_from"] = (cursor - lookback).date().isoformat()
            elif context.options.initial_date:
                params["date_from"] = context.options.initial_date

        from_users: set[str] = set()  # ids a user's search gave: written once, from there
        found_parents: set[int] = set()  # courses / paths a user's search named

        # records per id as the portal states them (a course's num_enrolled), else as loaded
        size = {**loaded_counts(), **expected_sizes()}

        def search(item: tuple[str, int]) -> Iterator[pa.Table]:
            param, item_id = item
            whole = param != id_param or item_id in whole_ids or not params  # no date_from
            query = {param: item_id} if whole else {param: item_id, **params}
            # a course's whole search holds about its num_enrolled: those pages are asked for together (within
            # the calls in flight the client allows), not one after another; a date_from search's size is unknown
            expected = size.get(item_id, 0) if whole and param == id_param else 0
            ahead = context.options.workers if expected else 1
            for page in client.paginate(path, query, record_keys=keys, ahead=ahead, expected_records=expected):  # each id once per search
                context.progress.update(name, pages=1, rows=len(page.records))
                records = page.records
                if param == "user_id":
                    from_users.update(str(r.get("id")) for r in records)
                    found_parents.update(p for r in records if (p := int_or_none(r.get(id_param))) is not None)
                elif from_users:
                    records = [r for r in records if str(r.get("id")) not in from_users]
                if records:
                    yield tables.to_table(name, records, context.issues)

        # twice as many threads as calls in flight (the client caps those at `workers`): while some threads
        # turn a page into Arrow, the others keep `workers` calls outstanding, so the portal is never idle.
        # Users first (a handful, usually none), so the course searches can leave out what they gave.
        threads = 2 * context.options.workers
        work = [("user_id", u) for u in sorted(users)]
        yield from fan_out(work, search, threads)
        # the longest searches first (a search's pages come one after another): a long one started last
        # would page on alone at the end, with the other threads idle
        largest_first = sorted(all_ids, key=lambda i: -(size.get(i) or 0))
        yield from fan_out([(id_param, i) for i in largest_first], search, threads)
        # every search answered: mark what was read whole, so rows it did not return are retired
        if reconcile or (cursor is None and not params):
            yield listing_complete(context, name, scope_column=None)
            state["reconciled_at"] = portal_now.isoformat()
        else:
            if whole_ids:
                yield listing_complete(context, name, whole_ids, scope_column=id_param_column(id_param))
            if users:
                yield listing_complete(context, name, users, scope_column="user_id")
        if id_param == "lp_id" and found_parents - set(all_ids):
            remember_learning_paths(found_parents)  # archived paths found by user: searched from now on
        state["searched_from"] = portal_now.isoformat()

    return search_all


def id_param_column(param: str) -> str:
    """The table column a search parameter selects on."""
    return {"course_id": "course_id", "lp_id": "lp_id"}[param]


def _cursor(state: dict[str, Any], context: ExtractContext, name: str, portal_now: datetime) -> datetime | None:
    """Where the last successful search started (portal clock); clamped, and reported, if ahead of the portal."""
    raw = state.get("searched_from")
    if raw is None:
        # a warehouse made before the clock cursor: dlt's incremental kept the newest updated_at
        legacy = (state.get("incremental") or {}).get("updated_at") or {}
        raw = legacy.get("last_value")
    if raw is None:
        return None
    try:
        cursor = parse_timestamp(raw) if isinstance(raw, str) else raw
    except (TypeError, ValueError):
        context.issues.add(name, None, "searched_from", str(raw), "unreadable cursor in dlt state: full search")
        return None
    if cursor.tzinfo is None:
        cursor = cursor.replace(tzinfo=timezone.utc)
    if cursor > portal_now:
        context.issues.add(
            name, None, "searched_from", cursor.isoformat(),
            f"cursor ahead of the portal clock ({portal_now.isoformat()}): clamped to it",
        )
        log.warning("%s: cursor %s is ahead of the portal clock %s; clamped", name, cursor, portal_now)
        cursor = portal_now
    return cursor


def enrollments_resource(context: ExtractContext) -> DltResource:
    def signals(state: dict[str, Any], reconcile: bool, read_whole_anyway: set[int]) -> tuple[set[int], set[int]]:
        if reconcile:
            return set(), set()
        courses = context.courses()
        # names whose every course is read whole anyway: their unenrolments need no user search
        covered: dict[str, bool] = {}
        for course in courses:
            name = str(course.get("name") or "").strip().lower()
            covered[name] = covered.get(name, True) and int_or_none(course.get("id")) in read_whole_anyway
        users: set[int] = set()
        explained: dict[str, int] = {}
        if context.facts.unenrolments:  # the path listing tells course names from path names: only then
            path_names = {str(p.get("name") or "").strip().lower() for p in learning_path_records(context)}
            events = _unenrolments(state, context, names=None, exclude=path_names)
            short = courses_short_of_enrollments(courses, context.facts)
            for e in events:
                name = str(e.impacted_data or "").strip().lower()
                # an unenrolment that deleted nothing (a completed enrollment stays, flagged) needs no re-read;
                # a name no course carries (renamed since) is re-read to be sure
                if short.get(name, 1) > 0 and not covered.get(name, False):
                    users.add(e.user_id)
                    explained[name] = explained.get(name, 0) + 1
        last_whole = state.setdefault("counters_read_whole", {})
        whole = courses_to_read_whole(courses, context.facts, last_whole, explained)
        for course in courses:  # remember each counter a whole read explained (put back if the run fails)
            cid = int_or_none(course.get("id"))
            if cid in whole:
                last_whole[str(cid)] = int_or_none(course.get("num_enrolled"))
        return whole, users

    return incremental_search_resource(
        context,
        "enrollments",
        ENROLLMENTS_SEARCH_PATH,
        ENROLLMENTS_KEYS,
        "course_id",
        context.enrollable_course_ids,
        signals,
        lambda: context.facts.enrollments_by_course,
        lambda: {cid: int_or_none(c.get("num_enrolled")) or 0 for c in context.courses() if (cid := int_or_none(c.get("id"))) is not None},
    )


def learning_path_enrollments_resource(context: ExtractContext) -> DltResource:
    def signals(state: dict[str, Any], reconcile: bool, read_whole_anyway: set[int]) -> tuple[set[int], set[int]]:
        users: set[int] = set()
        if not reconcile:
            paths = learning_path_records(context)
            covered = {str(p.get("name") or "").strip().lower() for p in paths if int_or_none(p.get("id")) in read_whole_anyway}
            path_names = {str(p.get("name") or "").strip().lower() for p in paths} - covered
            users = {e.user_id for e in _unenrolments(state, context, names=path_names)}
        return set(), users | backfill_users(state, context)

    return incremental_search_resource(
        context,
        "learning_path_enrollments",
        LP_ENROLLMENTS_SEARCH_PATH,
        LP_ENROLLMENTS_KEYS,
        "lp_id",
        lambda: learning_path_ids(context),
        signals,
        lambda: context.facts.lp_enrollments_by_path,
    )


def _unenrolments(state: dict[str, Any], context: ExtractContext, names: set[str] | None, exclude: set[str] | None = None) -> list[Any]:
    """"User unenrolled" events since the signals were last read (then read up to the newest)."""
    through = state.get("signals_through")
    moment = parse_timestamp(through) if through else None
    events = context.facts.unenrolled_since(moment, names, exclude)
    if events:
        state["signals_through"] = max(e.at for e in events).isoformat()
    return events


def backfill_users(state: dict[str, Any], context: ExtractContext) -> set[int]:
    """The next batch of the learning-path backfill: users searched by user_id (resumable by user id).

    Paths archived before the first run are hidden from the listing, so their
    enrollments are found only by searching each user; the paths they name join
    the paths searched on every run.
    """
    if not context.options.lp_backfill:
        return set()
    after = int(state.get("backfill_after_user", -1))
    batch = [u for u in context.facts.user_ids if u > after][: context.options.lp_backfill_batch]
    if batch:
        state["backfill_after_user"] = batch[-1]
    else:
        state["backfill_done"] = True
    return set(batch)
