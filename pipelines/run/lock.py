"""One run at a time per warehouse: an exclusive lock on the output folder, taken before the first API call.

The lock is `flock` on `<out>/.lms-warehouse.lock`: the kernel releases it when its
process ends, however it ends, so the lock of a killed run is simply taken over. The
file also says who holds it (pid, since when, command), for the message a second run
prints. CLI runs and Dagster runs take the same lock (both go through
`pipelines.run.runner.run_extract`). Between machines the guard is Dagster's run queue and
pools (dagster_home/dagster.yaml): a lock on a shared folder is not trusted.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..learnupon.errors import LearnUponError

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


# DuckDB's message when another process holds the file: 'Could not set lock on file "<path>": Conflicting lock ...'
_LOCKED = re.compile(r'Could not set lock on file "([^"]+)"')
_HELD_BY = re.compile(r"Conflicting lock is held in (.*?\(PID \d+\))")


BEFORE_CALLS = "this run made no API call"
READ_IS_KEPT = "what this run read is kept and loads with the next run"
COMMITTED_IS_KEPT = "everything already committed is kept"


def ensure_duckdb_writable(path: Path, *, consequence: str = BEFORE_CALLS) -> None:
    """Fail if another process (a BI tool, a `duckdb` shell) holds the warehouse file.

    DuckDB lets one process open a file for writing, and a reader opened without the read-only
    snapshot blocks every write. Checked before the first API call (and before `models`, `report`,
    `erase`); during a run, opening the file for its write steps is the check (Destination.held_open),
    so a program that opens the file while the API is read stops the run at its load with exit 75,
    its extract kept as a pending load.
    """
    if not Path(path).exists():
        return
    con = connect_writable(path, consequence=consequence)
    if con is not None:
        con.close()


def connect_writable(path: Path, *, consequence: str = BEFORE_CALLS) -> Any:
    """A connection to the DuckDB file `path` (see ensure_duckdb_writable), or None when this process holds the
    file open itself with other settings (DuckDB refuses a second in-process connection with other settings;
    then nobody else can hold it); WarehouseBusy when another process holds it."""
    import duckdb

    try:
        return duckdb.connect(str(path))
    except duckdb.Error as exc:
        if isinstance(exc, duckdb.ConnectionException) and "different configuration" in str(exc):
            return None
        busy = busy_warehouse(exc, consequence)
        if busy is None:
            from .failures import warehouse_unreadable

            raise warehouse_unreadable(Path(path), exc) from None
        raise busy from None


def busy_warehouse(exc: BaseException, consequence: str = COMMITTED_IS_KEPT) -> WarehouseBusy | None:
    """The WarehouseBusy a DuckDB lock conflict stands for (found anywhere in dlt's or dbt's wrappers), else None."""
    seen: BaseException | None = exc
    for _ in range(12):
        if seen is None or (isinstance(seen, LearnUponError) and not isinstance(seen, WarehouseBusy)):
            return None
        if isinstance(seen, WarehouseBusy):
            return seen
        match = _LOCKED.search(str(seen))
        if match:
            held_by = _HELD_BY.search(str(seen))
            return WarehouseBusy(
                f"the warehouse file {match.group(1)} is open in another process"
                f" ({held_by.group(1) if held_by else 'DuckDB does not say which'}); {consequence}."
                " Close that program; readers and BI tools should open snapshot.duckdb (README, Reliability)"
            )
        seen = getattr(seen, "exception", None) or seen.__cause__ or seen.__context__
    return None
