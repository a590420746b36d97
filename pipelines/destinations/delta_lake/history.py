"""After a load into Delta: the steps dlt's Delta merge cannot do (strategy.py says which tables).

1. SCD2 history: each listing a load appended to `<table>__scd2_listing` is merged into
   `<table>` in ONE Delta commit, as dlt's SCD2 does on SQL destinations: a version (row version
   column) that is current and missing from the listing gets `_dlt_valid_to` = the load's time
   (only within the merge-key values the listing holds, when the resource declares a merge key);
   a listed version with no current row is inserted with `_dlt_valid_from` = the load's time and
   `_dlt_valid_to` null. Then that load's listing rows are deleted. A run killed between the two
   commits is finished by the next: the merge is idempotent (a second pass finds every listed
   version current and nothing else current to retire), and listings are applied oldest first.
2. Replaced merge-key values: for a table whose resource declares delete-insert by a merge key
   (leaderboard snapshots by day), rows of a merge-key value that the newest load writing that
   value did not write are deleted, as delete-insert would have. Idempotent as well.

Both run after every load and at the start of every run, so a kill anywhere leaves nothing behind.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from typing import Any

import pyarrow as pa

from ...learnupon.lifecycle import VALID_TO
from .lake import DeltaLake, arrow_dataset, duckdb_connection
from .strategy import HISTORY_HINT, REPLACE_BY_HINT

log = logging.getLogger("lms_warehouse.delta")

LOAD_ID = "_dlt_load_id"
VALID_FROM = "_dlt_valid_from"
TIMESTAMP = pa.timestamp("us", tz="UTC")


def finish_history(pipeline: Any, lake: DeltaLake) -> None:
    """Apply every pending SCD2 listing and replaced merge-key value (tables as the pipeline's schema declares them)."""
    tables = pipeline.default_schema.tables if pipeline.default_schema_name else {}
    for name, table in tables.items():
        if spec := table.get(HISTORY_HINT):
            merge_listings(lake, name, spec)
        if keys := table.get(REPLACE_BY_HINT):
            drop_replaced_rows(lake, name, list(keys))


def load_time(load_id: str) -> datetime:
    """dlt's load ids are the package's creation time: SCD2's boundary, as dlt's own SCD2 uses."""
    return datetime.fromtimestamp(float(load_id), tz=timezone.utc)


def merge_listings(lake: DeltaLake, listing_table: str, spec: dict[str, Any]) -> None:
    listing = lake.open(listing_table)
    if listing is None:
        return
    with duckdb_connection() as con:
        con.register("listing", arrow_dataset(listing))
        loads = [r[0] for r in con.execute(f"select distinct {LOAD_ID} from listing order by 1").fetchall()]
        for load_id in loads:
            # a version listed twice (a record seen on two pages) is one version
            rows = con.sql(
                f"select distinct on ({spec['row_version']}) * from listing where {LOAD_ID} = ?", params=[load_id]
            ).to_arrow_table()
            _merge_version(lake, spec, rows, load_id)
            listing.delete(f"{LOAD_ID} = '{load_id}'")
    log.info("merged SCD2 listings of %s into its history: loads %s", spec["table"], ", ".join(loads))


def _merge_version(lake: DeltaLake, spec: dict[str, Any], rows: pa.Table, load_id: str) -> None:
    from dlt.common.libs.deltalake import ensure_delta_compatible_arrow_data, evolve_delta_table_schema

    boundary = load_time(load_id)
    for column in (VALID_FROM, VALID_TO):
        if column in rows.column_names:
            rows = rows.drop_columns([column])
    rows = rows.append_column(VALID_FROM, pa.array([boundary] * len(rows), TIMESTAMP))
    rows = rows.append_column(VALID_TO, pa.nulls(len(rows), TIMESTAMP))
    history = lake.open(spec["table"])
    if history is None:
        lake.write(spec["table"], rows, mode="append")
        return
    # new columns first, so the merge leaves the versions it does not touch exactly as they were
    evolve_delta_table_schema(history, rows.schema)
    version = spec["row_version"]
    retire = f"target.{VALID_TO} IS NULL"
    scope = _in_scope(rows, spec.get("merge_key") or [])
    if scope:
        retire += f" AND ({scope})"
    (
        history.merge(
            source=ensure_delta_compatible_arrow_data(rows),
            predicate=f"target.{version} = source.{version} AND target.{VALID_TO} IS NULL",
            source_alias="source",
            target_alias="target",
        )
        .when_not_matched_insert_all()
        .when_not_matched_by_source_update(updates={VALID_TO: _timestamp_literal(boundary)}, predicate=retire)
        .execute()
    )


def _in_scope(rows: pa.Table, keys: list[str]) -> str:
    """`target.<key> IN (values listed)` for the merge key: Delta predicates take no subquery."""
    if not keys:
        return ""
    combos = sorted({tuple(r[k] for k in keys) for r in rows.select(keys).to_pylist()}, key=repr)
    if len(keys) == 1:
        return f"target.{keys[0]} IN ({', '.join(sql_literal(c[0]) for c in combos)})"
    return " OR ".join(
        "(" + " AND ".join(f"target.{k} = {sql_literal(v)}" for k, v in zip(keys, combo)) + ")" for combo in combos
    )


def sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        return _timestamp_literal(value)
    if isinstance(value, date):
        return f"'{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _timestamp_literal(value: datetime) -> str:
    return "'" + value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ") + "'"


def drop_replaced_rows(lake: DeltaLake, table: str, keys: list[str]) -> int:
    """Delete rows of each merge-key value that an older load wrote and its newest load did not."""
    dt = lake.open(table)
    if dt is None:
        return 0
    columns = ", ".join(keys)
    with duckdb_connection() as con:
        con.register("t", arrow_dataset(dt))
        stale = con.execute(
            f"select {columns}, max({LOAD_ID}) as newest from t group by all having min({LOAD_ID}) < max({LOAD_ID})"
        ).fetchall()
    deleted = 0
    for *values, newest in stale:
        where = " AND ".join(f"{k} = {sql_literal(v)}" for k, v in zip(keys, values))
        deleted += int(dt.delete(f"{where} AND {LOAD_ID} < {sql_literal(newest)}").get("num_deleted_rows", 0))
    if deleted:
        log.info("%s: %s rows replaced by a newer load of the same %s deleted", table, deleted, columns)
    return deleted
