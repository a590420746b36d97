"""One Dagster asset per dlt resource of the learnupon source, all run through pipelines.run.runner.

The specs come from dagster-dlt's translator (keys, groups and deps set deliberately: a
resource reads the API, not another asset). Execution is ours, not DagsterDltResource.run:
`run_extract` finishes pending loads, loads exam answers in resumable batches and writes the
run to `pipeline_runs`, so a Dagster run behaves exactly like `lms-warehouse run`. One
multi-asset with can_subset: a run materializes only the resources selected. It is partitioned by
portal (assets/portals.py): a run of a partition loads that portal alone, as `lms-warehouse run
--portals <name>` does; a run without a partition loads the only configured portal.
"""


import os
from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    StaticPartitionsDefinition,
    multi_asset,
)
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from pipelines.learnupon import ALL_RESOURCES, TABLE_RESOURCES, learnupon_source
from pipelines.learnupon.context import ExtractContext
from pipelines.run.runner import PIPELINE_NAME, RunSummary, Warehouse, innermost, run_extract

from .portals import run_portal
from .resources import LearnUponResource, WarehouseResource, dagster_run_id

SOURCE_GROUP = "source"
KEY_PREFIX = "learnupon"
# one pool for every op that writes or reads the warehouse: DuckDB allows one writing process,
# and two runs of one dlt pipeline race on its state (dagster_home/dagster.yaml limits it to 1)
WAREHOUSE_POOL = "lms_warehouse"
# run tags the run queue limits (dagster_home/dagster.yaml): API runs never overlap, nor do writers
API_TAGS = {"lms_warehouse/api": "learnupon", "lms_warehouse/warehouse": "write"}
WRITER_TAGS = {"lms_warehouse/warehouse": "write"}
# set on a load run whose resources partly failed: the failed ones, comma-separated
FAILED_RESOURCES_TAG = "lms_warehouse/failed_resources"

# raw tables each resource writes (pipeline_runs and data_issues are written by every run)
RESOURCE_TABLES: dict[str, list[str]] = {name: [] for name in ALL_RESOURCES}
for _table, _resource in TABLE_RESOURCES.items():
    RESOURCE_TABLES[_resource].append(_table)


def resource_key(resource: str) -> AssetKey:
    return AssetKey([KEY_PREFIX, resource])


def storage_kind() -> str:
    """The kind tag of the raw tables (the destination's name); read when the definitions load (display only)."""
    return os.environ.get("LMS_WAREHOUSE_DESTINATION") or "duckdb"


class LearnUponTranslator(DagsterDltTranslator):
    """Keys ["learnupon", <resource>], group "source", no upstream deps (the API is outside the graph)."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        name = data.resource.name
        tables = RESOURCE_TABLES.get(name, [name])
        disposition = data.resource.write_disposition
        if isinstance(disposition, dict):
            disposition = disposition.get("disposition", "")
        description = (
            f"LearnUpon `{name}` loaded by dlt through pipelines.run.runner.run_extract ({disposition});"
            f" writes {', '.join(f'learnupon.{t}' for t in tables)}."
        )
        return spec.replace_attributes(
            key=resource_key(name),
            deps=[],
            group_name=SOURCE_GROUP,
            description=description,
            kinds={"dlt", storage_kind()},
            skippable=False,
        ).merge_attributes(metadata={"raw_tables": ", ".join(f"learnupon.{t}" for t in tables)})


def _no_client() -> Any:
    raise RuntimeError("the definitions' source is for specs only; runs build their own context")


def source_specs() -> list[AssetSpec]:
    """Specs of the 27 resources, in the source's own order, without touching the API."""
    source = learnupon_source(ExtractContext(client_factory=_no_client))
    translator = LearnUponTranslator()
    return [
        translator.get_asset_spec(DltResourceTranslatorData(resource=resource, pipeline=None))
        for resource in source.resources.values()
    ]


SOURCE_SPECS = source_specs()
SOURCE_KEYS = [spec.key for spec in SOURCE_SPECS]


# ---- dlt state: incremental cursors before and after a run ---------------------------------------


