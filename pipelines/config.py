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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .learnupon.client import LearnUponClient, base_url_for, portal_name_for
from .learnupon.errors import ConfigError
from .learnupon.settings import ExtractOptions
from .learnupon.settings_spec import BUDGET, BY_NAME, FILE_SECTION, PORTAL, SETTINGS, Setting, check, default, parse


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


def keys_configured() -> bool:
    """Whether API keys are set (environment or dlt secrets): every portal's of the portals section, else the
    single portal's; Dagster's schedules start only then."""
    tables = _portal_tables()
    if tables:
        return all(keys.get("username") and keys.get("password") for keys in tables.values())
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
    retry_backoff_ms: int = default("retry_backoff_ms")
    name: str = ""  # the portal's name (Portal.name); "": the base URL's host

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> PortalSettings:
        """From resolved settings (`resolve`); the keys and the address must be there."""
        missing = [BY_NAME[n].env for n in ("username", "password") if not values.get(n)]
        base = base_url_for(values.get("subdomain"), values.get("base_url"), values["domain"])
        if missing:
            raise ConfigError(f"{' and '.join(missing)} not set (environment or [sources.learnupon] in .dlt/secrets.toml)")
        name = portal_name_for(values.get("subdomain"), values.get("base_url"))
        return cls(base_url=base, name=name, **{f.name: values[f.name] for f in fields(cls) if f.name not in ("base_url", "name")})

    @classmethod
    def from_environment(cls, **explicit: Any) -> PortalSettings:
        return cls.from_values(resolve(explicit))

    def client(self) -> LearnUponClient:
        return LearnUponClient(
            self.base_url,
            self.username,
            self.password,
            max_in_flight=self.workers,
            backoff_base=self.retry_backoff_ms / 1000,
            weekly_reserve=self.weekly_reserve,
            minute_reserve=self.minute_reserve,
            max_calls_per_minute=self.max_calls_per_minute,
            portal=self.name,
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


# ---- portals ----------------------------------------------------------------------------------------------
# Several portals (a realm's top-level portal and its sub-portals, each with its own API keys) are configured
# the dlt way, one table per portal: [sources.learnupon.portals.<name>] in .dlt/secrets.toml or config.toml, or
# SOURCES__LEARNUPON__PORTALS__<NAME>__<KEY> in the environment. Without that section the single-portal
# settings (LEARNUPON_SUBDOMAIN ...) make one portal, named by its subdomain, else by its base URL's host.

PORTALS_KEY = "portals"
PORTALS_ENV = "__".join(part.upper() for part in (*FILE_SECTION, PORTALS_KEY)) + "__"
PORTAL_NAME = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,38}[a-z0-9])?")
# the keys of a portal's table: the settings that address a portal (subdomain, domain, base_url, username, password)
PORTAL_KEYS: tuple[str, ...] = tuple(s.name for s in SETTINGS if s.group == PORTAL)


@dataclass(frozen=True)
class Portal:
    """One configured portal: its name (every row's `portal` column) and how to reach it."""

    name: str
    settings: PortalSettings
    single: bool = False  # configured by the single-portal settings (LEARNUPON_SUBDOMAIN ...), not the portals section
    subdomain: str = ""  # as configured ("": addressed by base_url alone)
    top_level: bool = False  # its realm's top-level portal: its runs load the realm's listing (`portals`)

    def client(self) -> LearnUponClient:
        return self.settings.client()

    def options(self, shared: ExtractOptions) -> ExtractOptions:
        """The run's extract options for this portal: whether it is top-level is the portal's own."""
        return replace(shared, top_level=self.top_level)


def realm_members(portals: Sequence[Portal]) -> tuple[str, ...]:
    """What a realm's listing is compared with: each configured portal's subdomain, or its name when it is
    addressed by base_url alone. A listed sub-portal that matches none is reported, never keyed (`portals`)."""
    return tuple((p.subdomain or p.name).lower() for p in portals)


def _portal_tables() -> dict[str, dict[str, tuple[Any, str]]]:
    """Portal name -> key -> (value, where it was set), the environment first, then dlt's files (first found wins)."""
    found: dict[str, dict[str, tuple[Any, str]]] = {}
    for variable, value in sorted(os.environ.items()):
        if not variable.upper().startswith(PORTALS_ENV) or value == "":
            continue
        name, separator, key = variable[len(PORTALS_ENV):].rpartition("__")
        if not separator or not name:
            raise ConfigError(f"{variable}: expected {PORTALS_ENV}<NAME>__<KEY> (KEY one of {', '.join(PORTAL_KEYS)})")
        found.setdefault(name.lower(), {}).setdefault(key.lower(), (value, variable))
    section = ".".join((*FILE_SECTION, PORTALS_KEY))
    for provider in _providers():
        if not getattr(provider, "locations", None):
            continue  # the environment, read above (dlt cannot list its variables)
        try:
            tables, _ = provider.get_value(PORTALS_KEY, Any, None, *FILE_SECTION)
        except Exception as exc:
            raise unreadable_settings(provider, exc) from None
        if tables is None:
            continue
        where = _where(provider)
        if not isinstance(tables, Mapping):
            raise ConfigError(f"{where}: {section} must be tables, one per portal ([{section}.<name>]), not {_kind_of(tables)}")
        for name, table in tables.items():
            if not isinstance(table, Mapping):
                raise ConfigError(f"{where}: {section}.{name} must be a table of {', '.join(PORTAL_KEYS)}, not {_kind_of(table)}")
            for key, value in table.items():
                found.setdefault(str(name).lower(), {}).setdefault(str(key).lower(), (value, f"{where}: {section}.{name}.{key}"))
    return found


