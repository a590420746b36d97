"""The dbt project in sql/, built into a warehouse.

project.py        the project: its names and its graph of models
manifest.py       its one dagster-dbt DbtProject: the parsed manifest Dagster and the dictionary read (imports Dagster)
profile.py        the warehouse's dbt profile (its destination's target) and dbt's shared arguments
build.py          the CLI's in-process `dbt build` (dbtRunner), and what a Dagster build shares with it
export.py         the reporting tables as Parquet files
build_records.py  the builds' run records (`learnupon.model_builds`)
"""

from .build import BuildResult, TestOutcome, build_models, generate_docs
from .project import ON_DEMAND_TAGS, PROJECT, PROJECT_DIR, SOURCE, ModelError

__all__ = [
    "ON_DEMAND_TAGS",
    "PROJECT",
    "PROJECT_DIR",
    "SOURCE",
    "BuildResult",
    "ModelError",
    "TestOutcome",
    "build_models",
    "generate_docs",
]
