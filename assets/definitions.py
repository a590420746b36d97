"""The Dagster code location: `dagster dev -m assets.definitions` (or `make ui`).

Assembles the per-concern modules. Runs execute in one process (in_process_executor): the
warehouse is a DuckDB file with one writer, so a run's steps take turns anyway, and the
pool `lms_warehouse` (dagster_home/dagster.yaml) keeps steps of different runs apart.
"""

from dagster import Definitions, in_process_executor

from .checks import ALL_CHECKS
from .extract import learnupon_extract
from .models import sql_models
from .observations import cli_loads, cli_model_builds
from .resources import LearnUponResource, WarehouseResource
from .schedules import JOBS, SCHEDULES, SENSORS
from .sync import SYNC_ASSETS, SYNC_JOBS, SYNC_SENSORS, SyncResource

defs = Definitions(
    assets=[learnupon_extract, sql_models, *SYNC_ASSETS],
    asset_checks=ALL_CHECKS,
    jobs=[*JOBS, *SYNC_JOBS],
    schedules=SCHEDULES,
    sensors=[*SENSORS, cli_loads, cli_model_builds, *SYNC_SENSORS],
    resources={"warehouse": WarehouseResource(), "learnupon": LearnUponResource(), "sync": SyncResource()},
    executor=in_process_executor,
)
