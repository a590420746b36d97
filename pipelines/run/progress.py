"""Progress of a run: a live line on a terminal, plain log lines otherwise.

While a resource runs: the pages and records it has read so far; once it is done: the API
calls it made and the rows it wrote to its table, the figures the run summary and
`pipeline_runs` record for it (ExtractContext.resource_counts); for the whole run, API calls
and the rate-limit headroom the portal last reported.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime, timezone
from collections.abc import Callable
from typing import Any, TextIO


class Progress:
    def __init__(
        self, stream: TextIO | None = None, client: Callable[[], Any] | None = None, interval: float | None = None,
        label: str = "",
    ):
        self.stream = stream or sys.stderr
        self.label = label  # the portal, when several report at once (each line starts with it)
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.interval = interval if interval is not None else (0.5 if self.tty else 15.0)
        self._client = client  # returns the run's client once it exists, else None
        self._counts: dict[str, list[int]] = {}
        self._done: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()

    # ---- the resources call these -------------------------------------------------
    def update(self, resource: str, *, pages: int = 0, rows: int = 0) -> None:
        with self._lock:
            counts = self._counts.setdefault(resource, [0, 0])
            counts[0] += pages
            counts[1] += rows

    def done(self, resource: str, *, calls: int = 0, rows: int = 0) -> None:
        """The resource finished: `calls` it made in all, `rows` it wrote to its table in all."""
        with self._lock:
            if resource in self._done:
                return
            self._done.add(resource)
        self._emit(f"{resource}: done, {calls:,} calls, {rows:,} rows", final=True)

    def failed(self, resource: str, cause: str) -> None:
        with self._lock:
            self._done.add(resource)
        self._emit(f"{resource}: FAILED, not loaded ({cause})", final=True)

    def step(self, text: str) -> None:
        """A step of the run as a whole begins (normalize, load, retire)."""
        self._emit(text, final=True)

    # ---- rendering ----------------------------------------------------------------
    def _api(self) -> str:
        client = self._client() if self._client else None
        if client is None:
            return ""
        snap = client.limiter.snapshot
        parts = [f"calls {client.stats.calls:,}"]
        if snap.remaining_minute is not None:
            parts.append(f"left this minute {snap.remaining_minute:,}")
        if snap.remaining_week is not None:
            parts.append(f"left this week {snap.remaining_week:,}")
        if client.stats.http_429:
            parts.append(f"429s {client.stats.http_429}")
        return " | ".join(parts)

    def _line(self) -> str:
        with self._lock:
            active = [
                f"{name} {pages:,}p/{rows:,}r" for name, (pages, rows) in self._counts.items() if name not in self._done
            ]
        elapsed = time.monotonic() - self._started
        return f"[{elapsed:6.1f}s] " + (", ".join(active) or "working") + (f" | {self._api()}" if self._api() else "")

    def _emit(self, text: str, final: bool = False) -> None:
        if self.label:
            text = f"{self.label}: {text}"
        if self.tty:
            self.stream.write("\r\033[K" + text + ("\n" if final else ""))
        else:  # a log file: every line carries its time
            stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
            self.stream.write(f"{stamp} {text}\n")
        self.stream.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._emit(self._line())

    def __enter__(self) -> Progress:
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()
