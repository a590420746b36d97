"""Run records of model builds: one row per model built, in `learnupon.model_builds`.

Every build, whoever starts it (`lms-warehouse models`, `report`, `demo`, Dagster), records
the models it built there, as every load records itself in `pipeline_runs`. Dagster's sensor
`cli_model_builds` (assets/observations.py) reads the rows of builds made outside Dagster and
shows them as materializations of the model assets.

Written by dlt with a pipeline of its own (`lms_warehouse_records`), so a load package the
extract pipeline left pending is never loaded by this small write behind its back.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

MODEL_BUILDS = "model_builds"
RECORDS_PIPELINE = "lms_warehouse_records"
MODEL_BUILDS_COLUMNS = {
    "build_id": "text",  # a Dagster run's id (dashes dropped, 12 characters) for Dagster's builds
    "model": "text",
    "relation": "text",  # <schema>.<model>
    "rows": "int",  # NULL for a view
    "as_of": "text",  # the reports' date, YYYY-MM-DD
    "started_at": "timestamp",
    "finished_at": "timestamp",
}


def new_build_id() -> str:
    return uuid.uuid4().hex[:12]


def record_build(warehouse: Any, result: Any, build_id: str, started_at: datetime, finished_at: datetime) -> None:
    """Append one row per model `result` (pipelines.models.build.BuildResult) built."""
    if not len(result):
        return
    import dlt
    from dlt.common.schema.typing import C_DLT_LOAD_ID

    from ..learnupon.arrow import IssueLog, to_arrow

    rows = [
        {
            "build_id": build_id,
            "model": name,
            "relation": result.relation(name),
            "rows": rows,
            "as_of": str(result.as_of),
            "started_at": started_at,
            "finished_at": finished_at,
        }
        for name, rows in result.items()
    ]
    table = to_arrow(rows, MODEL_BUILDS_COLUMNS, table=MODEL_BUILDS, key=[], issues=IssueLog())
    pipeline = warehouse.pipeline(RECORDS_PIPELINE)
    # nullable: a warehouse whose model_builds a build of an earlier version made without the column gets it
    # added, NULL in those rows (a NOT NULL column could not be added to them)
    load_id = {C_DLT_LOAD_ID: {"name": C_DLT_LOAD_ID, "data_type": "text", "nullable": True}}
    resource = dlt.resource([table], name=MODEL_BUILDS, write_disposition="append", columns=load_id)
    pipeline.run(resource, table_format=warehouse.backend.table_format)
