"""Run the `lms-warehouse` command and SIGKILL it at a chosen moment of dlt's load step.

    python -m tests.load_killer <moment> <n> -- <lms-warehouse arguments>

Moments (counted over load jobs that finish, any table, any package):
  committed  the n-th job's data is committed in the warehouse, its state not yet recorded
  recorded   the n-th job is recorded as done (dlt's marker is written)
The fault is injected into dlt (the library), never into the pipeline's own code.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

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


def main() -> int:
    moment, n, separator, *args = sys.argv[1:]
    assert separator == "--" and moment in ("committed", "recorded"), sys.argv
    _arm(moment, int(n))
    from pipelines.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
