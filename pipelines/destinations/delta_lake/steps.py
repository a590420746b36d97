"""What a run does on a Delta warehouse besides dlt's load, in the order the runner calls it."""

from __future__ import annotations

import logging
from typing import Any

from ...malloc import release_free_memory
from ...run.resumed_load import unrecorded_started_jobs
from .history import LOAD_ID, finish_history
from .lake import DeltaLake
from .retirement import retire_vanished_rows

log = logging.getLogger("lms_warehouse.delta")


def finish_loads(pipeline: Any, lake: DeltaLake) -> dict[str, int]:
    """After a load (and before a run extracts): SCD2 histories and replaced rows first, then retirement.

    Returns rows retired per table. Every step is idempotent, so calling it again after a kill is safe.
    """
    release_free_memory()  # what dlt's Delta writes and merges freed, before the merges here
    finish_history(pipeline, lake)
    release_free_memory()
    return retire_vanished_rows(pipeline, lake)


def prepare_resumed_packages(pipeline: Any, lake: DeltaLake) -> dict[str, list[str]]:
    """Make a package that a killed run left half-loaded load exactly once when it resumes.

    dlt writes each table of a package to Delta in one commit (a "reference" job over all its
    files), then records the job as done; a kill between the two leaves the job started and dlt
    runs it again. An upsert would give the same rows twice over, but an append (the run records,
    listing markers, SCD2 listings) would write them twice. So the rows this package already wrote
    to such a table are deleted first (`_dlt_load_id`), in one Delta commit; the job then writes
    them once. A started job whose commit dlt already marked (a pending transition) is not run
    again, so its rows stay (clearing them lost a whole table, found by the kill tests).
    Returns load id -> tables cleared.
    """
    cleared: dict[str, list[str]] = {}
    for load_id in pipeline.list_normalized_load_packages():
        info = pipeline.get_load_package_info(load_id)
        tables = sorted({job.job_file_info.table_name for job in unrecorded_started_jobs(info)})
        for table in tables:
            dt = lake.open(table)
            if dt is not None and LOAD_ID in dt.schema().to_arrow().names:
                dt.delete(f"{LOAD_ID} = '{load_id}'")
        if tables:
            cleared[load_id] = tables
            log.warning("load %s resumes after an interruption: cleared its rows from %s", load_id, ", ".join(tables))
    return cleared
