"""Deterministic randomness: seeded streams, a cheap hash for derived data, and churn helpers.

Each entity kind draws from its own stream, so adding a kind later does not
change the data of the others. Data derived on demand (exam enrollments,
attendance) uses `mix` over (seed, ids) instead of a stream, so it costs no
memory and never depends on the order in which it is asked for.
"""

from __future__ import annotations

import random

MASK = (1 << 64) - 1


def stream(seed: int, kind: str) -> random.Random:
    return random.Random(f"{seed}:{kind}")


def mix(*values: int) -> int:
    """splitmix64 over a tuple of integers: a cheap deterministic hash."""
    h = 0x243F6A8885A308D3
    for v in values:
        h = (h ^ (v & MASK)) + 0x9E3779B97F4A7C15 & MASK
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9 & MASK
        h = (h ^ (h >> 27)) * 0x94D049BB133111EB & MASK
        h ^= h >> 31
    return h


def unit(h: int) -> float:
    """A 64-bit hash as a float in [0, 1)."""
    return (h >> 11) / float(1 << 53)


def how_many(rng: random.Random, expected: float) -> int:
    """An integer with the given expectation (floor plus a coin for the fraction)."""
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


class Stamp:
    """Random whole-second times in (t0, t1]: every change of a churn round is stamped after t0."""

    def __init__(self, rng: random.Random, t0: int, t1: int) -> None:
        self.rng, self.t0, self.t1 = rng, t0, t1

    def __call__(self) -> int:
        return self.rng.randint(self.t0 + 1, self.t1) if self.t1 > self.t0 else self.t1
