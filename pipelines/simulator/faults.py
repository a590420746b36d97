"""Injected faults: which requests fail, and how.

Random faults hit a share of all requests, chosen by a seeded RNG so a run's
fault rate is reproducible (the order in which concurrent requests draw from it
is not). Endpoint faults hit every call of one endpoint, named by its route
("GET /badges", "GET /sessions/{id}/attendance": any placeholder name), until
cleared. A faulted request never changes portal state, except "lost": the
request is handled (a write is applied) and the connection closes before the
reply. 500, 503 and dropped connections do not count toward rate limits; 400
and 404 answers and lost replies do.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from typing import Mapping, Optional, Sequence

from .config import ENDPOINT_FAULT_KINDS
from .routes import ROUTES


def route_key(pattern: str) -> str:
    """"GET /sessions/{id}/attendance" and "GET /sessions/{session_id}/attendance" name the same route."""
    method, _, path = pattern.strip().partition(" ")
    return f"{method.upper()} {re.sub(r'{[^}]*}', '{}', path.strip().rstrip('/'))}"


KNOWN_ROUTES = {route_key(r.template) for r in ROUTES}


def checked_endpoint_faults(faults: Mapping[str, str]) -> dict[str, str]:
    """{route key: kind}; ValueError for a kind or a route the portal does not have."""
    out = {}
    for pattern, kind in faults.items():
        key = route_key(pattern)
        if key not in KNOWN_ROUTES:
            raise ValueError(f"no such endpoint: {pattern!r} (name a route, e.g. 'GET /badges')")
        if kind not in ENDPOINT_FAULT_KINDS:
            raise ValueError(f"unknown endpoint fault {kind!r}; known: {', '.join(ENDPOINT_FAULT_KINDS)}")
        out[key] = kind
    return out


class FaultInjector:
    def __init__(self, seed: int, rate: float, kinds: Sequence[str], endpoint_faults: Optional[Mapping[str, str]] = None) -> None:
        self._rng = random.Random(f"{seed}:faults")
        self._lock = threading.Lock()
        self.rate = rate
        self.kinds = tuple(kinds)
        self.endpoint_faults = checked_endpoint_faults(endpoint_faults or {})
        self.injected: Counter[str] = Counter()

    def set_endpoint_faults(self, faults: Mapping[str, str]) -> None:
        """Replace every endpoint fault ({} clears them)."""
        checked = checked_endpoint_faults(faults)
        with self._lock:
            self.endpoint_faults = checked

    def endpoint_fault(self, template: Optional[str]) -> Optional[str]:
        """The fault every call of this route gets, counted, or None."""
        if not self.endpoint_faults or template is None:
            return None
        kind = self.endpoint_faults.get(route_key(template))
        if kind is not None:
            with self._lock:
                self.injected[kind] += 1
        return kind

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
