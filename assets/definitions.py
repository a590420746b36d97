"""The Dagster code location: `dagster dev -m assets.definitions` (or `make ui`).

Assembles the per-concern modules. Runs execute in one process (in_process_executor): the
warehouse is a DuckDB file with one writer, so a run's steps take turns anyway, and the
pool `lms_warehouse` (dagster_home/dagster.yaml) keeps steps of different runs apart. The source
assets, their schedules and the `cli_loads` sensor are laid out per configured portal (one partition
each, assets/portals.py), read when the definitions load: `build_definitions` lays them out again.
"""

from collections.abc import Sequence

from dagster import Definitions, in_process_executor

from pipelines.config import portal_names

from .checks import ALL_CHECKS
from .extract import extract_asset
from .models import sql_models
from .observations import build_cli_loads, cli_model_builds
from .portals import portal_partitions
from .resources import LearnUponResource, WarehouseResource
from .schedules import JOBS, SENSORS, build_schedules
from .sync import SYNC_ASSETS, SYNC_JOBS, SYNC_SENSORS, SyncResource


def build_definitions(portals: Sequence[str] | None = None) -> Definitions:
    """The code location with one partition per portal: `portals`, else the configured portals' names."""
    names = list(portal_names() if portals is None else portals)
    return Definitions(
        assets=[extract_asset(portal_partitions(names)), sql_models, *SYNC_ASSETS],
        asset_checks=ALL_CHECKS,
        jobs=[*JOBS, *SYNC_JOBS],
        schedules=build_schedules(names),
        sensors=[*SENSORS, build_cli_loads(names), cli_model_builds, *SYNC_SENSORS],
        resources={"warehouse": WarehouseResource(), "learnupon": LearnUponResource(), "sync": SyncResource()},
        executor=in_process_executor,
    )


defs = build_definitions()
