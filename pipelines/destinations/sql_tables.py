"""Retirement and the resumed-load repair on the SQL destinations (DuckDB, Parquet's working file,
PostgreSQL): plain SQL through dlt's own SQL client, which speaks every engine's dialect and quoting.

The rules are in pipelines/run/retirement.py and pipelines/run/resumed_load.py; these classes are
what those rules ask of a destination (`Destination.retiring_tables`, `Destination.resumed_tables`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dlt.common.storages.load_package import PackageStorage

from ..learnupon.lifecycle import LISTING_SCOPES, VALID_TO
from ..run.retirement import LOAD_ID

log = logging.getLogger("lms_warehouse.resumed_load")


def _columns(sql: Any, table: str) -> set[str]:
    rows = sql.execute_sql(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
        sql.dataset_name, table,
    )
    return {row[0] for row in rows or []}


class SqlRetiringTables:
    """pipelines.run.retirement.RetiringTables over dlt's SQL client: one UPDATE per rule and table."""

    param = "%s"

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    @contextmanager
    def of(cls, pipeline: Any) -> Iterator[SqlRetiringTables]:
        with pipeline.sql_client() as client:
            yield cls(client)

    def tables(self) -> set[str]:
        rows = self.client.execute_sql(
            "select table_name from information_schema.tables where table_schema = %s", self.client.dataset_name
        )
        return {r[0] for r in rows or []}

    def columns(self, table: str) -> set[str]:
        return _columns(self.client, table)

    def qualified(self, table: str) -> str:
        return self.client.make_qualified_table_name(table)

    def rows(self, sql: str, *args: Any) -> list[tuple]:
        return list(self.client.execute_sql(sql, *args) or [])

    def retire(self, table: str, where: str, args: list[Any], valid_to: str, valid_to_args: list[Any]) -> int:
        target = self.qualified(table)
        counted = self.rows(f"select count(*) from {target} where {where}", *args)
        stale = int(counted[0][0]) if counted else 0
        if stale:
            self.client.execute_sql(f"update {target} set {VALID_TO} = {valid_to} where {where}", *valid_to_args, *args)
        return stale

    def mark_applied(self, applied: dict[tuple[str, str], Any]) -> None:
        markers = self.qualified(LISTING_SCOPES)
        for (table, load_id), when in applied.items():
            self.client.execute_sql(
                f"update {markers} set applied_at = %s where table_name = %s and {LOAD_ID} = %s and applied_at is null",
                when, table, load_id,
            )


class SqlResumedTables:
    """pipelines.run.resumed_load.ResumedTables on a SQL destination: each table rebuilt for the package."""

    followup_formats = ("sql", "reference")  # jobs dlt creates after a table's copies (merge SQL, staging references)

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    def rebuild(self, info: Any, tables: set[str]) -> None:
        """The staging copy emptied (merge, SCD2), the package's rows deleted, and every copy job queued again."""
        with self.pipeline.destination_client(info.schema_name) as client:  # opens (and closes) its SQL connection
            sql = client.sql_client
            for table in sorted(tables):
                if client.should_load_data_to_staging_dataset(table):
                    with sql.with_staging_dataset():
                        if _columns(sql, table):
                            sql.execute_sql(f"delete from {sql.make_qualified_table_name(table)}")
                self._forget_rows_of(sql, table, info.load_id)
        # every copy job of those tables loads again: the finished ones back to new_jobs (a done-marker
        # left by the kill would describe the old attempt, so it goes)
        for job in info.jobs.get("completed_jobs", []):
            parsed = job.job_file_info
            if parsed.table_name in tables and parsed.file_format not in self.followup_formats:
                source = Path(job.file_path)
                package = source.parent.parent
                (package / PackageStorage.PENDING_TRANSITIONS_FOLDER / source.name).unlink(missing_ok=True)
                os.replace(source, package / PackageStorage.NEW_JOBS_FOLDER / source.name)

    @staticmethod
    def _forget_rows_of(sql: Any, table: str, load_id: str) -> None:
        columns = _columns(sql, table)
        if LOAD_ID in columns:
            sql.execute_sql(f"delete from {sql.make_qualified_table_name(table)} where {LOAD_ID} = %s", load_id)
        elif columns:
            log.warning("table %s has no %s column: rows of a resumed load cannot be told apart", table, LOAD_ID)
