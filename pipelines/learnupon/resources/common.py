"""Helpers the resource modules share."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import orjson

from ..records import parse_timestamp
from ..tables import TABLES, child_hints, to_table

__all__ = ["calls_to", "child_table", "json_text", "listing_complete", "reconciliation_due", "row_hash"]


def reconciliation_due(state: dict[str, Any], options: Any, portal_now: datetime) -> bool:
    """Whether this run reconciles: every `options.reconcile_every_days` (0: never), or when asked (`reconcile`).

    `state` keeps `reconciled_at` (portal clock), which the caller sets once its reconciliation has read
    everything; on a warehouse made before reconciliation the count starts now.
    """
    if options.reconcile:
        return True
    every = options.reconcile_every_days
    if not every:
        return False
    last = state.get("reconciled_at")
    if last is None:
        state["reconciled_at"] = portal_now.isoformat()
        return False
    try:
        return portal_now - parse_timestamp(last) >= timedelta(days=every)
    except (TypeError, ValueError):
        return True


def calls_to(context: Any, *endpoints: str) -> int:
    """Calls made so far in this run to these endpoints (resources run one at a time: a difference is one resource's)."""
    return sum(stats.calls for name, stats in context.client.stats.endpoints.items() if name in endpoints)


def row_hash(record: dict[str, Any]) -> str:
    """A stable hash of a record's content: what SCD2 compares to see a change."""
    return hashlib.blake2b(orjson.dumps(record, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


def json_text(value: Any) -> str | None:
    """Strings as they are; numbers, lists and objects as JSON text."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def child_table(table: Any, name: str) -> Any:
    """Send an Arrow table to another table than the resource's own, with the hints declared for it
    (tables.TABLES: each states its key, or it would inherit the resource's primary key,
    which it may not even have as a column)."""
    import dlt

    return dlt.mark.with_hints(table, dlt.mark.make_hints(**child_hints(name)), create_table_variant=True)


def listing_complete(
    context: Any, table: str, scope_values: Any = None, scope_column: str | None = None, keep: tuple[str, Any] | None = None
) -> Any:
    """The marker that says `table` was listed completely in this load (per scope value if it has a scope).

    It travels in the same load package as the rows, so after the load the rows of
    that scope the listing did not write again are retired (pipelines/run/retirement.py).
    Yield it only once the listing has really been read to its end. `keep` = (column,
    values): rows the listing deliberately did not read again that stay current.
    """
    from datetime import datetime, timezone

    from ..lifecycle import LISTING_SCOPES

    scope = scope_column or TABLES[table].scope
    noticed = datetime.now(timezone.utc)
    values = [None] if scope is None else sorted({str(v) for v in scope_values or () if v is not None})
    rows = [
        {"table_name": table, "scope_column": scope, "scope_value": value, "run_id": context.run_id, "noticed_at": noticed}
        for value in values
    ]
    if keep is not None:  # rows known to exist that this load did not read again (remembered, not re-fetched)
        column, kept = keep
        rows += [
            {"table_name": table, "scope_column": column, "scope_value": str(v), "run_id": context.run_id,
             "noticed_at": noticed, "keep": True}
            for v in sorted({str(v) for v in kept})
        ]
    marker = to_table(LISTING_SCOPES, rows, context.issues)
    return child_table(marker, LISTING_SCOPES)
