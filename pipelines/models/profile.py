"""The dbt profile of a warehouse, and the dbt command-line arguments every in-process invocation shares.

dbt reads a profile written here for the warehouse (`<out>/.dbt/profiles.yml`, never ~/.dbt) and
keeps its target (compiled SQL, run results, the partial-parse state) and logs beside it. The
profile's target is the destination's (`Destination.dbt_target`: DuckDB's file, PostgreSQL's
database, ...): nothing here knows which destination it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .project import PROFILE, PROJECT_DIR

TARGET = "warehouse"  # the profile's one target


def dbt_dir(warehouse: Any) -> Path:
    """dbt's working folder for this warehouse: the generated profile, target/ and logs/.

    Absolute: dbt reads a relative --target-path against the project folder, so `--out data` put
    compiled SQL in sql/data/.dbt/target, inside the source tree.
    """
    return Path(warehouse.out_dir).resolve() / ".dbt"


def write_profile(folder: Path, target: dict[str, Any]) -> Path:
    """profiles.yml with `target` as the profile's output; returns the folder (dbt's --profiles-dir)."""
    folder.mkdir(parents=True, exist_ok=True)
    profile = {PROFILE: {"target": TARGET, "outputs": {TARGET: target}}}
    # JSON is YAML: no YAML writer needed, and paths with any character stay quoted correctly
    (folder / "profiles.yml").write_text(json.dumps(profile, indent=2), encoding="utf-8")
    return folder


def warehouse_profile(warehouse: Any) -> Path:
    """Write the warehouse's profile (its destination's dbt target); returns dbt's profiles folder."""
    return write_profile(dbt_dir(warehouse), warehouse.backend.dbt_target())


def dbt_args(work: Path, target: str = "target") -> list[str]:
    """The arguments of every in-process dbt command on the warehouse whose dbt folder is `work`.

    target: dbt's target folder in it (the pseudonymised build keeps its own parse state apart)."""
    return [
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(work),
        "--target-path", str(work / target),
        "--log-path", str(work / "logs"),
        "--no-send-anonymous-usage-stats",  # no network: dbt's tracking and version check stay off
        "--no-version-check",
        "--no-use-colors",
        "--log-level", "none",
        "--log-level-file", "warn",  # dbt.log in <out>/.dbt/logs keeps warnings and errors
    ]