def cursor_values(warehouse: Warehouse, pipeline: str = PIPELINE_NAME) -> dict[str, dict[str, Any]]:
    """Per resource: each incremental's last_value and the scalar values it keeps in the dlt state of `pipeline`
    (each portal's own)."""
    try:
        state = warehouse.pipeline(pipeline).state
    except Exception:  # no state yet, or unreadable: the metadata just says so
        return {}
    resources = state.get("sources", {}).get(KEY_PREFIX, {}).get("resources", {})
    found: dict[str, dict[str, Any]] = {}
    for name, resource_state in resources.items():
        values: dict[str, Any] = {}
        for path, incremental in (resource_state.get("incremental") or {}).items():
            if isinstance(incremental, dict):
                values[path] = _plain(incremental.get("last_value"))
        for key, value in resource_state.items():
            if key != "incremental" and isinstance(value, (str, int, float, bool)):
                values[key] = _plain(value)
        if values:
            found[name] = values
    return found


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def materialization_metadata(
    resource: str, summary: RunSummary, before: dict[str, Any], after: dict[str, Any]
) -> dict[str, Any]:
    tables = RESOURCE_TABLES.get(resource, [resource])
    rows = {table: summary.rows.get(table, 0) for table in tables}
    api = summary.api
    rate = summary.rate_limit
    endpoints = {
        endpoint: {"calls": stats.get("calls", 0), "records": stats.get("records", 0)}
        for endpoint, stats in (api.get("endpoints") or {}).items()
    }
    metadata: dict[str, Any] = {
        "dagster/row_count": sum(rows.values()),
        "rows_loaded": MetadataValue.json(rows),
        "pipeline_run_id": summary.run_id,
        "portal": summary.portal,
        "run_resources": ", ".join(summary.resources),
        "api_calls_run_total": api.get("calls", 0),
        "api_calls_by_endpoint": MetadataValue.json(endpoints),
        "api_http_429": api.get("http_429", 0),
        "api_retries": api.get("retries", 0),
        "rate_limit_remaining_minute": _int_or_none(rate.get("remaining_minute")),
        "rate_limit_min_remaining_minute": _int_or_none(rate.get("min_remaining_minute")),
        "rate_limit_remaining_week": _int_or_none(rate.get("remaining_week")),
        "cursor_before": MetadataValue.json(before.get(resource) or {}),
        "cursor_after": MetadataValue.json(after.get(resource) or {}),
        "timings_seconds": MetadataValue.json({k: round(v, 3) for k, v in summary.timings.items()}),
        "data_issues_run_total": summary.data_issues,
    }
    # what a reconciliation re-read and its calls; modules re-read for sessions and shared modules
    reconciled = (summary.extra.get("reconciliations") or {}).get(resource)
    if reconciled:
        metadata["reconciliation"] = MetadataValue.json(reconciled)
    if resource == "modules" and summary.extra.get("modules_reread"):
        metadata["modules_reread"] = MetadataValue.json(summary.extra["modules_reread"])
    return {k: v for k, v in metadata.items() if v is not None}


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def extract_asset(partitions: StaticPartitionsDefinition) -> AssetsDefinition:
    """The source multi-asset, partitioned by portal (`partitions`: assets/portals.py)."""

    @multi_asset(
        name="learnupon_extract",
        specs=SOURCE_SPECS,
        can_subset=True,
        partitions_def=partitions,
        pool=WAREHOUSE_POOL,
        op_tags=API_TAGS,
        description="Extract and load the selected LearnUpon resources of the run's portal (its partition) in one dlt"
        " run (pipelines.run.runner.run_extract).",
    )
    def learnupon_extract(
        context: AssetExecutionContext, warehouse: WarehouseResource, learnupon: LearnUponResource
    ) -> Iterator[MaterializeResult]:
        yield from extract(context, warehouse, learnupon)

    return learnupon_extract


def extract(context: AssetExecutionContext, warehouse: WarehouseResource, learnupon: LearnUponResource) -> Iterator[MaterializeResult]:
    selected = {key.path[-1] for key in context.selected_asset_keys}
    resources = [name for name in ALL_RESOURCES if name in selected]
    target = warehouse.warehouse()
    portal_context, pipeline = learnupon.portal_run(run_portal(context), run_id=dagster_run_id(context.run.run_id))
    before = cursor_values(target, pipeline)
    context.log.info(
        f"extracting {len(resources)} resource(s) of portal {portal_context.portal_name} into {target.location}: {', '.join(resources)}"
    )
    try:
        summary = run_extract(portal_context, target, resources, pipeline)
    except Exception as exc:  # the run failed as a whole (refused keys, the portal down, the warehouse busy)
        raise Failure(description=f"portal {portal_context.portal_name} was not loaded: {innermost(exc)}") from exc
    finally:
        portal_context.close()
    after = cursor_values(target, pipeline)
    context.log.info(
        f"run {summary.run_id} of portal {summary.portal}: {sum(summary.rows.values())} rows,"
        f" {summary.api.get('calls', 0)} API calls, {summary.rate_limit.get('remaining_week')} calls left this week"
    )
    if summary.data_issues:
        context.log.warning(f"{summary.data_issues} data issue(s): see learnupon.data_issues, run_id {summary.run_id}")
    for name in resources:
        if name not in summary.failed:
            yield MaterializeResult(asset_key=resource_key(name), metadata=materialization_metadata(name, summary, before, after))
    if summary.failed:
        # the others are materialized above; the step fails, naming each failed resource, and the
        # models_after_loads sensor rebuilds the models that do not need them (the tag says which)
        context.instance.add_run_tags(context.run.run_id, {FAILED_RESOURCES_TAG: ",".join(sorted(summary.failed))})
        raise Failure(
            description="; ".join(f"{name} was not loaded: {cause}" for name, cause in summary.failed.items()),
            metadata={"failed_resources": MetadataValue.json(summary.failed), "pipeline_run_id": summary.run_id},
        )
