"""Retirement on Delta: the rules of pipelines/run/retirement.py applied to the lake's tables.

Which rows to retire is decided by the rules' SQL, run by DuckDB over the lake's tables; the
retirement itself is one Delta MERGE per table and rule, on the rows' identity (primary key; the
row version in an SCD2 history), touching only rows still current. Markers are marked applied in
one commit after their rows are retired, so, as on DuckDB, a run killed half-way is finished by
the next one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from ...learnupon.lifecycle import LISTING_SCOPES, VALID_TO
from .history import LOAD_ID, TIMESTAMP
from .lake import DeltaLake, duckdb_connection
from .strategy import HISTORY_HINT, LISTING_SUFFIX


def identities(pipeline: Any) -> dict[str, list[str]]:
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


class DeltaRetiringTables:
    """pipelines.run.retirement.RetiringTables over the lake: DuckDB views to select, Delta MERGEs to retire."""

    param = "?"

    def __init__(self, con: duckdb.DuckDBPyConnection, lake: DeltaLake, identities: dict[str, list[str]]) -> None:
        self.con = con
        self.lake = lake
        self.identities = identities

    @classmethod
    @contextmanager
    def of(cls, pipeline: Any, lake: DeltaLake) -> Iterator[DeltaRetiringTables]:
        con = duckdb_connection()
        try:
            yield cls(con, lake, identities(pipeline))
        finally:
            con.close()

    def tables(self) -> set[str]:
        return set(self.lake.register(self.con))

    def columns(self, table: str) -> set[str]:
        return {r[0] for r in self.con.execute(f"describe {self.qualified(table)}").fetchall()}

    def qualified(self, table: str) -> str:
        return f'"{self.lake.dataset}"."{table}"'

    def rows(self, sql: str, *args: Any) -> list[tuple]:
        return self.con.execute(sql, list(args)).fetchall()

    def retire(self, table: str, where: str, args: list[Any], valid_to: str, valid_to_args: list[Any]) -> int:
        identity = self.identities.get(table)
        if not identity:  # no key to merge on (not a table the pipeline's schema knows)
            return 0
        stale = (
            f"select {', '.join(identity)}, cast({valid_to} as timestamptz) as {VALID_TO}"
            f" from {self.qualified(table)} where {where}"
        )
        rows = self.con.sql(stale, params=[*valid_to_args, *args]).to_arrow_table()
        if not len(rows):
            return 0
        rows = rows.set_column(rows.schema.get_field_index(VALID_TO), VALID_TO, rows.column(VALID_TO).cast(TIMESTAMP))
        on = " AND ".join(f"target.{c} = source.{c}" for c in identity)
        metrics = (
            self.lake.open(table)
            .merge(source=rows, predicate=f"{on} AND target.{VALID_TO} IS NULL", source_alias="source", target_alias="target")
            .when_matched_update(updates={VALID_TO: f"source.{VALID_TO}"})
            .execute()
        )
        self.lake.register(self.con, [table])  # the next rule reads the table as it is now
        return int(metrics.get("num_target_rows_updated", 0))

    def mark_applied(self, applied: dict[tuple[str, str], Any]) -> None:
        """Every marker in one commit (one source row per table and load: a merge needs it)."""
        source = pa.table(
            {
                "table_name": [table for table, _ in applied],
                LOAD_ID: [load_id for _, load_id in applied],
                "applied_at": pa.array(list(applied.values()), TIMESTAMP),
            }
        )
        (
            self.lake.open(LISTING_SCOPES)
            .merge(
                source=source,
                predicate=f"target.table_name = source.table_name AND target.{LOAD_ID} = source.{LOAD_ID} AND target.applied_at IS NULL",
                source_alias="source",
                target_alias="target",
            )
            .when_matched_update(updates={"applied_at": "source.applied_at"})
            .execute()
        )
        self.lake.register(self.con, [LISTING_SCOPES])
