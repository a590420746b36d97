"""After a load into Delta: the steps dlt's Delta merge cannot do (strategy.py says which tables).

1. SCD2 history: each listing a load appended to `<table>__scd2_listing` is merged into
   `<table>` in ONE Delta commit (its source only the versions that changed, found by DuckDB first;
   no commit when none did), as dlt's SCD2 does on SQL destinations: a version (row version
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
ACTION = "_lake_merge_action"  # on the merge's source only: whether a row is a new version or retires one
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
            _merge_version(lake, spec, con, load_id)
            listing.delete(f"{LOAD_ID} = '{load_id}'")
    log.info("merged SCD2 listings of %s into its history: loads %s", spec["table"], ", ".join(loads))


def _merge_version(lake: DeltaLake, spec: dict[str, Any], con: Any, load_id: str) -> None:
    """One load's listing into the history, in one Delta commit (none when nothing changed).

    What changed is found by DuckDB over the two tables: the listed versions with no current row, and the
    current versions (within the merge-key values listed) the listing lacks. Only those are the MERGE's
    source, so the merge holds the changes, not the whole listing (a million-enrollment portal's 740,000
    custom-data rows): the step's peak fell from about 1.46 to 1.15-1.26 GiB (docs/benchmarks.md, "Delta's
    load loop")."""
    from dlt.common.libs.deltalake import ensure_delta_compatible_arrow_data, evolve_delta_table_schema

    boundary = load_time(load_id)
    version = spec["row_version"]
    history = lake.open(spec["table"])
    if history is None:  # a version listed twice (a record seen on two pages) is one version
        listed = f"select distinct on ({version}) * from listing where {LOAD_ID} = $load"
        rows = _with_validity(con.sql(listed, params={"load": load_id}).to_arrow_table(), boundary)
        lake.write(spec["table"], rows, mode="append")
        return
    con.register("history", arrow_dataset(history))
    # the versions with no current row first, then one row of each: DISTINCT ON over the whole listing held
    # every listed row in DuckDB's memory (500 MiB of a 740,000-row listing)
    new = con.sql(
        f"select distinct on (l.{version}) l.* from listing l where l.{LOAD_ID} = $load and not exists"
        f" (select 1 from history h where h.{version} = l.{version} and h.{VALID_TO} is null)",
        params={"load": load_id},
    ).to_arrow_table()
    keys = spec.get("merge_key") or []
    scope = (  # only within the merge-key values the listing holds
        f" and exists (select 1 from listing s where s.{LOAD_ID} = $load"
        + "".join(f" and s.{key} = h.{key}" for key in keys) + ")"
    ) if keys else ""
    gone = con.sql(
        f"select {version} from history h where h.{VALID_TO} is null{scope}"
        f" and not exists (select 1 from listing l where l.{LOAD_ID} = $load and l.{version} = h.{version})",
        params={"load": load_id},
    ).to_arrow_table()
    con.unregister("history")
    if not len(new) and not len(gone):
        return
    rows = _with_validity(new, boundary)
    # new columns first, so the merge leaves the versions it does not touch exactly as they were
    evolve_delta_table_schema(history, rows.schema)
    source = pa.concat_tables(
        [rows.append_column(ACTION, pa.array(["insert"] * len(rows), pa.string())),
         gone.append_column(ACTION, pa.array(["retire"] * len(gone), pa.string()))],
        promote_options="default",  # a retired version's row is its version alone
    )
    (
        history.merge(
            source=ensure_delta_compatible_arrow_data(source),
            predicate=f"target.{version} = source.{version} AND target.{VALID_TO} IS NULL AND source.{ACTION} = 'retire'",
            source_alias="source",
            target_alias="target",
        )
        .when_matched_update(updates={VALID_TO: _timestamp_literal(boundary)})
        .when_not_matched_insert_all(predicate=f"source.{ACTION} = 'insert'", except_cols=[ACTION])
        .execute()
    )


def _with_validity(rows: pa.Table, boundary: datetime) -> pa.Table:
    """New versions as SCD2 keeps them: valid from the load's time, open."""
    rows = rows.drop_columns([c for c in (VALID_FROM, VALID_TO) if c in rows.column_names])
    rows = rows.append_column(VALID_FROM, pa.array([boundary] * len(rows), TIMESTAMP))
    return rows.append_column(VALID_TO, pa.nulls(len(rows), TIMESTAMP))


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
