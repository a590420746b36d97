"""Configuration of a simulated LearnUpon portal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Optional, Union

# "lost": the request is handled (a write is applied) and the connection drops before the reply
ALL_FAULT_KINDS = ("500", "503", "truncated", "drop", "latency", "lost")


@dataclass(frozen=True)
class PortalConfig:
    """Everything that shapes a simulated portal.

    Same `seed` and `clock` give the same data, byte for byte. Entity counts
    scale from `users` (see docs/simulator.md for the ratios).
    """

    users: int = 1000
    seed: int = 7
    page_size: int = 500
    rate_per_minute: Optional[int] = None
    rate_per_week: Optional[int] = None
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = ("500", "503", "truncated", "drop")
    latency_ms: int = 0
    enrollments_per_user: float = 5.0
    username: str = "sim-user"
    password: str = "sim-secret-password"
    clock: Optional[datetime] = None
    # "default", "alt", or an iterable of quirk names (see quirks.py) to flip one by one
    quirks: Union[str, Iterable[str]] = "default"
    gamification: bool = True
    audit_page_size: int = 10_000  # trails per /audit-trails response (the reference's 10K); tests lower it
    # every page after the first starts with the previous page's last record, as when a record is
    # added ahead of it while a client pages through a listing
    overlapping_pages: bool = False
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ValueError("users must be at least 1")
        if self.page_size < 1:
            raise ValueError("page_size must be at least 1")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        unknown = set(self.fault_kinds) - set(ALL_FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        if self.clock is not None and self.clock.tzinfo is None:
            raise ValueError("clock must be timezone-aware (UTC)")
        if not isinstance(self.quirks, str):
            object.__setattr__(self, "quirks", tuple(self.quirks))
