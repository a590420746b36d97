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
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .learnupon.client import LearnUponClient, base_url_for
from .learnupon.errors import ConfigError


def _lookup(name: str, kind: type = str) -> str | None:
    """A setting as text: the environment first, then dlt's providers (secrets.toml, config.toml).

    A value of the wrong type in a file (a number or a table where text is expected) and a file
    that is not valid TOML are ConfigErrors naming the file and the key; a value is never echoed.
    """
    value = os.environ.get(f"LEARNUPON_{name.upper()}")
    if value not in (None, ""):
        return value.strip()
    for provider in _providers():
        # the lower-case name, or the environment variable's own name (both appear in the README)
        for key in (name, f"LEARNUPON_{name.upper()}"):
            try:
                found, _ = provider.get_value(key, Any, None, "sources", "learnupon")
            except Exception as exc:
                raise unreadable_settings(provider, exc) from None
            if found in (None, ""):
                continue
            if isinstance(found, str):
                return found.strip()
            if kind is int and isinstance(found, int) and not isinstance(found, bool):
                return str(found)
            wanted = "a whole number" if kind is int else 'text in quotes (key = "...")'
            raise ConfigError(
                f"{_where(provider)}: sources.learnupon.{key} must be {wanted}, not {_kind_of(found)}"
            )
    return None


def _providers() -> list[Any]:
    """dlt's configuration providers (environment, secrets.toml, config.toml), each once; a malformed
    file fails here, when dlt first reads it."""
    import dlt

    try:
        providers = [*dlt.secrets.config_providers, *dlt.config.config_providers]
    except Exception as exc:
        raise unreadable_settings(None, exc) from None
    seen: dict[str, Any] = {}
    for provider in providers:
        seen.setdefault(provider.name, provider)
    return list(seen.values())


def _where(provider: Any) -> str:
    """The file a provider read (the first of its locations that exists), or its name."""
    locations = [Path(p) for p in getattr(provider, "locations", None) or []]
    existing = next((p for p in locations if p.is_file()), None)
    return str(existing.resolve()) if existing else provider.name


def unreadable_settings(provider: Any, exc: BaseException) -> ConfigError:
    """A settings file dlt could not read: which file, and where in it (never its content)."""
    paths = [Path(p) for p in getattr(exc, "full_paths", None) or getattr(provider, "locations", None) or []]
    bad = next((p for p in paths if p.is_file() and not _parses(p)), None)
    where = str(bad.resolve()) if bad else (getattr(exc, "file_name", None) or "a dlt settings file")
    cause = exc.__cause__ or exc.__context__ or exc
    detail = str(cause).splitlines()[-1] if str(cause) else type(cause).__name__
    position = re.search(r"line \d+ col \d+", detail)
    return ConfigError(
        f"{where} is not valid TOML ({position.group(0) if position else type(cause).__name__}): fix it, or move it"
        " aside and set the LEARNUPON_* environment variables"
    )


def _parses(path: Path) -> bool:
    import tomlkit

    try:
        tomlkit.parse(path.read_text(encoding="utf-8"))
    except Exception:
        return False
    return True


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def int_setting(name: str, default: int | None, minimum: int = 0) -> int | None:
    """LEARNUPON_<NAME> (environment or dlt config) as a whole number of at least `minimum`; unset: `default`."""
    raw = _lookup(name, int)
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
    return int_setting("reconcile_days", 7) or 0


def attendance_reconcile_days() -> int | None:
    """LEARNUPON_ATTENDANCE_RECONCILE_DAYS: how far back a reconciliation re-reads attendance, in days of session
    start (default: unset, every session the portal lists; 0: nothing beyond the regular look-back)."""
    return int_setting("attendance_reconcile_days", None)


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
            weekly_reserve=int_setting("weekly_reserve", 0),
            minute_reserve=int_setting("minute_reserve", 0),
            max_calls_per_minute=int_setting("max_calls_per_minute", None, minimum=1),
            workers=int_setting("workers", 4, minimum=1),
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
