"""Retirement on Delta: the rules of pipelines/run/retirement.py (as lifecycle.py declares them), on Delta tables.

Which rows to retire is decided in SQL by DuckDB over the lake's tables, with the same
conditions as on a SQL warehouse; the retirement itself is one Delta MERGE per table and rule,
on the rows' identity (primary key; the row version in an SCD2 history), touching only rows
still current. So, as on DuckDB, every step is idempotent and a run killed half-way is
finished by the next one (markers are marked applied only after their rows are retired).
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb
import pyarrow as pa

from ...learnupon.lifecycle import LIFECYCLES, LISTING_SCOPES, VALID_TO
from ...run.retirement import owner_order
from .history import LOAD_ID, TIMESTAMP
from .lake import DeltaLake, duckdb_connection
from .strategy import HISTORY_HINT, LISTING_SUFFIX

log = logging.getLogger("lms_warehouse.delta")


def retire_vanished_rows(pipeline: Any, lake: DeltaLake) -> dict[str, int]:
    """Apply every pending retirement; returns rows retired per table (only tables that changed)."""
    retired: dict[str, int] = {}
    identities = _identities(pipeline)
    con = duckdb_connection()
    try:
        tables = set(lake.register(con))
        if LISTING_SCOPES in tables:
            _apply_listing_markers(con, lake, tables, identities, retired)
        _apply_owners(con, lake, tables, identities, retired)
    finally:
        con.close()
    if retired:
        log.info("retired rows that vanished upstream: %s", retired)
    return retired


def _identities(pipeline: Any) -> dict[str, list[str]]:
    """Columns that single out a current row: the primary key, or an SCD2 history's row version."""
    found: dict[str, list[str]] = {}
    schema = pipeline.default_schema if pipeline.default_schema_name else None
    for name, table in (schema.tables.items() if schema else ()):
        if spec := table.get(HISTORY_HINT):
            found[spec["table"]] = [spec["row_version"]]
        elif not name.endswith(LISTING_SUFFIX):
            keys = [c for c, col in table.get("columns", {}).items() if col.get("primary_key")]
            if keys:
                found[name] = keys
    return found


def _q(dataset: str, table: str) -> str:
    return f'"{dataset}"."{table}"'


def _retire(
    con: duckdb.DuckDBPyConnection, lake: DeltaLake, table: str, identity: list[str], stale_sql: str, args: list[Any]
) -> int:
    """Set `_dlt_valid_to` on the current rows `stale_sql` selects (identity columns + the new `_dlt_valid_to`)."""
    rows = con.sql(stale_sql, params=args).to_arrow_table()
    if not len(rows):
        return 0
    rows = rows.set_column(rows.schema.get_field_index(VALID_TO), VALID_TO, rows.column(VALID_TO).cast(TIMESTAMP))
    dt = lake.open(table)
    on = " AND ".join(f"target.{c} = source.{c}" for c in identity)
    metrics = (
        dt.merge(source=rows, predicate=f"{on} AND target.{VALID_TO} IS NULL", source_alias="source", target_alias="target")
        .when_matched_update(updates={VALID_TO: f"source.{VALID_TO}"})
        .execute()
    )
    lake.register(con, [table])  # the next rule reads the table as it is now
    return int(metrics.get("num_target_rows_updated", 0))


def _add(retired: dict[str, int], table: str, count: int) -> None:
    if count:
        retired[table] = retired.get(table, 0) + count


def _apply_listing_markers(
    con: duckdb.DuckDBPyConnection, lake: DeltaLake, tables: set[str], identities: dict[str, list[str]], retired: dict[str, int]
) -> None:
    ds = lake.dataset
    markers = _q(ds, LISTING_SCOPES)
    columns = {r[0] for r in con.execute(f"describe {markers}").fetchall()}
    not_keep = "keep is not true" if "keep" in columns else "true"
    pending = con.execute(
        f"select table_name, scope_column, {LOAD_ID}, min(noticed_at) from {markers}"
        f" where applied_at is null and {not_keep} group by 1, 2, 3 order by 3"
    ).fetchall()
    for table, scope_column, load_id, noticed_at in pending:
        if LIFECYCLES.get(table) is not None and table in tables and table in identities:
            where = f"{VALID_TO} is null and {LOAD_ID} < ?"
            args: list[Any] = [load_id]
            if scope_column:
                where += (
                    f" and cast({scope_column} as varchar) in (select scope_value from {markers}"
                    f" where table_name = ? and {LOAD_ID} = ? and {not_keep})"
                )
                args += [table, load_id]
            elif "keep" in columns:
                for (column,) in con.execute(
                    f"select distinct scope_column from {markers} where table_name = ? and {LOAD_ID} = ? and keep",
                    [table, load_id],
                ).fetchall():
                    where += (
                        f" and cast({column} as varchar) not in (select scope_value from {markers}"
                        f" where table_name = ? and {LOAD_ID} = ? and keep and scope_column = ?)"
                    )
                    args += [table, load_id, column]
            identity = identities[table]
            stale = (
                f"select {', '.join(identity)}, ?::timestamptz as {VALID_TO} from {_q(ds, table)} where {where}"
            )
            _add(retired, table, _retire(con, lake, table, identity, stale, [noticed_at, *args]))
    if pending:  # every marker applied, in one commit
        when: dict[tuple[str, str], Any] = {}
        for table, _, load_id, noticed_at in pending:  # one source row per target group: a merge needs it
            when[(table, load_id)] = min(noticed_at, when.get((table, load_id), noticed_at))
        applied = pa.table(
            {
                "table_name": [k[0] for k in when],
                LOAD_ID: [k[1] for k in when],
                "applied_at": pa.array(list(when.values()), TIMESTAMP),
            }
        )
        (
            lake.open(LISTING_SCOPES)
            .merge(
                source=applied,
                predicate=f"target.table_name = source.table_name AND target.{LOAD_ID} = source.{LOAD_ID} AND target.applied_at IS NULL",
                source_alias="source",
                target_alias="target",
            )
            .when_matched_update(updates={"applied_at": "source.applied_at"})
            .execute()
        )
        lake.register(con, [LISTING_SCOPES])


def _apply_owners(
    con: duckdb.DuckDBPyConnection, lake: DeltaLake, tables: set[str], identities: dict[str, list[str]], retired: dict[str, int]
) -> None:
    ds = lake.dataset
    # owners first: a user retires exam enrollments, which then retire their answers
    for lifecycle in owner_order():
        if lifecycle.table not in tables or lifecycle.table not in identities:
            continue
        identity = identities[lifecycle.table]
        for owner in lifecycle.owners:
            if owner.table not in tables:
                continue
            # retired everywhere: rows exist for the id, none of them current
            stale = (
                f"with gone as (select {owner.table_column} as id, max({VALID_TO}) as noticed from {_q(ds, owner.table)}"
                f" group by 1 having count(*) = count({VALID_TO}))"
                f" select {', '.join('t.' + c for c in identity)}, gone.noticed as {VALID_TO}"
                f" from {_q(ds, lifecycle.table)} t join gone on gone.id = t.{owner.column} where t.{VALID_TO} is null"
            )
            _add(retired, lifecycle.table, _retire(con, lake, lifecycle.table, identity, stale, []))

