"""The resumed-load repair on Delta (the rule: pipelines/run/resumed_load.py).

dlt writes each table of a package to Delta in one commit (a "reference" job over all its
files), then records the job as done; a kill between the two leaves the job started and dlt
runs it again. An upsert would give the same rows twice over, but an append (the run records,
listing markers, SCD2 listings) would write them twice. So the rows this package already wrote
to such a table are deleted first (`_dlt_load_id`), in one Delta commit; the job then writes
them once. A started job whose commit dlt already marked (a pending transition) is not run
again, so its rows stay (clearing them lost a whole table, found by the kill tests).
"""

from __future__ import annotations

from typing import Any

from .history import LOAD_ID
from .lake import DeltaLake


class DeltaResumedTables:
    """pipelines.run.resumed_load.ResumedTables on the lake."""

    followup_formats: tuple[str, ...] = ()  # the "reference" job is the table's one commit: it runs again

    def __init__(self, lake: DeltaLake) -> None:
        self.lake = lake

    def rebuild(self, info: Any, tables: set[str]) -> None:
        for table in sorted(tables):
            dt = self.lake.open(table)
            if dt is not None and LOAD_ID in dt.schema().to_arrow().names:
                dt.delete(f"{LOAD_ID} = '{info.load_id}'")
