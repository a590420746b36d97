"""Portal sizes and knobs of a benchmark run (full, --quick, --tiny)."""

from __future__ import annotations

from dataclasses import dataclass

from ..learnupon.settings_spec import default


@dataclass
class Sizes:
    users: int = 100_000
    enrollments_per_user: float = 10.0
    page_size: int = 500
    workers: int = default("workers")  # the pipeline's own default
    seed: int = 7
    # rate-limit scenario
    rl_users: int = 50_000
    rl_per_minute: int = 300
    rl_latency_ms: int = 150
    # latency scenario: every call answered this late, no binding rate limit (page size small enough for a few hundred calls)
    lat_users: int = 2_000
    lat_page_size: int = 100
    lat_latency_ms: int = 100
    # memory scenario: portal users per size (x enrollments_per_user enrollments)
    memory_users: tuple[int, ...] = (1_000, 10_000, 100_000)
    # frugality over every resource: a portal this size
    all_users: int = 2_000
    # realm scenario: three portals of this size, each with its own latency per call and rate limit (calls a minute)
    realm_users: int = 10_000
    realm_latency_ms: tuple[int, ...] = (20, 35, 50)
    realm_rates: tuple[int, ...] = (1_200, 1_800, 2_400)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(users=2_000, rl_users=1_000, memory_users=(100, 300, 1_000), all_users=200, realm_users=1_000)

    @classmethod
    def tiny(cls) -> Sizes:
        return cls(users=150, page_size=50, rl_users=100, rl_per_minute=600, rl_latency_ms=5,
                   lat_users=100, lat_page_size=20, lat_latency_ms=20,
                   memory_users=(30, 60, 120), all_users=60, realm_users=40)
