"""Client-side pacing from LearnUpon's rate-limit headers.

The API reports what is left of the per-portal budget on every response
(X-LU-Rate-Limit-Remaining-Minute for the current minute of the day,
X-LU-Rate-Limit-Remaining-Week on a rolling week). The limiter lets a request
start only while the last reported minute budget, less the requests already in
flight, stays above the per-minute reserve; otherwise it sleeps to the next
minute boundary (`window_seconds`: the reference's minute; a test against a simulated portal with a
shorter window gives the client that window). The weekly budget is never spent below the configured reserve,
because the portal's rate limit is shared with the customer's other integrations.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from .errors import WeeklyBudgetReserved

# the window the minute budget refills on: "the current minute of the day"
MINUTE_SECONDS = 60.0


@dataclass
class RateLimitSnapshot:
    remaining_minute: int | None = None
    remaining_week: int | None = None
    min_remaining_minute: int | None = None
    throttle_waits: int = 0
    throttle_seconds: float = 0.0


@dataclass
class RateLimiter:
    max_in_flight: int = 4
    minute_reserve: int = 0
    weekly_reserve: int = 0
    max_calls_per_minute: int | None = None
    window_seconds: float = MINUTE_SECONDS
    clock: callable = time.time
    sleep: callable = time.sleep
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _in_flight: int = 0
    _window: int = -1
    _remaining_minute: int | None = None
    _issued_in_window: int = 0
    snapshot: RateLimitSnapshot = field(default_factory=RateLimitSnapshot)

    def _roll_window(self) -> None:
        minute = int(self.clock() // self.window_seconds)
        if minute != self._window:
            self._window = minute
            self._remaining_minute = None  # unknown until the first answer of this minute
            self._issued_in_window = 0

    def _seconds_to_next_minute(self) -> float:
        now = self.clock()
        # a little past the boundary, with jitter, so concurrent workers do not stampede
        return (self.window_seconds - now % self.window_seconds) + 0.05 + random.random() * 0.25

    def acquire(self) -> None:
        """Block until a request may start, then count it as in flight."""
        with self._cond:
            while True:
                self._roll_window()
                week = self.snapshot.remaining_week
                if week is not None and week - self._in_flight <= self.weekly_reserve:
                    raise WeeklyBudgetReserved(
                        f"the portal's weekly API budget is down to {week} calls, at or below the"
                        f" reserve of {self.weekly_reserve} this pipeline leaves for other integrations;"
                        " the run stops here (nothing already loaded is lost)"
                    )
                capped = (
                    self.max_calls_per_minute is not None
                    and self._issued_in_window >= self.max_calls_per_minute
                )
                budget_left = (
                    self._remaining_minute is None
                    or self._remaining_minute - self._in_flight > self.minute_reserve
                )
                if self._in_flight < self.max_in_flight and budget_left and not capped:
                    self._in_flight += 1
                    self._issued_in_window += 1
                    return
                if self._in_flight >= self.max_in_flight:
                    self._cond.wait(timeout=1.0)
                    continue
                # out of budget for this minute: wait for the next one
                wait = self._seconds_to_next_minute()
                self.snapshot.throttle_waits += 1
                self.snapshot.throttle_seconds += wait
                self._cond.release()
                try:
                    self.sleep(wait)
                finally:
                    self._cond.acquire()

    def release(self, remaining_minute: int | None, remaining_week: int | None) -> None:
        """Record one finished request and the budget its response reported."""
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            self._roll_window()
            if remaining_minute is not None:
                if self._remaining_minute is None or remaining_minute < self._remaining_minute:
                    self._remaining_minute = remaining_minute
                self.snapshot.remaining_minute = remaining_minute
                low = self.snapshot.min_remaining_minute
                self.snapshot.min_remaining_minute = remaining_minute if low is None else min(low, remaining_minute)
            if remaining_week is not None:
                self.snapshot.remaining_week = remaining_week
            self._cond.notify_all()

    def exhausted(self) -> None:
        """A 429 arrived: treat the rest of this minute as spent."""
        with self._cond:
            self._roll_window()
            self._remaining_minute = 0
            self._cond.notify_all()
