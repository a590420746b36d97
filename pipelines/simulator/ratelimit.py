"""Per-portal API rate limits, as the reference describes them.

The minute window is the current calendar minute of wall-clock time ("for the
current minute of the day"), or a shorter window of the same kind when the config
asks (tests: a spent budget refills in seconds); the week window is rolling over the portal's
simulated clock, so advancing the clock frees weekly budget. Requests that get
a 429 count toward nothing.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable, Optional

# remaining counts are reported against this when a limit is off
UNLIMITED = 1_000_000
WEEK = 7 * 86400


class RateLimiter:
    def __init__(
        self, per_minute: Optional[int], per_week: Optional[int], sim_now: Callable[[], float], window_seconds: float
    ) -> None:
        self._lock = threading.Lock()
        self.window_seconds = window_seconds
        self.per_minute = per_minute
        self.per_week = per_week
        self._sim_now = sim_now
        self._minute = -1
        self._minute_used = 0
        self._week: deque[list[int]] = deque()  # [simulated second, count], oldest first
        self._week_used = 0
        self.throttled = 0

    def configure(self, per_minute: Optional[int], per_week: Optional[int]) -> None:
        with self._lock:
            self.per_minute, self.per_week = per_minute, per_week

    def _roll(self) -> None:
        minute = int(time.time() // self.window_seconds)
        if minute != self._minute:
            self._minute, self._minute_used = minute, 0
        horizon = self._sim_now() - WEEK
        while self._week and self._week[0][0] <= horizon:
            self._week_used -= self._week.popleft()[1]

    def _remaining(self) -> tuple[int, int]:
        minute_cap = self.per_minute if self.per_minute is not None else UNLIMITED
        week_cap = self.per_week if self.per_week is not None else UNLIMITED
        return max(0, minute_cap - self._minute_used), max(0, week_cap - self._week_used)

    def peek(self) -> tuple[int, int]:
        """Remaining (minute, week) without using any."""
        with self._lock:
            self._roll()
            return self._remaining()

    def acquire(self) -> tuple[bool, int, int]:
        """Use one request if the limits allow it: (allowed, remaining minute, remaining week)."""
        with self._lock:
            self._roll()
            if (self.per_minute is not None and self._minute_used >= self.per_minute) or (
                    self.per_week is not None and self._week_used >= self.per_week):
                self.throttled += 1
                return (False, *self._remaining())
            self._minute_used += 1
            second = int(self._sim_now())
            if self._week and self._week[-1][0] == second:
                self._week[-1][1] += 1
            else:
                self._week.append([second, 1])
            self._week_used += 1
            return (True, *self._remaining())
