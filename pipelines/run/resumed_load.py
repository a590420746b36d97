"""Make a load package that a killed run left half-loaded load exactly once when it resumes.

dlt commits a load job's rows in the warehouse and only then records the job as done
(a marker in the package folder). A process killed between the two leaves the job
"started": the resumed load runs it again, and its rows land twice. Into a merge or
SCD2 table's staging copy that means duplicate versions (dlt's SCD2 insert and a merge
declared `deduplicated` copy staging as it is); into an append or replace table,
duplicate rows.

So before a package resumes, every table with such a job is rebuilt for this package:
its staging copy is emptied (merge, SCD2) or the rows this package already wrote are
deleted (`_dlt_load_id`, on every table), and all its jobs are queued again. The rebuilt
table then receives exactly what a clean load gives. Merge SQL jobs (the step from
staging into the table) run in one transaction and are idempotent, so dlt may re-run
them as it is.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from dlt.common.storages.load_package import PackageStorage

log = logging.getLogger("lms_warehouse.resumed_load")

LOAD_ID = "_dlt_load_id"
FOLLOWUP_FORMATS = ("sql", "reference")  # jobs dlt creates after a table's copies (merge SQL, staging references)


def prepare_resumed_packages(pipeline: Any) -> dict[str, list[str]]:
    """Rebuild every table a pending package may have written twice; returns load id -> tables rebuilt."""
    rebuilt: dict[str, list[str]] = {}
    for load_id in pipeline.list_normalized_load_packages():
        info = pipeline.get_load_package_info(load_id)
        tables = _tables_to_rebuild(info)
        if not tables:
            continue
        _rebuild(pipeline, info, tables)
        rebuilt[load_id] = sorted(tables)
        log.warning("load %s resumes after an interruption: rebuilt %s so no row lands twice", load_id, ", ".join(sorted(tables)))
    return rebuilt


def unrecorded_started_jobs(info: Any) -> list[Any]:
    """A package's started jobs that dlt will run again: those without the marker dlt writes once
    the destination committed a job (a "pending transition": resumed, such a job is only recorded)."""
    started = info.jobs.get("started_jobs", [])
    if not started:
        return []
    package = Path(started[0].file_path).parent.parent
    recorded = set(_listing(package / PackageStorage.PENDING_TRANSITIONS_FOLDER))
    return [job for job in started if Path(job.file_path).name not in recorded]


def _tables_to_rebuild(info: Any) -> set[str]:
    """Tables with a copy job that started and may have committed without being recorded as done."""
    return {
        job.job_file_info.table_name
        for job in unrecorded_started_jobs(info)
        if job.job_file_info.file_format not in FOLLOWUP_FORMATS
    }


def _listing(folder: Path) -> list[str]:
    return [entry.name for entry in folder.iterdir()] if folder.is_dir() else []


def _rebuild(pipeline: Any, info: Any, tables: set[str]) -> None:
    with pipeline.destination_client(info.schema_name) as client:  # opens (and closes) its SQL connection
        sql = client.sql_client
        for table in sorted(tables):
            if client.should_load_data_to_staging_dataset(table):
                with sql.with_staging_dataset():
                    _empty(sql, table)
            _forget_rows_of(sql, table, info.load_id)
    # every copy job of those tables loads again: the finished ones back to new_jobs (a done-marker
    # left by the kill would describe the old attempt, so it goes)
    for job in info.jobs.get("completed_jobs", []):
        parsed = job.job_file_info
        if parsed.table_name in tables and parsed.file_format not in FOLLOWUP_FORMATS:
            source = Path(job.file_path)
            package = source.parent.parent
            (package / PackageStorage.PENDING_TRANSITIONS_FOLDER / source.name).unlink(missing_ok=True)
            os.replace(source, package / PackageStorage.NEW_JOBS_FOLDER / source.name)


def _exists(sql: Any, table: str) -> set[str]:
    rows = sql.execute_sql(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
        sql.dataset_name,
        table,
    )
    return {row[0] for row in rows or []}


def _empty(sql: Any, table: str) -> None:
    if _exists(sql, table):
        sql.execute_sql(f"delete from {sql.make_qualified_table_name(table)}")


def _forget_rows_of(sql: Any, table: str, load_id: str) -> None:
    columns = _exists(sql, table)
    if LOAD_ID in columns:
        sql.execute_sql(f"delete from {sql.make_qualified_table_name(table)} where {LOAD_ID} = %s", load_id)
    elif columns:
        log.warning("table %s has no %s column: rows of a resumed load cannot be told apart", table, LOAD_ID)