def _portal(name: str, keys: dict[str, tuple[Any, str]], budget: Mapping[str, Any]) -> Portal:
    """One portal of the portals section, checked: its name, its keys, their types; never echoes a secret."""
    section = ".".join((*FILE_SECTION, PORTALS_KEY))
    if not PORTAL_NAME.fullmatch(name):
        raise ConfigError(
            f"portal name {name!r} ([{section}.{name}]) must be lower-case letters, digits, - or _ (at most 40)"
        )
    unknown = sorted(set(keys) - set(PORTAL_KEYS))
    if unknown:
        raise ConfigError(f"{keys[unknown[0]][1]}: no such portal key; a portal takes {', '.join(PORTAL_KEYS)}")
    values: dict[str, Any] = {}
    for key, (value, where) in keys.items():
        if BY_NAME[key].kind is bool and isinstance(value, bool):  # top_level = true
            values[key] = value
            continue
        if not isinstance(value, str):
            raise ConfigError(f'{where} must be text in quotes (key = "..."), not {_kind_of(value)}')
        values[key] = parse(BY_NAME[key], value, where)
    missing = [key for key in ("username", "password") if not values.get(key)]
    if not values.get("subdomain") and not values.get("base_url"):
        missing.insert(0, "subdomain (or base_url)")
    if missing:
        raise ConfigError(
            f"portal {name}: {' and '.join(missing)} not set ([{section}.{name}] in .dlt/secrets.toml,"
            f" or {PORTALS_ENV}{name.upper()}__<KEY>)"
        )
    try:
        base = base_url_for(values.get("subdomain"), values.get("base_url"), values.get("domain") or default("domain"))
    except ConfigError as exc:
        raise ConfigError(f"portal {name}: {exc}") from None
    settings = PortalSettings(base_url=base, username=values["username"], password=values["password"], name=name, **budget)
    return Portal(name, settings, subdomain=values.get("subdomain") or "", top_level=bool(values.get("top_level")))


def configured_portals(
    explicit: Mapping[str, Any] | None = None, origin: str = "", names: Sequence[str] | None = None
) -> list[Portal]:
    """The configured portals in a stable order (by name), or those `names` chooses (`--portals a,b`).

    The portals section, or else the single-portal settings as one portal; both at once is a mistake (which
    portal would the single keys be?). `explicit`: flags and Dagster config, as for `resolve`. The API budget
    settings (reserves, workers) apply to each portal on its own.
    """
    values = resolve(explicit, origin)
    budget = {f.name: values[f.name] for f in fields(PortalSettings) if f.name in BY_NAME and BY_NAME[f.name].group == BUDGET}
    tables = _portal_tables()
    section = ".".join((*FILE_SECTION, PORTALS_KEY))
    if tables:
        single = [BY_NAME[key].env for key in ("subdomain", "base_url", "username", "password", "top_level") if values.get(key)]
        if single:
            raise ConfigError(
                f"{' and '.join(single)} set as well as [{section}.<name>]: configure every portal in that section,"
                " or only the single-portal settings"
            )
        portals = [_portal(name, tables[name], budget) for name in sorted(tables)]
    else:
        settings = PortalSettings.from_values(values)
        portals = [Portal(portal_name_for(values.get("subdomain"), values.get("base_url")), settings, single=True,
                          subdomain=values.get("subdomain") or "", top_level=values["top_level"])]
    return choose_portals(portals, names)


def portal_names() -> list[str]:
    """The configured portals' names in the order `configured_portals` gives them, read without their keys:
    Dagster's partitions are laid out when its definitions load, on a machine that may hold no keys yet.
    The portals section's names, else the single-portal settings' (subdomain, else base URL's host); none
    when nothing names a portal. A run still checks every portal in full (`configured_portals`)."""
    tables = _portal_tables()
    if tables:
        return sorted(tables)
    values = resolve()
    name = portal_name_for(values.get("subdomain"), values.get("base_url"))
    return [name] if name else []


def choose_portals(portals: Sequence[Portal], names: Sequence[str] | None) -> list[Portal]:
    """The portals `names` chooses, in the configuration's order; every one when `names` is None."""
    if names is None:
        return list(portals)
    chosen = [name.strip().lower() for name in names if name.strip()]
    known = {portal.name for portal in portals}
    unknown = [name for name in chosen if name not in known]
    if not chosen or unknown:
        raise ConfigError(
            f"--portals {','.join(unknown) or '(empty)'}: no such portal; configured: {', '.join(sorted(known))}"
        )
    return [portal for portal in portals if portal.name in chosen]
