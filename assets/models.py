"""The dbt project in sql/ as Dagster assets, the dagster-dbt way.

`@dbt_assets` reads the manifest of the project's one `DbtProject` (pipelines/models/project.py)
and makes one asset per dbt model (keys [<schema>, <model>]: staging, intermediate, reporting;
groups of the same names) and one asset check per dbt data test. The translator wires each dbt
source (`source('learnupon', <table>)`) to the `learnupon/<resource>` asset of the dlt resource
that loads that table, so the graph reads source -> staging -> intermediate -> reporting.

A run builds through `DbtCliResource`: `dbt.cli(["build"], context=context).stream()` with
dagster-dbt's column metadata (and lineage), with the warehouse's own profile
(pipelines/models/profile.py). What the CLI's build does around dbt is shared
(pipelines/models/build.py): models whose raw tables are missing are left out with the reason,
and afterwards the marts are exported (Parquet) and published (Delta), every build is recorded
in `model_builds`, and the readers' snapshot is refreshed. The events are yielded once all that
is done: a materialization means the model is built and published, and carries the row count
the build counted.
"""

import functools
import json
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.destinations import KINDS
from pipelines.learnupon import TABLE_RESOURCES
from pipelines.models.build import RUN_RESULTS, BuildResult, collect_run_results, finish_build, plan_build, release_connections
from pipelines.models.manifest import DBT_EXECUTABLE, DBT_PROJECT, prepared_manifest_path
from pipelines.models.project import ON_DEMAND_TAGS, SOURCE, ModelError
from pipelines.run.lock import run_lock

from .extract import WAREHOUSE_POOL, WRITER_TAGS, resource_key, storage_kind
from .resources import WarehouseResource, dagster_run_id

MANIFEST_PATH = prepared_manifest_path()
MANIFEST: dict[str, Any] = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
LAYERS = ("staging", "intermediate", "reporting")  # the schemas, and the asset groups
DAGSTER_TARGET = "dagster-target"  # dbt's target folder for Dagster's builds, in the warehouse's dbt folder


def models_kind() -> str:
    """The engine the models are built in (display only): PostgreSQL's own, else DuckDB (for delta, beside the lake)."""
    kind = KINDS.get(storage_kind())
    return kind.models_kind if kind else "duckdb"  # an unknown name fails when a run starts, not here


class LmsDbtTranslator(DagsterDbtTranslator):
    """Models keyed [<schema>, <model>]; a source table keyed by the dlt resource that loads it."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source" and dbt_resource_props["source_name"] == SOURCE:
            table = dbt_resource_props["name"]
            return resource_key(TABLE_RESOURCES.get(table, table))
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> AssetSpec:
        # the manifest is parsed with a DuckDB profile; the kind says the engine the models are built in
        spec = super().get_asset_spec(manifest, unique_id, project)
        return spec.replace_attributes(kinds={*(spec.kinds - {"duckdb"}), models_kind()})

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return None
        return dbt_resource_props["schema"]


# several raw tables are written by one resource (exam questions and options by `exams`, ...)
TRANSLATOR = LmsDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True))


def _descriptions(name: str) -> dict[str, str]:
    node = next(n for n in MANIFEST["nodes"].values() if n["resource_type"] == "model" and n["name"] == name)
    return {column: props.get("description") or "" for column, props in node.get("columns", {}).items()}


def column_schema(con: Any, schema: str, name: str) -> TableSchema:
    """The relation's columns as built (types from the warehouse) with the dbt descriptions."""
    described = _descriptions(name)
    rows = con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    return TableSchema(
        columns=[TableColumn(name=column, type=kind.lower(), description=described.get(column) or None) for column, kind in rows]
    )


@functools.lru_cache(maxsize=8)
def dbt_cli(profiles_dir: str) -> DbtCliResource:
    """The dbt CLI for a warehouse's profile folder, one per process: a new resource asks the dbt executable
    its version again (`dbt --version`, a second Python process costing about a second of CPU)."""
    return DbtCliResource(project_dir=DBT_PROJECT, profiles_dir=profiles_dir, dbt_executable=DBT_EXECUTABLE)


