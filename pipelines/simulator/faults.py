"""Injected faults: which requests fail, and how.

Chosen by a seeded RNG so a run's fault rate is reproducible; the order in
which concurrent requests draw from it is not. A faulted request never changes
portal state and does not count toward rate limits.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Optional, Sequence


class FaultInjector:
    def __init__(self, seed: int, rate: float, kinds: Sequence[str]) -> None:
        self._rng = random.Random(f"{seed}:faults")
        self._lock = threading.Lock()
        self.rate = rate
        self.kinds = tuple(kinds)
        self.injected: Counter[str] = Counter()

    def configure(self, rate: float, kinds: Optional[Sequence[str]] = None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("fault rate must be between 0 and 1")
        with self._lock:
            self.rate = rate
            if kinds is not None:
                self.kinds = tuple(kinds)

    def draw(self) -> Optional[str]:
        """The fault kind for this request, or None."""
        with self._lock:
            if self.rate <= 0 or not self.kinds or self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(self.kinds)
            self.injected[kind] += 1
            return kind

    def latency_seconds(self) -> float:
        with self._lock:
            return self._rng.uniform(0.1, 0.5)

    def truncate_at(self, length: int) -> int:
        with self._lock:
            return self._rng.randint(1, max(1, length - 1))
