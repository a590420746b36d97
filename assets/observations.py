"""Loads made outside Dagster (`lms-warehouse run`, cron, a notebook) shown on the source assets.

Every load, whoever starts it, writes a row to `learnupon.pipeline_runs`. The sensor
`cli_loads` reads the succeeded rows it has not seen yet (its cursor is the newest
`finished_at` seen) and reports a runless materialization of each resource such a run
loaded, unless the run was a Dagster run (those materialized their assets themselves). So the
UI shows when each resource was last loaded, not "Never materialized", and the freshness
checks (which read `pipeline_runs`) agree with it.
"""

from datetime import datetime, timedelta
from typing import Any

from dagster import (
    AssetMaterialization,
    DefaultSensorStatus,
    MetadataValue,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from pipelines.learnupon import ALL_RESOURCES

from .extract import resource_key
from .resources import READ_ERRORS, WarehouseResource

RAW = "learnupon"


def loads_since(con: Any, after: str | None) -> list[dict[str, Any]]:
    """Succeeded runs that finished after the ISO timestamp `after` (all when None), oldest first."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = 'pipeline_runs'", [RAW]
    ).fetchone()[0]
    if not exists:
        return []
    cursor = con.execute(
        f"select run_id, finished_at, resources, rows_loaded, api_calls from {RAW}.pipeline_runs"
        " where status = 'succeeded' and (? is null or finished_at > cast(? as timestamptz))"
        " order by finished_at",
        [after, after],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def dagster_run_ids(context: SensorEvaluationContext, since: datetime) -> set[str]:
    """The pipeline_runs ids Dagster runs use (their run id, dashes dropped, first 12 characters)."""
    runs = context.instance.get_runs(filters=RunsFilter(created_after=since), limit=10_000)
    return {run.run_id.replace("-", "")[:12] for run in runs}


def materializations(load: dict[str, Any]) -> list[AssetMaterialization]:
    resources = [r for r in (load["resources"] or "").split(",") if r in ALL_RESOURCES]
    return [
        AssetMaterialization(
            asset_key=resource_key(resource),
            description="loaded outside Dagster (lms-warehouse run); recorded in learnupon.pipeline_runs",
            metadata={
                "pipeline_run_id": load["run_id"],
                "finished_at": MetadataValue.timestamp(load["finished_at"]),
                "run_rows_loaded": int(load["rows_loaded"] or 0),
                "run_api_calls": int(load["api_calls"] or 0),
                "loaded_by": "outside Dagster",
            },
        )
        for resource in resources
    ]


@sensor(
    name="cli_loads",
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.RUNNING,
    description="Report loads made outside Dagster (from learnupon.pipeline_runs) as materializations of the source assets.",
)
def cli_loads(context: SensorEvaluationContext, warehouse: WarehouseResource) -> SensorResult | SkipReason:
    try:
        with warehouse.raw() as con:
            loads = loads_since(con, context.cursor)
    except READ_ERRORS as exc:  # a load holds the DuckDB file, or the server is down: look again next time
        return SkipReason(f"warehouse not readable now: {exc}")
    if not loads:
        return SkipReason("no new load in pipeline_runs")
    ours = dagster_run_ids(context, min(load["finished_at"] for load in loads) - timedelta(days=1))
    events = [event for load in loads if load["run_id"] not in ours for event in materializations(load)]
    return SensorResult(asset_events=events, cursor=loads[-1]["finished_at"].isoformat())
