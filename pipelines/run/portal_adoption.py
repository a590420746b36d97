"""Rows written before every raw table had a `portal` column (a warehouse of one portal) get their portal.

The next run of that portal adds the column to each raw table that lacks it and fills it for the old rows,
with the portal in SCD2 row hashes as new rows carry it (tables.with_portal), so that the merge and SCD2
keys (portal first, pipelines/learnupon/tables.py) find the old rows as that portal's: nothing is loaded
twice, no version is retired for its new hash. It happens after a pending load of the old layout has
loaded, before anything reads the warehouse for the extract, in one transaction. dlt's staging copies of
the merge tables get the column too (they hold no rows a load keeps).

Old rows carry no hint of their portal, so only a run of one portal adopts them; a run of several portals
over such a warehouse stops before any API call, saying which command adopts them.
"""

from __future__ import annotations

import logging
from typing import Any

from ..learnupon.errors import ConfigError
from ..learnupon.tables import PORTAL, ROW_HASH, TABLES, portal_row_hash
from .records import RUN_RECORD_TABLES

log = logging.getLogger("lms_warehouse.portal_adoption")

RUNS_TABLE = "pipeline_runs"
# every table the pipeline writes in its dataset: the raw tables, the run's records, the runs themselves
ADOPTED_TABLES: tuple[str, ...] = (*TABLES, *RUN_RECORD_TABLES, RUNS_TABLE)


def unlabelled_tables(client: Any) -> list[str]:
    """The pipeline's tables in the warehouse that have no portal column yet."""
    rows = client.execute_sql(
        "select table_name, column_name from information_schema.columns where table_schema = %s",
        client.dataset_name,
    )
    columns: dict[str, set[str]] = {}
    for table, column in rows or []:
        columns.setdefault(table, set()).add(column)
    return [table for table in ADOPTED_TABLES if table in columns and PORTAL not in columns[table]]


def adopt_rows_without_portal(pipeline: Any, portal: str, alone: bool) -> dict[str, int]:
    """Give `portal` every row that has none (see the module's docstring); rows adopted per table."""
    try:
        client_context = pipeline.sql_client()
        client = client_context.__enter__()
    except Exception as exc:  # a first run: no dataset yet
        log.debug("no warehouse to adopt rows in: %s", exc)
        return {}
    try:
        with client.with_staging_dataset():
            staged = unlabelled_tables(client)
            for table in staged:  # dlt's merge copies, emptied by every load: the column only (dlt would add it NOT NULL)
                client.execute_sql(f"alter table {client.make_qualified_table_name(table)} add column {PORTAL} varchar")
        tables = unlabelled_tables(client)
        if not tables:
            return {}
        if not alone:
            raise ConfigError(
                f"the warehouse holds rows from before portals were recorded ({', '.join(tables[:3])}...):"
                " run once with only the portal they came from (--portals NAME), which adopts them"
            )
        adopted: dict[str, int] = {}
        with client.begin_transaction():
            for table in tables:
                name = client.make_qualified_table_name(table)
                client.execute_sql(f"alter table {name} add column {PORTAL} varchar")
                columns = {c for t, c in client.execute_sql(
                    "select table_name, column_name from information_schema.columns"
                    " where table_schema = %s and table_name = %s", client.dataset_name, table,
                ) or []}
                assignments = f"{PORTAL} = %s"
                args: list[Any] = [portal]
                if ROW_HASH in columns:  # SCD2's row version carries the portal (tables.with_portal)
                    assignments += f", {ROW_HASH} = {portal_row_hash('%s', ROW_HASH)}"
                    args.append(portal)
                client.execute_sql(f"update {name} set {assignments} where {PORTAL} is null", *args)
                counted = client.execute_sql(f"select count(*) from {name} where {PORTAL} = %s", portal)
                adopted[table] = int(counted[0][0]) if counted else 0
        log.warning(
            "%s rows in %s tables, written before portals were recorded, now belong to portal %s",
            sum(adopted.values()), len(adopted), portal,
        )
        return adopted
    finally:
        client_context.__exit__(None, None, None)
