"""One Dagster asset per SQL model in sql/: staging views, then reporting marts.

Keys ["staging", <model>] and ["reporting", <model>], groups of the same names. Dependencies
come from the SQL itself (pipelines.models.discover_models): other models, and the source
assets of the raw tables a model reads (TABLE_RESOURCES), so the graph reads
source -> staging -> reporting. One multi-asset with can_subset, built by build_models.
"""


from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from pipelines.learnupon import TABLE_RESOURCES
from pipelines.models import Model, build_models, discover_models

from .extract import WAREHOUSE_POOL, WRITER_TAGS, resource_key
from .resources import WarehouseResource

MODELS: list[Model] = discover_models()
MODELS_BY_NAME = {model.name: model for model in MODELS}


def model_key(model: Model) -> AssetKey:
    return AssetKey([model.layer, model.name])


def model_spec(model: Model) -> AssetSpec:
    deps = [model_key(MODELS_BY_NAME[dep]) for dep in model.depends_on]
    resources = sorted({TABLE_RESOURCES[table] for table in model.sources if table in TABLE_RESOURCES})
    deps += [resource_key(resource) for resource in resources]
    first_line = next((line[2:].strip() for line in model.sql.splitlines() if line.startswith("--")), "")
    kind = "view" if model.layer == "staging" else "table"
    return AssetSpec(
        key=model_key(model),
        deps=deps,
        group_name=model.layer,
        description=first_line or f"{model.layer}.{model.name}",
        kinds={"sql", "duckdb"},
        skippable=True,  # a model whose raw tables are not loaded yet is skipped, and so are its dependents
        metadata={
            "relation": model.relation,
            "materialized_as": kind,
            "sql_file": f"sql/{model.path.parent.name}/{model.path.name}",
            "raw_tables": ", ".join(f"learnupon.{t}" for t in model.sources),
        },
    )


MODEL_SPECS = [model_spec(model) for model in MODELS]
MODEL_KEYS = [spec.key for spec in MODEL_SPECS]


@multi_asset(
    name="sql_models",
    specs=MODEL_SPECS,
    can_subset=True,
    pool=WAREHOUSE_POOL,
    op_tags=WRITER_TAGS,
    description="Build the selected SQL models (pipelines.models.build_models) in one transaction.",
)
def sql_models(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[MaterializeResult]:
    selected = {key.path[-1] for key in context.selected_asset_keys}
    target = warehouse.warehouse()
    result = build_models(target, select=sorted(selected))
    for name, reason in result.skipped.items():
        context.log.warning(f"skipped {name}: {reason}")
    for model in MODELS:
        if model.name not in result:
            continue
        yield MaterializeResult(
            asset_key=model_key(model),
            metadata={
                "dagster/row_count": int(result[model.name]),
                "as_of": str(result.as_of),
                **({"database": MetadataValue.path(str(result.database))} if result.database else {}),
            },
        )
