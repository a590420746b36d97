"""Where the time goes: the pipeline's own client, timed from outside.

TimedClient is the project's LearnUponClient with its `get` timed (the whole
call: pacing, the HTTP exchange, reading and parsing the body) and every raw
HTTP exchange recorded by a transport wrapper (time and status, 429s
included), so the benchmark can split "fetching" from dlt's own extract work
and count calls per calendar minute. Nothing in client.py changes.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from pipelines.learnupon.client import LearnUponClient


class RecordingTransport(httpx.BaseTransport):
    """Records (wall time, status) of every HTTP exchange, retries and 429s included."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[tuple[float, int]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        with self._lock:
            self.exchanges.append((time.time(), response.status_code))
        return response

    def close(self) -> None:
        self.inner.close()


class TimedClient(LearnUponClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        workers = kwargs.get("max_in_flight", 4)
        limits = httpx.Limits(max_connections=workers + 2, max_keepalive_connections=workers + 2)
        self.recorder = RecordingTransport(httpx.HTTPTransport(limits=limits))
        kwargs["transport"] = self.recorder
        super().__init__(*args, **kwargs)
        self.intervals: list[tuple[float, float]] = []
        self.endpoints: list[str] = []  # the endpoint of each interval, in the same order
        self._ilock = threading.Lock()

    def get(self, path: str, params: Any = None, *, endpoint: str | None = None) -> httpx.Response:
        t0 = time.perf_counter()
        try:
            return super().get(path, params, endpoint=endpoint)
        finally:
            t1 = time.perf_counter()
            with self._ilock:
                self.intervals.append((t0, t1))
                self.endpoints.append(endpoint or path)

    def fetch_seconds(self) -> dict[str, float]:
        """call_seconds: summed over calls (threads overlap); busy_seconds: wall time with a call in flight."""
        with self._ilock:
            spans = sorted(self.intervals)
        total = sum(b - a for a, b in spans)
        busy = 0.0
        start = end = None
        for a, b in spans:
            if end is None or a > end:
                if end is not None:
                    busy += end - start
                start, end = a, b
            else:
                end = max(end, b)
        if end is not None:
            busy += end - start
        return {"call_seconds": total, "busy_seconds": busy, "calls": len(spans)}


def client_factory(base_url: str, username: str, password: str, workers: int, **kwargs: Any):
    def make() -> TimedClient:
        return TimedClient(base_url, username, password, max_in_flight=workers, **kwargs)

    return make


def timed_run(context: Any, warehouse: Any, resources: list[str] | None) -> tuple[Any, "TimedClient", dict[str, Any]]:
    """`run_extract` on a context whose client is a TimedClient, then the context closed: the run's summary,
    its client and the time it spent waiting on the portal (not ours)."""
    from pipelines.run.runner import run_extract

    try:
        summary = run_extract(context, warehouse, resources)
        client: TimedClient = context.client
        fetch = client.fetch_seconds()
    finally:
        context.close()
    return summary, client, fetch


def per_minute(exchanges: list[tuple[float, int]], started: float, finished: float) -> dict[str, Any]:
    """Calls and 429s per calendar minute (the portal's window); full minutes are those the run spans wholly."""
    buckets: dict[int, list[int]] = {}
    for at, status in exchanges:
        b = buckets.setdefault(int(at // 60), [0, 0])
        b[0] += 1
        if status == 429:
            b[1] += 1
    first, last = int(started // 60), int(finished // 60)
    full = [m for m in range(first + 1, last)]  # minutes wholly inside the run
    minutes = [
        {"minute": m - first, "calls": buckets.get(m, [0, 0])[0], "http_429": buckets.get(m, [0, 0])[1], "full": m in full}
        for m in range(first, last + 1)
    ]
    return {"minutes": minutes, "full_minutes": len(full)}
