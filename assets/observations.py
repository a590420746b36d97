"""Loads and model builds made outside Dagster (`lms-warehouse run`, `lms-warehouse models`, cron, a
notebook) shown on the source and model assets.

Every load, whoever starts it, writes a row to `learnupon.pipeline_runs`. The sensor
`cli_loads` reads the succeeded rows it has not seen yet (its cursor is the newest
`finished_at` seen) and reports a runless materialization of each resource such a run
loaded, unless the run was a Dagster run (those materialized their assets themselves). So the
UI shows when each resource was last loaded, not "Never materialized", and the freshness
checks (which read `pipeline_runs`) agree with it. Each load is reported on its portal's partition
(pipeline_runs.portal), as a Dagster run of that partition would have materialized it.

Model builds alike: every build records the models it built in `learnupon.model_builds`
(pipelines/models/build_records.py), and the sensor `cli_model_builds` reports a runless
materialization of each model asset a build outside Dagster built, with its rows.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from dagster import (
    AssetKey,
    AssetMaterialization,
    DefaultSensorStatus,
    MetadataValue,
    RunsFilter,
    SensorEvaluationContext,
    SensorDefinition,
    SensorResult,
    SkipReason,
    sensor,
)

from pipelines.config import portal_names
from pipelines.learnupon import ALL_RESOURCES
from pipelines.learnupon.tables import PORTAL
from pipelines.models.build_records import MODEL_BUILDS

from .extract import resource_key
from .models import MODEL_KEYS
from .resources import READ_ERRORS, WarehouseResource, dagster_run_id

RAW = "learnupon"


def loads_since(con: Any, after: str | None) -> list[dict[str, Any]]:
    """Succeeded runs that finished after the ISO timestamp `after` (all when None), oldest first."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = 'pipeline_runs'", [RAW]
    ).fetchone()[0]
    if not exists:
        return []
    cursor = con.execute(
        f"select run_id, finished_at, resources, rows_loaded, api_calls, {PORTAL} from {RAW}.pipeline_runs"
        " where status = 'succeeded' and (? is null or finished_at > cast(? as timestamptz))"
        " order by finished_at",
        [after, after],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def dagster_run_ids(context: SensorEvaluationContext, since: datetime) -> set[str]:
    """The pipeline_runs ids Dagster runs use (their run id, dashes dropped, first 12 characters)."""
    runs = context.instance.get_runs(filters=RunsFilter(created_after=since), limit=10_000)
    return {dagster_run_id(run.run_id) for run in runs}


def materializations(load: dict[str, Any], portals: Sequence[str] = ()) -> list[AssetMaterialization]:
    """A load's resources, each on the partition of the load's portal (none when it is not one of `portals`)."""
    resources = [r for r in (load["resources"] or "").split(",") if r in ALL_RESOURCES]
    partition = load.get(PORTAL) if load.get(PORTAL) in portals else None
    return [
        AssetMaterialization(
            asset_key=resource_key(resource),
            partition=partition,
            description="loaded outside Dagster (lms-warehouse run); recorded in learnupon.pipeline_runs",
            metadata={
                "pipeline_run_id": load["run_id"],
                "finished_at": MetadataValue.timestamp(load["finished_at"]),
                "run_rows_loaded": int(load["rows_loaded"] or 0),
                "run_api_calls": int(load["api_calls"] or 0),
                "loaded_by": "outside Dagster",
                "portal": load.get(PORTAL) or "",
            },
        )
        for resource in resources
    ]


def recorded_outside(
    context: SensorEvaluationContext, warehouse: WarehouseResource, since: Any
) -> tuple[list[dict[str, Any]] | SkipReason, set[str]]:
    """The run-record rows `since(con, cursor)` reads after the sensor's cursor, and the ids of Dagster's own
    runs from their time (so a sensor reports only what was done outside Dagster); a SkipReason when the
    warehouse cannot be read now (a load holds the DuckDB file, or the server is down: look again next time)."""
    try:
        with warehouse.raw() as con:
            rows = since(con, context.cursor)
    except READ_ERRORS as exc:
        return SkipReason(f"warehouse not readable now: {exc}"), set()
    if not rows:
        return rows, set()
    return rows, dagster_run_ids(context, min(row["finished_at"] for row in rows) - timedelta(days=1))


def build_cli_loads(portals: Sequence[str] | None = None) -> SensorDefinition:
    """The sensor `cli_loads`, reporting each load on its portal's partition (`portals`: the partitions)."""
    partitions = list(portal_names() if portals is None else portals)

    @sensor(
        name="cli_loads",
        minimum_interval_seconds=300,
        default_status=DefaultSensorStatus.RUNNING,
        description="Report loads made outside Dagster (from learnupon.pipeline_runs) as materializations of the source"
        " assets, on the partition of the load's portal.",
    )
    def cli_loads(context: SensorEvaluationContext, warehouse: WarehouseResource) -> SensorResult | SkipReason:
        loads, ours = recorded_outside(context, warehouse, loads_since)
        if isinstance(loads, SkipReason):
            return loads
        if not loads:
            return SkipReason("no new load in pipeline_runs")
        events = [event for load in loads if load["run_id"] not in ours for event in materializations(load, partitions)]
        return SensorResult(asset_events=events, cursor=loads[-1]["finished_at"].isoformat())

    return cli_loads


def builds_since(con: Any, after: str | None) -> list[dict[str, Any]]:
    """Models built by builds that finished after the ISO timestamp `after` (all when None), oldest first."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [RAW, MODEL_BUILDS]
    ).fetchone()[0]
    if not exists:
        return []
    cursor = con.execute(
        f"select build_id, model, relation, rows, as_of, finished_at from {RAW}.{MODEL_BUILDS}"
        " where (? is null or finished_at > cast(? as timestamptz)) order by finished_at, model",
        [after, after],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def model_materialization(built: dict[str, Any], key: AssetKey) -> AssetMaterialization:
    metadata: dict[str, Any] = {
        "dagster/relation_identifier": built["relation"],
        "model_build_id": built["build_id"],
        "as_of": built["as_of"],
        "finished_at": MetadataValue.timestamp(built["finished_at"]),
        "built_by": "outside Dagster",
    }
    if built["rows"] is not None:
        metadata["dagster/row_count"] = int(built["rows"])
    return AssetMaterialization(
        asset_key=key,
        description="built outside Dagster (lms-warehouse models); recorded in learnupon.model_builds",
        metadata=metadata,
    )


@sensor(
    name="cli_model_builds",
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.RUNNING,
    description="Report model builds made outside Dagster (from learnupon.model_builds) as materializations of the model assets.",
)
def cli_model_builds(context: SensorEvaluationContext, warehouse: WarehouseResource) -> SensorResult | SkipReason:
    built, ours = recorded_outside(context, warehouse, builds_since)
    if isinstance(built, SkipReason):
        return built
    if not built:
        return SkipReason("no new model build in model_builds")
    # the model assets by model name (a model since removed from the project, or the sync's, has none)
    keys = {key.path[-1]: key for key in MODEL_KEYS}
    events = [
        model_materialization(b, keys[b["model"]]) for b in built if b["build_id"] not in ours and b["model"] in keys
    ]
    return SensorResult(asset_events=events, cursor=built[-1]["finished_at"].isoformat())
