"""Course and learning-path enrollments: one search per course / path, incremental on updated_at (merge on id).

`date_from` is day-granular and its time zone is undocumented, so each run
re-reads from (newest updated_at loaded - look-back) as a date; dlt's
incremental keeps those re-read rows (`lag`) and the merge makes them no-ops.
The first run has no cursor and loads the full history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from .. import schema
from ..arrow import batched, to_arrow
from ..context import ExtractContext, _safe_int
from ..fanout import fan_out
from ..records import parse_timestamp
from ..settings import ENROLLMENTS_KEYS, ENROLLMENTS_SEARCH_PATH, LP_ENROLLMENTS_KEYS, LP_ENROLLMENTS_SEARCH_PATH
from .catalog import learning_path_records


def incremental_search_resource(
    context: ExtractContext,
    name: str,
    path: str,
    keys: tuple[str, ...],
    id_param: str,
    ids: Callable[[], list[int]],
    columns: dict[str, str],
) -> DltResource:
    """A search that needs one id per call (course, learning path) and filters on updated_at by day."""
    lookback = timedelta(days=context.options.enrollment_lookback_days)

    # A record belongs to the one course (or path) it is searched by, and the client's paging keeps
    # each id once per search, so the load holds no duplicate keys: dlt then skips its own ROW_NUMBER
    # pass over the staged rows, which on a first load of a million enrollments costs seconds and memory.
    @dlt.resource(
        name=name,
        write_disposition={"disposition": "merge", "strategy": "delete-insert", "deduplicated": True},
        primary_key="id",
    )
    def search_all(
        updated_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            "updated_at",
            initial_value=None,
            # keep re-read rows inside the look-back window (plus the day date_from truncates)
            lag=(lookback + timedelta(days=1)).total_seconds(),
        ),
    ) -> Iterator[pa.Table]:
        params: dict[str, Any] = {}
        if updated_at.last_value is not None:
            params["date_from"] = date_from(updated_at.last_value, lookback)
        elif context.options.initial_date:
            params["date_from"] = context.options.initial_date
        client = context.client

        def search(item_id: int) -> Iterator[pa.Table]:
            query = {id_param: item_id, **params}
            for page in client.paginate(path, query, record_keys=keys):  # each id once per search
                context.progress.update(name, pages=1, rows=len(page.records))
                if page.records:
                    yield to_arrow(page.records, columns, table=name, key=["id"], issues=context.issues)

        # twice as many threads as calls in flight (the client caps those at `workers`): while some threads
        # turn a page into Arrow, the others keep `workers` calls outstanding, so the portal is never idle
        yield from batched(fan_out(ids(), search, 2 * context.options.workers))
        context.progress.done(name)

    return search_all


def enrollments_resource(context: ExtractContext) -> DltResource:
    return incremental_search_resource(
        context,
        "enrollments",
        ENROLLMENTS_SEARCH_PATH,
        ENROLLMENTS_KEYS,
        "course_id",
        context.enrollable_course_ids,
        schema.ENROLLMENTS,
    )


def learning_path_enrollments_resource(context: ExtractContext) -> DltResource:
    def path_ids() -> list[int]:
        return sorted({i for p in learning_path_records(context) if (i := _safe_int(p.get("id"))) is not None})

    return incremental_search_resource(
        context,
        "learning_path_enrollments",
        LP_ENROLLMENTS_SEARCH_PATH,
        LP_ENROLLMENTS_KEYS,
        "lp_id",
        path_ids,
        schema.LEARNING_PATH_ENROLLMENTS,
    )


def date_from(last_value: Any, lookback: timedelta) -> str:
    """The YYYY-MM-DD to search from: the cursor's UTC date, less the look-back."""
    if isinstance(last_value, str):
        last_value = parse_timestamp(last_value)
    if last_value.tzinfo is None:
        last_value = last_value.replace(tzinfo=timezone.utc)
    return (last_value.astimezone(timezone.utc) - lookback).date().isoformat()

