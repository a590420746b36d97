"""A simulated portal in its own process, driven through a pipe.

The machine the benchmark runs on has few cores: a portal in the pipeline's own
process would share its interpreter lock and slow both down. The host process
owns the SimulatedPortal and answers commands (churn, call counts, rate limits,
the minimum-call model computed from its ground truth).
"""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

from .minimum import core_truth_counts, minimum_calls_all


def _serve(conn: Any, config: dict[str, Any]) -> None:
    from pipelines.simulator import PortalConfig, SimulatedPortal, serve_without_gc_scans

    portal = SimulatedPortal(PortalConfig(**config))
    serve_without_gc_scans()
    portal.start()
    conn.send({"base_url": portal.base_url, "username": portal.config.username, "password": portal.config.password})
    try:
        while True:
            command, args = conn.recv()
            try:
                if command == "stop":
                    conn.send(None)
                    return
                if command == "churn":
                    result: Any = portal.churn(**args)
                elif command == "calls":
                    result = dict(portal.calls)
                elif command == "reset_calls":
                    result = portal.reset_calls()
                elif command == "set_rate_limits":
                    result = portal.set_rate_limits(**args)
                elif command == "core_counts":
                    with portal.lock:
                        result = core_truth_counts(portal, **args)
                elif command == "minimum_all":
                    result = minimum_calls_all(portal.ground_truth(), portal.config.page_size, **args)
                elif command == "now":
                    result = portal.now()
                else:
                    raise ValueError(f"unknown command {command!r}")
                conn.send(("ok", result))
            except Exception as exc:  # sent back, raised in the caller
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        portal.stop()


class PortalHost:
    """Start with the PortalConfig fields as keywords; use as a context manager."""

    def __init__(self, **config: Any) -> None:
        self.config = config
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, config), name="bench-portal", daemon=True)
        self._process.start()
        child.close()
        info = self._conn.recv()
        self.base_url: str = info["base_url"]
        self.username: str = info["username"]
        self.password: str = info["password"]

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def call(self, command: str, **args: Any) -> Any:
        self._conn.send((command, args))
        status, result = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"simulated portal: {result}")
        return result

    def churn(self, days: float = 1.0, share: float = 0.01) -> dict[str, int]:
        return self.call("churn", days=days, share=share)

    def calls(self) -> dict[str, int]:
        return self.call("calls")

    def reset_calls(self) -> None:
        self.call("reset_calls")

    def stop(self) -> None:
        if self._process.is_alive():
            try:
                self._conn.send(("stop", {}))
                self._conn.recv()
            except (EOFError, OSError):
                pass
            self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)

    def __enter__(self) -> PortalHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
