"""How old a resource's last load may be before it counts as stale.

One rule for the report's warning (pipelines/report.py) and Dagster's `fresh_load` checks
(assets/checks.py): `[freshness]` in the deployment's schedules file (assets/schedules.toml,
or LMS_SCHEDULES_FILE), overridden by LMS_FRESHNESS_MAX_AGE_HOURS(_<RESOURCE>). It lives
here, below both, because `pipelines/` never imports `assets/`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

SCHEDULES_FILE = Path(__file__).resolve().parents[2] / "assets" / "schedules.toml"


def load_schedules(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The parsed schedules file: LMS_SCHEDULES_FILE if set, else assets/schedules.toml."""
    chosen = Path(path or os.environ.get("LMS_SCHEDULES_FILE") or SCHEDULES_FILE)
    with chosen.open("rb") as handle:
        return tomllib.load(handle)


def freshness_max_age_hours(resource: str, config: dict[str, Any] | None = None) -> float:
    """Hours after which a resource's last successful load counts as stale."""
    own = os.environ.get(f"LMS_FRESHNESS_MAX_AGE_HOURS_{resource.upper()}")
    if own:
        return float(own)
    config = load_schedules() if config is None else config
    section = config.get("freshness", {})
    if resource in section.get("max_age_hours", {}):
        return float(section["max_age_hours"][resource])
    default = os.environ.get("LMS_FRESHNESS_MAX_AGE_HOURS")
    return float(default) if default else float(section.get("default_max_age_hours", 26))
