"""SimulatedPortal: the public face of the simulator.

Owns the state, the simulated clock, the HTTP server thread, rate limits and
fault injection. State changes (churn) and request handling share one lock.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Mapping, Optional, Sequence

from . import churn as churn_mod
from . import truth
from .api import ApiContext, Behaviour
from .config import ALL_FAULT_KINDS, PortalConfig
from .domains import enrollments
from .faults import FaultInjector
from .generate import generate
from .quirks import resolve as resolve_quirks
from .ratelimit import RateLimiter
from .server import API_PREFIX, PortalServer
from .timefmt import DAY, from_ts, to_ts


def serve_without_gc_scans() -> None:
    """For a process whose work is serving a portal: keep the generated data out of the cyclic collector's scans.

    The data is built once and lives as long as the process. Left in the collector's
    generations, every full collection walks all of it (millions of objects at 100,000
    users) and stalls the requests in flight; frozen, only the garbage of each request
    is collected. Call it once the portal is built; tests that build portals in their
    own process do not.
    """
    gc.collect()
    gc.freeze()


class SimulatedPortal:
    def __init__(self, config: Optional[PortalConfig] = None) -> None:
        self.config = config or PortalConfig()
        cfg = self.config
        start = cfg.clock or datetime.now(timezone.utc).replace(second=0, microsecond=0)
        self._start_ts = to_ts(start)
        self._wall_start = time.monotonic()
        self._offset = 0.0  # seconds added by advance()/churn()
        self.quirks = resolve_quirks(cfg.quirks)
        # the API key pair the portal accepts: the configured one until a realm generates new keys
        self.keys: tuple[str, str] = (cfg.username, cfg.password)
        self.lock = threading.RLock()
        self._calls_lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.state = generate(
            cfg.seed, cfg.users, cfg.enrollments_per_user, self._start_ts, cfg.gamification, cfg.live_learning
        )
        # data time: the start clock plus advances, without wall time, so data stays deterministic
        self._data_now = self._start_ts
        self.behaviour = Behaviour(page_size=cfg.page_size, quirks=self.quirks, audit_page_size=cfg.audit_page_size,
                                   overlapping_pages=cfg.overlapping_pages, strict=cfg.strict,
                                   attendance_path=cfg.resolved_attendance_path,
                                   empty_name_search=cfg.resolved_empty_name_search,
                                   custom_data_shapes=cfg.resolved_custom_data_shapes(self.quirks),
                                   custom_data_disagreements=cfg.custom_data_disagreements,
                                   predefined_values=cfg.resolved_predefined_values,
                                   user_listing_definitions=cfg.user_listing_definitions,
                                   rating_options=cfg.resolved_rating_options)
        self.api = ApiContext(self.state, self.behaviour, self.now_ts, lambda: self._data_now)
        self.limiter = RateLimiter(cfg.rate_per_minute, cfg.rate_per_week, self.now_ts, cfg.rate_window_seconds)
        self.faults = FaultInjector(cfg.seed, cfg.fault_rate, cfg.fault_kinds, cfg.endpoint_faults)
        self._churn_round = 0
        self._server: Optional[PortalServer] = None
        self._thread: Optional[threading.Thread] = None

    # --- clock ---------------------------------------------------------------------
    def now_ts(self) -> float:
        return self._start_ts + self._offset + (time.monotonic() - self._wall_start)

    def now(self) -> datetime:
        """Current simulated time: start clock + elapsed wall time + advanced offset."""
        return from_ts(self.now_ts())

    def advance(self, days: float) -> None:
        """Move the clock only (nothing in the data changes except what depends on 'now').

        A negative `days` moves it back, as a portal whose clock is behind a client's: requests
        (the Date header, the audit window) see the earlier time; data already stamped stays.
        """
        with self.lock:
            self._offset += days * DAY
            self._data_now = max(self._data_now, int(self.now_ts()))
            enrollments.refresh_clock_dependent(self.state, self._data_now)
            self.api.invalidate()

    def set_clock(self, when: datetime) -> None:
        """Put the clock at `when` (aware), forward or back; see advance()."""
        if when.tzinfo is None:
            raise ValueError("when must be timezone-aware")
        self.advance((to_ts(when) - self.now_ts()) / DAY)

    # --- data changes ------------------------------------------------------------------
    def churn(self, days: float = 1.0, share: float = 0.01) -> dict[str, int]:
        """Advance the clock by `days`, then change about `share` of the data; returns counts per change."""
        if days < 0 or not 0 <= share <= 1:
            raise ValueError("days must be >= 0 and share within [0, 1]")
        with self.lock:
            t0 = max(self._data_now, int(self.now_ts()))
            self._offset += days * DAY
            t1 = max(t0, int(self.now_ts()))
            self._churn_round += 1
            summary = churn_mod.churn(self.state, self._churn_round, t0, t1, share, self.config.audit_unenrolls)
            self._data_now = t1
            self.api.invalidate()
            return summary

    def ground_truth(self) -> dict[str, list[Any]]:
        """What a perfect copy of the portal holds right now, as the API returns it."""
        with self.lock:
            return truth.ground_truth(self.state, self.behaviour, self._data_now)

    # --- calls, faults, limits ------------------------------------------------------------
    def count_call(self, template: str) -> None:
        with self._calls_lock:
            self.calls[template] += 1

    def reset_calls(self) -> None:
        with self._calls_lock:
            self.calls.clear()

    def set_faults(self, fault_rate: float, fault_kinds: Optional[Sequence[str]] = None) -> None:
        if fault_kinds is not None and set(fault_kinds) - set(ALL_FAULT_KINDS):
            raise ValueError(f"unknown fault kinds: {sorted(set(fault_kinds) - set(ALL_FAULT_KINDS))}")
        self.faults.configure(fault_rate, fault_kinds)

    def set_endpoint_faults(self, faults: Mapping[str, str]) -> None:
        """Every call to each named endpoint fails that way until cleared ({} clears all): {"GET /badges": "500"}."""
        self.faults.set_endpoint_faults(faults)

    def set_rate_limits(self, rate_per_minute: Optional[int] = None, rate_per_week: Optional[int] = None) -> None:
        self.limiter.configure(rate_per_minute, rate_per_week)

    # --- server lifecycle -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("portal not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{API_PREFIX}"

    @property
    def root_url(self) -> str:
        """Base of the control endpoints (/_sim/...)."""
        return self.base_url[: -len(API_PREFIX)]

    def start(self) -> "SimulatedPortal":
        if self._server is not None:
            return self
        self._server = PortalServer((self.config.host, self.config.port), self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="simulated-portal", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Start (if needed) and block until interrupted (Ctrl-C), then stop."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join(5)
        self._server = self._thread = None

    def __enter__(self) -> "SimulatedPortal":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
