"""Every setting of a run, declared once: its name, type, default, help text and environment variable.

The portal's credentials, the API budget and every extract option are a `Setting` of SETTINGS.
Everything else derives from it: the `run` and `demo` flags (pipelines/cli.py), the fields of
Dagster's `learnupon` resource (assets/resources.py), the defaults of ExtractOptions and
PortalSettings, the README's settings table (`python -m pipelines.settings_table`), and the
resolution order (pipelines/config.py): a flag or Dagster config, then the environment variable,
then dlt's providers (`[sources.learnupon]` in .dlt/secrets.toml or .dlt/config.toml, keyed as the
environment variable is spelt or in lower case without `LEARNUPON_`), then the default here.

A table of `Setting` rather than dlt's `@configspec`: a configspec resolves dlt's section names
(SOURCES__LEARNUPON__WORKERS), not the LEARNUPON_* variables and file keys users already have, and
its errors are multi-line; dlt's providers are still what reads the files (pipelines/config.py).

Values are plain Python: int, bool, str (a date is an ISO `YYYY-MM-DD` string). `parse` and `check`
are the one place a value is validated, so a flag, a variable, a file key and Dagster config refuse
the same values with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from .errors import ConfigError

ENV_PREFIX = "LEARNUPON_"
# where dlt's providers look the settings up: [sources.learnupon] in .dlt/secrets.toml or config.toml
FILE_SECTION = ("sources", "learnupon")

PORTAL, BUDGET, EXTRACT, PRIVACY = "portal", "API budget", "extraction", "personal data"


@dataclass(frozen=True)
class Setting:
    name: str  # the ExtractOptions / PortalSettings attribute and the Dagster config field
    kind: type  # int, bool, str, or date (kept as its ISO text)
    default: Any  # None: unset (its help says what unset means)
    help: str
    group: str
    minimum: int | None = None  # ints only
    secret: bool = False  # never a flag (a command line is visible to every user of the machine), never printed
    env_name: str = ""  # when it is not LEARNUPON_<NAME> (kept for compatibility)
    flag_name: str = ""  # when it is not --<name-with-dashes> (kept for compatibility)
    on_demo: bool = True  # `demo` takes it too (the simulated portal supplies its own address and keys)

    @property
    def env(self) -> str:
        return self.env_name or f"{ENV_PREFIX}{self.name.upper()}"

    @property
    def flag(self) -> str | None:
        """The command-line flag, or None for a secret."""
        return None if self.secret else self.flag_name or f"--{self.name.replace('_', '-')}"

    @property
    def file_keys(self) -> tuple[str, ...]:
        """Its keys under [sources.learnupon]: its name, the variable's in lower case without the prefix (when they
        differ), and the variable as it is spelt."""
        return tuple(dict.fromkeys((self.name, self.env.removeprefix(ENV_PREFIX).lower(), self.env)))

    @property
    def metavar(self) -> str:
        return {int: "N", date: "YYYY-MM-DD"}.get(self.kind, self.name.upper())

    @property
    def default_text(self) -> str:
        if self.default is None:
            return "unset"
        if self.kind is bool:
            return "on" if self.default else "off"
        return str(self.default)

    def described(self) -> str:
        """The help text with the default and the variable, as the CLI and Dagster show it."""
        default = "" if self.default is None else f"default {self.default_text}; "
        return f"{self.help} [{default}${self.env}]"


SETTINGS: tuple[Setting, ...] = (
    # the portal and its keys
    Setting("subdomain", str, None, "the portal's subdomain, as in https://SUBDOMAIN.learnupon.com/api/v1", PORTAL, on_demo=False),
    Setting("domain", str, "learnupon.com", "the domain of a portal not on learnupon.com", PORTAL, on_demo=False),
    Setting(
        "base_url", str, None,
        "the API's address, overriding subdomain and domain (a proxy, another region, the simulated portal);"
        " https is required except on loopback hosts. The portal's certificate is checked against certifi's"
        " authorities, or those of `SSL_CERT_FILE` / `SSL_CERT_DIR` when set (a proxy's own authority); a refused"
        " certificate is reported as `tls_certificate`, not as a dropped connection", PORTAL, on_demo=False,
    ),
    Setting("username", str, None, "the API key's username (Settings > Integrations > API Keys)", PORTAL, on_demo=False),
    Setting(
        "password", str, None,
        "the API key's password: environment or .dlt/secrets.toml only, in Dagster an EnvVar; never logged, never stored",
        PORTAL, secret=True, on_demo=False,
    ),
    Setting(
        "top_level", bool, False,
        "the portal is its realm's top-level portal: each run loads its sub-portals (GET /portals: members, licences)"
        " into `portals` and reports the ones not configured here; off: GET /portals is never called",
        PORTAL, on_demo=False,
    ),
    # the API budget
    Setting(
        "weekly_reserve", int, 0,
        "calls of the rolling weekly budget left for other integrations; the run stops cleanly when the budget"
        " reaches it", BUDGET, minimum=0,
    ),
    Setting("minute_reserve", int, 0, "calls per minute left for other integrations", BUDGET, minimum=0),
    Setting(
        "max_calls_per_minute", int, None, "a hard cap of our own on calls per minute (unset: what the portal allows)",
        BUDGET, minimum=1,
    ),
    Setting(
        "retry_backoff_ms", int, 500,
        "a failed call (a 5xx, a 429, a dropped connection, a cut body) is tried again after a random wait of up to"
        " this many milliseconds, doubled for each further try, at most 8 s",
        BUDGET, minimum=0,
    ),
    Setting("workers", int, 4, "calls in flight at most: the fan-out resources' parallel calls, the users listing's pages asked"
            " for ahead and the pages of a course's whole enrollment search (its num_enrolled) asked for together (up to"
            " workers - 1 calls past a listing's end, counted as unused in pipeline_runs.details)", BUDGET, minimum=1),
    # what a run extracts and how far back it looks
    Setting(
        "enrollment_lookback_days", int, 1,
        "enrollment searches re-read this many days before their cursor (date_from is day-granular, its time zone"
        " undocumented: 1 covers UTC-12 to UTC+14)", EXTRACT, minimum=0,
    ),
    Setting("initial_date", date, None, "a first load of enrollments starts here (YYYY-MM-DD; unset: the whole history)", EXTRACT),
    Setting(
        "answer_batch", int, 2000,
        "exam answers are fetched and loaded this many exam enrollments at a time (an interrupted run loses one batch)",
        EXTRACT, minimum=1,
    ),
    Setting(
        "attendance_lookback_days", int, 14,
        "sessions that started less than this many days ago are re-read for attendance every run", EXTRACT, minimum=0,
    ),
    Setting("session_horizon_days", int, 365, "session searches look this many days ahead", EXTRACT, minimum=0),
    Setting("sessions_since", date, "2015-01-01", "a first load of sessions and legacy ILTs starts here (YYYY-MM-DD)", EXTRACT),
    Setting(
        "reconcile_every_days", int, 7,
        "days between full reconciliations (enrollment searches without date_from, which see every deletion; the"
        " attendance of every session within attendance_reconcile_days); 0: never", EXTRACT, minimum=0,
        env_name="LEARNUPON_RECONCILE_DAYS",
    ),
    Setting("reconcile", bool, False, "reconcile in this run, whatever the cadence says", EXTRACT),
    Setting(
        "attendance_reconcile_days", int, None,
        "a reconciliation re-reads the attendance of sessions that started within this many days (unset: every"
        " session the portal lists, searched from sessions_since; 0: none beyond the look-back)", EXTRACT, minimum=0,
    ),
    Setting(
        "lp_backfill", bool, False,
        "also search learning-path enrollments user by user (a batch per run, resumable) to find paths archived"
        " before the first run", EXTRACT, env_name="LEARNUPON_BACKFILL_LEARNING_PATHS",
        flag_name="--backfill-learning-paths",
    ),
    Setting("lp_backfill_batch", int, 5000, "users the learning-path backfill searches per run", EXTRACT, minimum=1),
    Setting(
        "allow_mass_retirement", bool, False,
        "let a load retire more than half of the current users or enrollments, or change every current user"
        " (otherwise that resource stops, exit 1: a listing from another portal or an empty one would wipe them)",
        EXTRACT,
    ),
    # personal data (docs/personal-data.md)
    Setting(
        "retain_deleted_days", int, None,
        "users deleted upstream more than this many days ago are erased after each successful run (lms-warehouse"
        " erase: their personal data replaced in every table and its history; needs LMS_PSEUDONYM_KEY); unset: never",
        PRIVACY, minimum=0, env_name="LMS_RETAIN_DELETED_DAYS",
    ),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def default(name: str) -> Any:
    """The default of one setting (ExtractOptions and PortalSettings take theirs from here)."""
    return BY_NAME[name].default


def parse(setting: Setting, text: str, where: str) -> Any:
    """A value given as text (a flag, an environment variable, a quoted file value), checked; `where` names it."""
    text = text.strip()
    if setting.kind is int:
        try:
            value: Any = int(text)
        except ValueError:
            raise ConfigError(f"{where} must be a whole number, got {text!r}") from None
    elif setting.kind is bool:
        if text.lower() not in _TRUE | _FALSE:
            raise ConfigError(f"{where} must be true or false, got {text!r}")
        value = text.lower() in _TRUE
    else:
        value = text
    return check(setting, value, where)


def check(setting: Setting, value: Any, where: str) -> Any:
    """A typed value (Dagster config, a TOML number), checked: its range, a date's form. Never echoes a secret."""
    if setting.kind is int and setting.minimum is not None and value < setting.minimum:
        raise ConfigError(f"{where} must be at least {setting.minimum}, got {value}")
    if setting.kind is date:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"{where} must be a date (YYYY-MM-DD), got {value!r}") from None
    return value
