"""Settings of the Dagster deployment: schedules.toml, overridden by environment variables.

Nothing here is a credential: the portal's keys come only from LEARNUPON_* environment
variables or dlt's secrets.toml, read by pipelines.config when a run starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

# the schedules file and the freshness rule are read by the report too, so they live below assets/
from pipelines.run.freshness import freshness_max_age_hours, load_schedules as load_config
from pipelines.learnupon.tables import CHANGES_ALL_DAY

# the resources that change all day (hourly by default; the table registry says which); the daily run
# loads everything else too
LIGHT_RESOURCES = CHANGES_ALL_DAY

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class ScheduleSetting:
    name: str
    cron: str
    enabled: bool
    timezone: str = "UTC"


def schedule_setting(name: str, config: dict[str, Any] | None = None) -> ScheduleSetting:
    """One schedule's cron string and switch: LMS_SCHEDULE_<NAME>_CRON / _ENABLED win over the file."""
    config = load_config() if config is None else config
    entry = config.get("schedules", {}).get(name, {})
    env = f"LMS_SCHEDULE_{name.upper()}"
    cron = os.environ.get(f"{env}_CRON") or entry.get("cron")
    if not cron:
        raise ValueError(f"schedule {name} has no cron string (schedules.toml or {env}_CRON)")
    enabled_raw = os.environ.get(f"{env}_ENABLED")
    enabled = _flag(f"{env}_ENABLED", enabled_raw) if enabled_raw else bool(entry.get("enabled", True))
    return ScheduleSetting(name=name, cron=cron.strip(), enabled=enabled, timezone=entry.get("timezone", "UTC"))


def sensor_enabled(name: str, config: dict[str, Any] | None = None) -> bool:
    config = load_config() if config is None else config
    raw = os.environ.get(f"LMS_SENSOR_{name.upper()}_ENABLED")
    if raw:
        return _flag(f"LMS_SENSOR_{name.upper()}_ENABLED", raw)
    return bool(config.get("sensors", {}).get(name, {}).get("enabled", True))


def reconciliation_tolerance(config: dict[str, Any] | None = None) -> tuple[int, float]:
    """(absolute, relative) difference allowed between a course's num_enrolled and the enrollments loaded."""
    config = load_config() if config is None else config
    section = config.get("reconciliation", {})
    absolute = int(os.environ.get("LMS_RECONCILIATION_ABSOLUTE") or section.get("absolute", 2))
    relative = float(os.environ.get("LMS_RECONCILIATION_RELATIVE") or section.get("relative", 0.02))
    return absolute, relative


def weekly_reserve() -> int:
    """LEARNUPON_WEEKLY_RESERVE (environment or dlt config), the calls left for other integrations."""
    from pipelines.config import setting_value

    return setting_value("weekly_reserve")
