"""Settings for a run against a real portal: environment variables first, then dlt's config/secrets files.

Environment: LEARNUPON_SUBDOMAIN, LEARNUPON_USERNAME, LEARNUPON_PASSWORD,
LEARNUPON_BASE_URL (overrides the host: proxies, the simulated portal),
LEARNUPON_DOMAIN (a portal not on learnupon.com), LEARNUPON_WEEKLY_RESERVE,
LEARNUPON_MINUTE_RESERVE, LEARNUPON_MAX_CALLS_PER_MINUTE, LEARNUPON_WORKERS,
LEARNUPON_RECONCILE_DAYS, LEARNUPON_ATTENDANCE_RECONCILE_DAYS.
dlt: the same names under [sources.learnupon] in .dlt/secrets.toml or
.dlt/config.toml, in lower case without the prefix (`username`) or as the
environment variable is spelt (`LEARNUPON_USERNAME`).

Problems raise ConfigError with one line that names the setting; the CLI prints
it and exits 2. The password is never part of a message or a repr.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .learnupon.client import LearnUponClient, base_url_for
from .learnupon.errors import ConfigError


def _lookup(name: str) -> str | None:
    value = os.environ.get(f"LEARNUPON_{name.upper()}")
    if value not in (None, ""):
        return value.strip()
    try:
        import dlt

        found = None
        # the lower-case name, or the environment variable's own name (both appear in the README)
        for key in (name, f"LEARNUPON_{name.upper()}"):
            for provider in (dlt.secrets, dlt.config):
                if found in (None, ""):
                    found = provider.get(f"sources.learnupon.{key}")
    except Exception:  # a malformed toml file: dlt's own message is clear enough
        raise
    return None if found in (None, "") else str(found).strip()


def _int_setting(name: str, default: int | None, minimum: int = 0) -> int | None:
    raw = _lookup(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"LEARNUPON_{name.upper()} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"LEARNUPON_{name.upper()} must be at least {minimum}, got {value}")
    return value


def keys_configured() -> bool:
    """Whether the portal's API keys are set (environment or dlt secrets); Dagster's schedules start only then."""
    return bool(_lookup("username") and _lookup("password"))


def reconcile_days() -> int:
    """LEARNUPON_RECONCILE_DAYS: days between full reconciliations (default 7, 0: never)."""
    return _int_setting("reconcile_days", 7) or 0


def attendance_reconcile_days() -> int | None:
    """LEARNUPON_ATTENDANCE_RECONCILE_DAYS: how far back a reconciliation re-reads attendance, in days of session
    start (default: unset, every session the portal lists; 0: nothing beyond the regular look-back)."""
    return _int_setting("attendance_reconcile_days", None)


@dataclass(frozen=True)
class PortalSettings:
    base_url: str
    username: str
    password: str = field(repr=False)
    weekly_reserve: int = 0
    minute_reserve: int = 0
    max_calls_per_minute: int | None = None
    workers: int = 4

    @classmethod
    def from_environment(cls, **overrides: Any) -> PortalSettings:
        username = _lookup("username")
        password = _lookup("password")
        missing = [n for n, v in (("LEARNUPON_USERNAME", username), ("LEARNUPON_PASSWORD", password)) if not v]
        base = base_url_for(_lookup("subdomain"), _lookup("base_url"), _lookup("domain") or "learnupon.com")
        if missing:
            raise ConfigError(f"{' and '.join(missing)} not set (environment or [sources.learnupon] in .dlt/secrets.toml)")
        values = dict(
            base_url=base,
            username=username,
            password=password,
            weekly_reserve=_int_setting("weekly_reserve", 0),
            minute_reserve=_int_setting("minute_reserve", 0),
            max_calls_per_minute=_int_setting("max_calls_per_minute", None, minimum=1),
            workers=_int_setting("workers", 4, minimum=1),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def client(self) -> LearnUponClient:
        return LearnUponClient(
            self.base_url,
            self.username,
            self.password,
            max_in_flight=self.workers,
            weekly_reserve=self.weekly_reserve,
            minute_reserve=self.minute_reserve,
            max_calls_per_minute=self.max_calls_per_minute,
        )
