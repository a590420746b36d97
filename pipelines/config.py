"""The settings of a run, resolved: the portal's address and keys, the API budget and the extract options.

What each setting is (name, type, default, help, environment variable) is declared once, in
pipelines/learnupon/settings_spec.py. A value comes from, first to last: a CLI flag or Dagster
config (`explicit`), the environment variable (LEARNUPON_WORKERS), dlt's providers
([sources.learnupon] in .dlt/secrets.toml or .dlt/config.toml, keyed by the setting's name, `workers`, the
variable in lower case without the prefix, `reconcile_days`, or the variable as spelt, `LEARNUPON_WORKERS`;
dlt's own SOURCES__LEARNUPON__WORKERS), then the spec's default.

Problems raise ConfigError with one line that names the setting; the CLI prints
it and exits 2. The password is never part of a message or a repr.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .learnupon.client import LearnUponClient, base_url_for
from .learnupon.errors import ConfigError
from .learnupon.settings import ExtractOptions
from .learnupon.settings_spec import BUDGET, BY_NAME, FILE_SECTION, SETTINGS, Setting, check, default, parse


def _lookup(setting: Setting) -> Any:
    """A setting from the environment first, then dlt's providers (secrets.toml, config.toml), checked; None if unset.

    A value of the wrong type in a file (a number or a table where text is expected) and a file
    that is not valid TOML are ConfigErrors naming the file and the key; a secret is never echoed.
    """
    value = os.environ.get(setting.env)
    if value not in (None, ""):
        return parse(setting, value, setting.env)
    for provider in _providers():
        for key in setting.file_keys:
            try:
                found, _ = provider.get_value(key, Any, None, *FILE_SECTION)
            except Exception as exc:
                raise unreadable_settings(provider, exc) from None
            if found in (None, ""):
                continue
            where = f"{_where(provider)}: {'.'.join(FILE_SECTION)}.{key}"
            if isinstance(found, str):
                return parse(setting, found, where)
            if setting.kind is int and isinstance(found, int) and not isinstance(found, bool):
                return check(setting, found, where)
            if setting.kind is bool and isinstance(found, bool):
                return found
            if setting.kind is date and isinstance(found, date) and not isinstance(found, datetime):
                return found.isoformat()  # a TOML date, unquoted
            wanted = {int: "a whole number", bool: "true or false"}.get(setting.kind, 'text in quotes (key = "...")')
            raise ConfigError(f"{where} must be {wanted}, not {_kind_of(found)}")
    return None


def resolve(explicit: Mapping[str, Any] | None = None, origin: str = "") -> dict[str, Any]:
    """Every setting's value: `explicit` (flags, Dagster config; None: not given) first, then the environment,
    then dlt's files, then the default. `origin` names where `explicit` came from in an error."""
    explicit = {k: v for k, v in (explicit or {}).items() if v is not None}
    unknown = sorted(set(explicit) - set(BY_NAME))
    if unknown:
        raise ConfigError(f"{origin or 'settings'}: no such setting {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in explicit:
            values[setting.name] = check(setting, explicit[setting.name], f"{origin}{setting.name}")
        else:
            found = _lookup(setting)
            values[setting.name] = setting.default if found is None else found
    return values


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


def setting_value(name: str) -> Any:
    """One setting from the environment or dlt's files, else its default."""
    setting = BY_NAME[name]
    found = _lookup(setting)
    return setting.default if found is None else found


def configured_subdomains(explicit: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """The subdomains of the portals this configuration has keys for: sub-portals a realm lists beyond them are
    reported, never keyed (`portals`). A portal addressed by `base_url` alone has none."""
    subdomain = (explicit or {}).get("subdomain") or setting_value("subdomain")
    return (subdomain,) if subdomain else ()


def keys_configured() -> bool:
    """Whether the portal's API keys are set (environment or dlt secrets); Dagster's schedules start only then."""
    return bool(_lookup(BY_NAME["username"]) and _lookup(BY_NAME["password"]))


@dataclass(frozen=True)
class PortalSettings:
    base_url: str
    username: str
    password: str = field(repr=False)
    weekly_reserve: int = default("weekly_reserve")
    minute_reserve: int = default("minute_reserve")
    max_calls_per_minute: int | None = default("max_calls_per_minute")
    workers: int = default("workers")

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> PortalSettings:
        """From resolved settings (`resolve`); the keys and the address must be there."""
        missing = [BY_NAME[n].env for n in ("username", "password") if not values.get(n)]
        base = base_url_for(values.get("subdomain"), values.get("base_url"), values["domain"])
        if missing:
            raise ConfigError(f"{' and '.join(missing)} not set (environment or [sources.learnupon] in .dlt/secrets.toml)")
        return cls(base_url=base, **{f.name: values[f.name] for f in fields(cls) if f.name != "base_url"})

    @classmethod
    def from_environment(cls, **explicit: Any) -> PortalSettings:
        return cls.from_values(resolve(explicit))

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


def extract_options(values: Mapping[str, Any]) -> ExtractOptions:
    """The extract options of resolved settings (`resolve`)."""
    return ExtractOptions(**{f.name: values[f.name] for f in fields(ExtractOptions)})


def run_settings(
    explicit: Mapping[str, Any] | None = None, origin: str = "", portal: PortalSettings | None = None
) -> tuple[PortalSettings, ExtractOptions]:
    """A run's portal settings and extract options. `portal` (the demo's simulated portal) supplies the address
    and keys; every other setting is resolved as usual, `explicit` first."""
    values = resolve(explicit, origin)
    if portal is None:
        portal = PortalSettings.from_values(values)
    else:
        budget = {f.name: values[f.name] for f in fields(PortalSettings) if f.name in BY_NAME and BY_NAME[f.name].group == BUDGET}
        portal = replace(portal, **budget)
    return portal, extract_options(values)