@dbt_assets(
    manifest=MANIFEST_PATH,
    project=DBT_PROJECT,
    dagster_dbt_translator=TRANSLATOR,
    name="sql_models",
    # the user sync's models need a roster: assets/sync.py builds them as sync/sync_plan
    exclude=" ".join(f"tag:{tag}" for tag in ON_DEMAND_TAGS),
    pool=WAREHOUSE_POOL,
    op_tags=WRITER_TAGS,
)
def sql_models(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[Any]:
    """`dbt build` of the selected models and their tests (or the selected tests alone, as the UI runs checks)."""
    target = warehouse.warehouse()
    selected = sorted(key.path[-1] for key in context.selected_asset_keys)
    checks = set(context.selected_asset_check_keys)
    # a build writes the warehouse: it holds the run lock like a load, then refreshes the BI snapshot
    with run_lock(target.out_dir, command="dagster models") if selected else nullcontext():
        plan, result = plan_build(target, select=selected)
        for name, reason in result.skipped.items():
            context.log.warning(f"skipped {name}: {reason}")
        left_out = sorted(set(selected) - set(plan.to_build)) if selected else _tests_of_absent_models(checks, target, plan)
        args = ["build", "--vars", json.dumps(plan.vars), "--exclude-resource-type", "unit_test"]
        if left_out:
            args += ["--exclude", *left_out]
        dbt = dbt_cli(str(plan.work))
        invocation = dbt.cli(args, context=context, target_path=plan.work / DAGSTER_TARGET, raise_on_error=False)
        try:
            # dbt's output is read to its end before dagster-dbt's metadata threads see it: streamed, their
            # loop polls for the next event without a pause for the whole build (dagster's `imap`), a core's
            # worth of CPU. The row counts are the build's own (finish_build), added below.
            invocation.is_successful()
            events = list(invocation.stream().fetch_column_metadata())
        finally:
            release_connections()  # the column metadata opened the warehouse through dbt's adapter in this process
        try:
            run_results = invocation.get_artifact(RUN_RESULTS)
        except OSError:  # dbt stopped before running anything (the project did not parse, the profile was refused)
            raise ModelError(f"dbt build did not run: {invocation.get_error()}") from None
        collect_run_results(result, run_results, plan.graph)
        if selected:
            # recorded under this run's id: the cli_model_builds sensor leaves Dagster's own builds alone
            finish_build(target, plan, result, export_parquet=True, build_id=dagster_run_id(context.run.run_id))
            target.backend.publish_models()  # DuckDB: the readers' snapshot
    yield from _with_build_metadata(context, events, result, warehouse)
    yield from _not_run(events, checks, result)
    if result.errors:  # after the events: what did build is materialized
        raise ModelError("; ".join(f"{name} failed: {msg}" for name, msg in result.errors.items()))


def _tests_of_absent_models(checks: set[AssetCheckKey], target: Any, plan: Any) -> list[str]:
    """The selected checks whose model has not been built (a checks-only run): dbt would fail on the missing relation."""
    existing = target.backend.relations(plan.database)
    return sorted(
        key.name for key in checks if f"{key.asset_key.path[0]}.{key.asset_key.path[-1]}".lower() not in existing
    )


def _with_build_metadata(
    context: AssetExecutionContext, events: list[Any], result: BuildResult, warehouse: WarehouseResource
) -> Iterator[Any]:
    """dagster-dbt's events, each materialization with the build's as-of date and database, its row count, and
    its columns read from the warehouse where dagster-dbt could not read them (the manifest names another database)."""
    if not any(isinstance(e, (Output, AssetMaterialization)) for e in events):
        yield from events
        return
    with warehouse.models() as con:  # the database the models were built in: DuckDB or PostgreSQL
        for event in events:
            if isinstance(event, (Output, AssetMaterialization)):
                key = event.asset_key if isinstance(event, AssetMaterialization) else context.asset_key_for_output(event.output_name)
                name = key.path[-1]
                metadata: dict[str, Any] = {"as_of": str(result.as_of), "database": _where(result.database)}
                if "dagster/column_schema" not in event.metadata and name in result.schemas:
                    metadata["dagster/column_schema"] = column_schema(con, result.schemas[name], name)
                if "dagster/row_count" not in event.metadata and result.get(name) is not None:
                    metadata["dagster/row_count"] = int(result[name])
                event = event.with_metadata({**event.metadata, **metadata})
            yield event


def _where(database: Any) -> MetadataValue:
    """The DuckDB file the models are in, or the PostgreSQL server (postgresql://user@host:port/db, no password)."""
    return MetadataValue.path(str(database)) if isinstance(database, Path) else MetadataValue.text(str(database))


def _not_run(events: list[Any], checks: set[AssetCheckKey], result: BuildResult) -> Iterator[AssetCheckResult]:
    """A passing result, with the reason, for each selected check dbt did not run: its model's raw tables are not loaded yet."""
    ran = {e.asset_check_key for e in events if isinstance(e, AssetCheckEvaluation)} | {
        AssetCheckKey(e.asset_key, e.check_name) for e in events if isinstance(e, AssetCheckResult)
    }
    for key in sorted(checks - ran, key=lambda k: k.to_user_string()):
        model = key.asset_key.path[-1]
        reason = result.skipped.get(model, f"{key.asset_key.path[0]}.{model} has not been built")
        yield AssetCheckResult(asset_key=key.asset_key, check_name=key.name, passed=True, metadata={"note": f"not run: {reason}"})


MODEL_KEYS = [key for key in sql_models.keys]
