"""One run at a time per warehouse: an exclusive lock on the output folder, taken before the first API call.

The lock is `flock` on `<out>/.lms-warehouse.lock`: the kernel releases it when its
process ends, however it ends, so the lock of a killed run is simply taken over. The
file also says who holds it (pid, since when, command), for the message a second run
prints. CLI runs and Dagster runs take the same lock (both go through
`pipelines.runner.run_extract`). Between machines the guard is Dagster's run queue and
pools (dagster_home/dagster.yaml): a lock on a shared folder is not trusted.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .learnupon.errors import LearnUponError

LOCK_FILE = ".lms-warehouse.lock"


class WarehouseBusy(LearnUponError):
    """Another process is writing this warehouse; this run stopped before any API call."""


def holder(out_dir: Path) -> dict[str, Any]:
    """What the lock file says about the process that holds (or last held) the lock."""
    try:
        return json.loads((Path(out_dir) / LOCK_FILE).read_text() or "{}")
    except (OSError, ValueError):
        return {}


def describe_holder(info: dict[str, Any]) -> str:
    if not info:
        return "another process"
    return f"pid {info.get('pid')} since {info.get('since')} ({info.get('command')})"


@contextmanager
def run_lock(out_dir: Path, command: str | None = None) -> Iterator[None]:
    """Hold the warehouse's run lock for the block; raise WarehouseBusy at once if another process holds it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_FILE
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WarehouseBusy(
                f"another run is writing {out_dir} ({describe_holder(holder(out_dir))}); this run made no API call."
                " Wait for it to finish, or stop it"
            ) from None
        info = {
            "pid": os.getpid(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:300],
        }
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(info))
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


def ensure_duckdb_writable(path: Path) -> None:
    """Fail before extracting if another process (a BI tool, a `duckdb` shell) holds the warehouse file.

    DuckDB lets one process open a file for writing, and a reader opened without the
    read-only snapshot blocks the load; finding that out after the extract would waste its calls.
    """
    if not Path(path).exists():
        return
    import duckdb

    try:
        duckdb.connect(str(path)).close()
    except duckdb.Error as exc:
        text = str(exc).replace("\n", " ")
        if not isinstance(exc, duckdb.IOException) or "lock" not in text.lower():
            from .failures import warehouse_unreadable

            raise warehouse_unreadable(Path(path), exc) from None
        raise WarehouseBusy(
            f"the warehouse file {path} is open in another process ({text[:300]}); this run made no API call."
            " Close that program; readers and BI tools should open the snapshot (README, Reliability) instead"
        ) from None
