"""Make a load package that a killed run left half-loaded load exactly once when it resumes.

dlt commits a load job's rows in the warehouse and only then records the job as done
(a marker in the package folder). A process killed between the two leaves the job
"started": the resumed load runs it again, and its rows land twice. Into a merge or
SCD2 table's staging copy that means duplicate versions (dlt's SCD2 insert and a merge
declared `deduplicated` copy staging as it is); into an append or replace table,
duplicate rows.

So before a package resumes, every table with such a job is rebuilt for this package: the
rows this package already wrote are deleted (`_dlt_load_id`), and what else the engine needs
so the table then receives exactly what a clean load gives. That part is the destination's
`ResumedTables` (`Destination.resumed_tables`): on a SQL destination the staging copy is
emptied and every copy job of the table is queued again (merge SQL jobs run in one
transaction and are idempotent, so dlt may re-run them as they are); on Delta, whose one
commit per table is the job that runs again, the rows are deleted in one Delta commit.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from dlt.common.storages.load_package import PackageStorage

log = logging.getLogger("lms_warehouse.resumed_load")


class ResumedTables(Protocol):
    """One destination's part of the repair."""

    # formats of the jobs that do not write a table's rows themselves (run after its copies)
    followup_formats: tuple[str, ...]

    def rebuild(self, info: Any, tables: set[str]) -> None:
        """Make each table receive exactly what a clean load of package `info` gives."""


def prepare_resumed_packages(pipeline: Any, target: ResumedTables) -> dict[str, list[str]]:
    """Rebuild every table a pending package may have written twice; returns load id -> tables rebuilt."""
    rebuilt: dict[str, list[str]] = {}
    for load_id in pipeline.list_normalized_load_packages():
        info = pipeline.get_load_package_info(load_id)
        tables = {
            job.job_file_info.table_name
            for job in unrecorded_started_jobs(info)
            if job.job_file_info.file_format not in target.followup_formats
        }
        if not tables:
            continue
        target.rebuild(info, tables)
        rebuilt[load_id] = sorted(tables)
        log.warning("load %s resumes after an interruption: rebuilt %s so no row lands twice", load_id, ", ".join(sorted(tables)))
    return rebuilt


def unrecorded_started_jobs(info: Any) -> list[Any]:
    """A package's started jobs that dlt will run again: those without the marker dlt writes once
    the destination committed a job (a "pending transition": resumed, such a job is only recorded,
    so its rows stay)."""
    started = info.jobs.get("started_jobs", [])
    if not started:
        return []
    package = Path(started[0].file_path).parent.parent
    recorded = set(_listing(package / PackageStorage.PENDING_TRANSITIONS_FOLDER))
    return [job for job in started if Path(job.file_path).name not in recorded]


def _listing(folder: Path) -> list[str]:
    return [entry.name for entry in folder.iterdir()] if folder.is_dir() else []
