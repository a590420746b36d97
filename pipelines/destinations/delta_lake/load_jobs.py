"""dlt's filesystem destination as the lake loads it: every table's Delta write queued at once, one written at a time.

dlt writes a Delta table in two jobs: the table's Parquet files are first a job that is finished as
soon as it is made and only asks for a follow-up, then one follow-up job writes them all to the
table. A job finished that way never wakes dlt's load loop, which waits its whole second before it
looks again (dlt's `Load` polls each second between wake-ups). With one job at a time (the
"sequential" strategy, chosen so that one table's Delta write is in memory at a time) every table
cost that second: 40 s of sleep in the 42 s load of a 120-user portal.

So dlt schedules the tables side by side ("table-sequential": the first jobs of every table are
seen done after one wait), and the follow-up jobs take turns on a lock: one Delta write or merge
is in memory at a time, as before (at a million enrollments the peak is unchanged within the
spread of runs: docs/benchmarks.md, "Delta's load loop"). A stop signal drains the jobs already
started, as dlt does for any destination that loads in parallel; a killed load is resumed by the
next run either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..dlt_factory import SettledCapabilities
from dlt.destinations import filesystem
from dlt.destinations.impl.filesystem.filesystem import DeltaLoadFilesystemJob, FilesystemClient

PARALLELISM = "table-sequential"  # with the turns below: every table queued at once, one written at a time


class WriteTurns:
    """One Delta write at a time in this process (a realm's portals loading side by side take turns too),
    counted (the tests read it: every Delta table of a load was written here)."""

    def __init__(self) -> None:
        self._turn = threading.Lock()
        self.writes = 0

    def take(self, write: Callable[[], None]) -> None:
        with self._turn:
            self.writes += 1
            write()


TURNS = WriteTurns()


class TurnTakingDeltaJob(DeltaLoadFilesystemJob):
    """dlt's Delta write of one table, after the write before it has finished."""

    def run(self) -> None:
        TURNS.take(super().run)


class LakeClient(FilesystemClient):
    """dlt's filesystem client whose Delta writes take turns."""

    @staticmethod
    def get_reference_followup_job_class(table: Any) -> Any:
        job = FilesystemClient.get_reference_followup_job_class(table)
        return TurnTakingDeltaJob if job is DeltaLoadFilesystemJob else job


class lake_filesystem(SettledCapabilities, filesystem):  # noqa: N801 - dlt's destination factories are lower case
    """dlt's filesystem destination with LakeClient; to dlt (its state, config sections, traces) still `filesystem`."""

    @property
    def client_class(self) -> Any:
        return LakeClient
