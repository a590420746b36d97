"""The dbt project in sql/ as Dagster assets, through dagster-dbt.

`@dbt_assets` makes one asset per dbt model (keys [<schema>, <model>]: staging, intermediate,
reporting; groups of the same names) and one asset check per dbt data test. The translator
wires each dbt source (`source('learnupon', <table>)`) to the `learnupon/<resource>` asset of
the dlt resource that loads that table, so the graph reads source -> staging -> intermediate
-> reporting. Execution is ours, not `DbtCliResource`: `build_models` runs dbt in-process
exactly as `lms-warehouse models` does (missing raw tables skip their models, the Parquet
export follows), and its results become materializations (rows, column schema with the
warehouse's types and the dbt descriptions) and check results.
"""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from pipelines.destinations import KINDS
from pipelines.learnupon import TABLE_RESOURCES
from pipelines.models import ON_DEMAND_TAGS, SOURCE, BuildResult, build_models, project_manifest, run_tests
from pipelines.run.lock import run_lock

from .extract import WAREHOUSE_POOL, WRITER_TAGS, resource_key, storage_kind
from .resources import WarehouseResource, dagster_run_id

MANIFEST: dict[str, Any] = project_manifest()
LAYERS = ("staging", "intermediate", "reporting")  # the schemas, and the asset groups


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


@dbt_assets(
    manifest=MANIFEST,
    dagster_dbt_translator=TRANSLATOR,
    name="sql_models",
    # the user sync's models need a roster: assets/sync.py builds them as sync/sync_plan
    exclude=" ".join(f"tag:{tag}" for tag in ON_DEMAND_TAGS),
    pool=WAREHOUSE_POOL,
    op_tags=WRITER_TAGS,
)
def sql_models(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[Any]:
    """Build the selected models with `dbt build` (pipelines.models.build_models), or run the selected tests."""
    target = warehouse.warehouse()
    selected = sorted(key.path[-1] for key in context.selected_asset_keys)
    checks = set(context.selected_asset_check_keys)
    if selected:
        # the build writes the warehouse: it holds the run lock like a load, then refreshes the BI snapshot
        with run_lock(target.out_dir, command="dagster models"):
            # recorded under this run's id: the cli_model_builds sensor leaves Dagster's own builds alone
            result = build_models(target, select=selected, build_id=dagster_run_id(context.run.run_id))
            target.backend.publish_models()  # DuckDB: the readers' snapshot
    else:  # the checks alone, as the UI runs them
        result = run_tests(target, [key.name for key in checks])
    for name, reason in result.skipped.items():
        context.log.warning(f"skipped {name}: {reason}")
    yield from _materializations(result, warehouse)
    yield from _check_results(result, checks)


def _materializations(result: BuildResult, warehouse: WarehouseResource) -> Iterator[MaterializeResult]:
    if not len(result):
        return
    with warehouse.models() as con:  # the database the models were built in: DuckDB or PostgreSQL
        for name, rows in result.items():
            schema = result.schemas[name]
            metadata: dict[str, Any] = {
                "dagster/relation_identifier": f"{schema}.{name}",
                "dagster/column_schema": column_schema(con, schema, name),
                "as_of": str(result.as_of),
                "database": _where(result.database),
            }
            if rows is not None:
                metadata["dagster/row_count"] = int(rows)
            yield MaterializeResult(asset_key=AssetKey([schema, name]), metadata=metadata)


def _where(database: Any) -> MetadataValue:
    """The DuckDB file the models are in, or the PostgreSQL server (postgresql://user@host:port/db, no password)."""
    return MetadataValue.path(str(database)) if isinstance(database, Path) else MetadataValue.text(str(database))


def _check_results(result: BuildResult, checks: set[Any]) -> Iterator[AssetCheckResult]:
    by_name = {key.name: key for key in checks}
    for test in result.tests:
        key = by_name.pop(test.name, None)
        if key is None:
            continue
        yield AssetCheckResult(
            asset_key=key.asset_key,
            check_name=key.name,
            passed=test.passed,
            severity=AssetCheckSeverity.WARN if test.severity == "warn" else AssetCheckSeverity.ERROR,
            metadata={
                "dbt_status": test.status,
                "failing_rows": int(test.failures or 0),
                **({"message": test.message} if test.message and not test.passed else {}),
            },
        )
    for key in by_name.values():  # the model was skipped: its raw tables are not loaded yet
        model = key.asset_key.path[-1]
        reason = result.skipped.get(model, "the test did not run")
        yield AssetCheckResult(asset_key=key.asset_key, check_name=key.name, passed=True, metadata={"note": f"not run: {reason}"})


MODEL_KEYS = [key for key in sql_models.keys]
