"""Run the `lms-warehouse` command and SIGKILL it at a chosen moment of dlt's load step.

    python -m tests.support.load_killer <moment> <n> -- <lms-warehouse arguments>

Moments (counted over load jobs that finish, any table, any package):
  committed  the n-th job's data is committed in the warehouse, its state not yet recorded
  recorded   the n-th job is recorded as done (dlt's marker is written)
and counted over dlt's load steps (`Pipeline.load`, a pipeline's own run included):
  normalized the n-th load step starts: its package is normalized, nothing of it loaded yet
  loaded     the n-th load step has returned: its package is loaded, nothing after it ran (retirement)
and on a Delta lake, counted over commits the `deltalake` library makes by a merge or a delete:
  delta      the n-th such commit is written (dlt's upserts, and the SCD2 merges, listing
             clean-ups and replaced rows a run applies after dlt's load)
The fault is injected into the libraries (dlt, deltalake), never into the pipeline's own code.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

from dlt.common.destination.client import RunnableLoadJob

_count = 0
_lock = threading.Lock()


def _arm(moment: str, n: int) -> None:
    original = RunnableLoadJob._release

    def release(self: RunnableLoadJob, next_state: str) -> None:
        global _count
        if next_state != "completed":
            return original(self, next_state)
        with _lock:
            _count += 1
            mine = _count
        if moment == "committed" and mine == n:
            os.kill(os.getpid(), signal.SIGKILL)
        original(self, next_state)
        if moment == "recorded" and mine == n:
            os.kill(os.getpid(), signal.SIGKILL)

    RunnableLoadJob._release = release  # type: ignore[method-assign]


def _arm_step(moment: str, n: int) -> None:
    from dlt.pipeline.pipeline import Pipeline

    original = Pipeline.load

    def load(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        global _count
        _count += 1
        if moment == "normalized" and _count == n:
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(self, *args, **kwargs)
        if moment == "loaded" and _count == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    Pipeline.load = load  # type: ignore[method-assign]


def _arm_delta(n: int) -> None:
    from deltalake import DeltaTable
    from deltalake.table import TableMerger

    def killing_after(method: Any) -> Any:
        def commit(*args: Any, **kwargs: Any) -> Any:
            global _count
            result = method(*args, **kwargs)
            with _lock:
                _count += 1
                if _count == n:
                    os.kill(os.getpid(), signal.SIGKILL)
            return result

        return commit

    TableMerger.execute = killing_after(TableMerger.execute)  # type: ignore[method-assign]
    DeltaTable.delete = killing_after(DeltaTable.delete)  # type: ignore[method-assign]


def main() -> int:
    moment, n, separator, *args = sys.argv[1:]
    assert separator == "--" and moment in ("committed", "recorded", "normalized", "loaded", "delta"), sys.argv
    if moment == "delta":
        _arm_delta(int(n))
    elif moment in ("normalized", "loaded"):
        _arm_step(moment, int(n))
    else:
        _arm(moment, int(n))
    from pipelines.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
