"""Failures that say what to do: each names its cause and the next step in one line.

`diagnose` turns a raw error (an OSError deep in dlt, a DuckDB error) into one of these;
`check_reachable` fails fast, before any resource runs, when the portal's host cannot be
reached. `recoverable` says whether "nothing was lost, the next run picks up" is true:
it is not for a failure that will repeat on every run until someone acts.

These are the run's failures (the machine, the warehouse, the network), so they live beside the
runner; the source's own errors (API answers, settings, listings) are in learnupon/errors.py.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..learnupon.errors import LearnUponError

CONNECT_TIMEOUT = 10.0  # seconds to wait for the portal's host to accept a connection


class ActionNeeded(LearnUponError):
    """A failure every later run repeats until someone acts; the message says what to do."""


class DiskFull(ActionNeeded):
    pass


class WarehouseUnreadable(ActionNeeded):
    pass


class StateUnreadable(ActionNeeded):
    pass


class HostUnreachable(LearnUponError):
    """Raised before any resource runs: nothing was lost (perhaps a passing network problem)."""


def recoverable(exc: BaseException) -> bool:
    return not isinstance(exc, ActionNeeded)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 12:
        seen.append(current)
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    return seen


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def _mb(size: float) -> str:
    return f"{size / 2**20:,.0f} MB"


def disk_full(out_dir: Path, path: str | None = None) -> DiskFull:
    """Where the disk is full, what is free, and about how much a run there needs."""
    out_dir = Path(out_dir)
    free = shutil.disk_usage(out_dir if out_dir.exists() else Path.cwd()).free
    pending = _size(out_dir / ".dlt")
    warehouse = _size(out_dir / "warehouse.duckdb")
    # a load writes its packages, then the warehouse grows by about as much again (plus DuckDB's WAL)
    needed = max(2 * pending + warehouse // 10, 64 * 2**20)
    where = f" writing {path}" if path else ""
    return DiskFull(
        f"the disk under {out_dir.resolve()} is full{where} ({_mb(free)} free): free at least {_mb(needed)} there"
        f" (pending load data {_mb(pending)}, warehouse {_mb(warehouse)}) and run again; nothing committed was lost"
    )


def diagnose(exc: BaseException, out_dir: Path) -> LearnUponError | None:
    """The failure a raw error stands for, with its next step; None if it is not one of these."""
    from dlt.common.configuration.exceptions import ConfigProviderException

    from .lock import busy_warehouse

    busy = busy_warehouse(exc)  # another process opened the DuckDB file after this command's own check
    if busy is not None:
        return busy
    for cause in _chain(exc):
        if isinstance(cause, LearnUponError):
            return None
        if isinstance(cause, ConfigProviderException):  # a malformed .dlt/secrets.toml or config.toml
            from ..config import unreadable_settings

            return unreadable_settings(None, cause)
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return disk_full(out_dir, cause.filename)
        text = str(cause)
        if "No space left on device" in text or "could not write all bytes" in text.lower():
            return disk_full(out_dir)
    return None


def warehouse_unreadable(path: Path, error: BaseException) -> WarehouseUnreadable:
    detail = str(error).replace("\n", " ")[:200]
    return WarehouseUnreadable(
        f"the warehouse file {path} cannot be opened ({detail}). Move it aside (mv {path} {path}.broken) and run"
        " again: the next run notices the missing warehouse and reloads everything from the portal"
    )


def state_unreadable(folder: Path, error: BaseException) -> StateUnreadable:
    detail = f"{type(error).__name__}: {error}".replace("\n", " ")[:200]
    return StateUnreadable(
        f"the pipeline's working folder {folder} is unreadable ({detail}). Remove it (rm -rf {folder}) and run"
        " again: the state is restored from the warehouse, or everything reloads"
    )


def _proxied(scheme: str) -> bool:
    return any(os.environ.get(name) for name in (f"{scheme.upper()}_PROXY", f"{scheme}_proxy", "ALL_PROXY", "all_proxy"))


def check_reachable(base_url: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Open (and close) one TCP connection to the portal's host: refused and unknown hosts fail at once,
    a silent one after `timeout` seconds. No HTTP request, so no API call. Skipped behind a proxy."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not host or _proxied(parts.scheme):
        return
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except socket.gaierror as exc:
        reason = f"the name does not resolve ({exc.strerror})"
    except ConnectionRefusedError:
        reason = "the connection was refused"
    except (socket.timeout, TimeoutError):
        reason = f"no answer within {timeout:.0f} s"
    except OSError as exc:
        reason = exc.strerror or str(exc)
    else:
        return
    raise HostUnreachable(
        f"cannot reach the portal at {host}:{port}: {reason}. Check LEARNUPON_SUBDOMAIN / LEARNUPON_BASE_URL"
        " and this machine's network or proxy settings; no API call was made"
    )
