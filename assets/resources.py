"""Dagster resources: where the warehouse is, and how a run reaches the portal.

Both read their defaults from the environment when a run starts, so the same code serves the
demo, tests and production. Dagster config (the launchpad, run_config) may set the warehouse
folder and destination and the extraction knobs; it never holds a credential: the portal's
keys come only from LEARNUPON_* environment variables or dlt's secrets.toml.
"""


import os
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

import duckdb
from dagster import ConfigurableResource
from pydantic import Field

from pipelines.config import PortalSettings, reconcile_days
from pipelines.learnupon.context import ExtractContext
from pipelines.learnupon.settings import ExtractOptions
from pipelines.models import database_path
from pipelines.runner import Warehouse

DEFAULT_DIR = "data"
DEFAULT_DESTINATION = "duckdb"


class WarehouseResource(ConfigurableResource):
    """The warehouse a run writes: LMS_WAREHOUSE_DIR (default `data`) and LMS_WAREHOUSE_DESTINATION
    (duckdb or parquet, default duckdb) unless set in Dagster config."""

    out_dir: str | None = Field(default=None, description="Warehouse folder; default $LMS_WAREHOUSE_DIR or 'data'.")
    destination: str | None = Field(
        default=None, description="duckdb or parquet; default $LMS_WAREHOUSE_DESTINATION or 'duckdb'."
    )

    def warehouse(self) -> Warehouse:
        out_dir = self.out_dir or os.environ.get("LMS_WAREHOUSE_DIR") or DEFAULT_DIR
        destination = self.destination or os.environ.get("LMS_WAREHOUSE_DESTINATION") or DEFAULT_DESTINATION
        return Warehouse(destination=destination, out_dir=Path(out_dir))

    @contextmanager
    def raw(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the raw tables, `learnupon.<table>`."""
        warehouse = self.warehouse()
        if warehouse.destination == "delta":
            with warehouse.delta_lake.connect() as con:  # the lake's tables read through deltalake
                yield con
            return
        # the Parquet destination's raw tables are read in its working DuckDB file, the system of record
        with duckdb.connect(str(warehouse.duckdb_path), read_only=True) as con:
            yield con

    @contextmanager
    def models(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the database that holds the staging views and reporting tables."""
        with duckdb.connect(str(database_path(self.warehouse())), read_only=True) as con:
            yield con


class LearnUponResource(ConfigurableResource):
    """How a run extracts: the portal from LEARNUPON_* settings, and the extraction knobs."""

    workers: int | None = Field(default=None, description="Parallel calls; default $LEARNUPON_WORKERS or 4.")
    enrollment_lookback_days: int = 1
    initial_date: str | None = Field(default=None, description="YYYY-MM-DD a first load starts from.")
    answer_batch: int = 2000
    attendance_lookback_days: int = 14
    reconcile_every_days: int | None = Field(
        default=None, description="Days between full enrollment reconciliations; default $LEARNUPON_RECONCILE_DAYS or 7 (0: never)."
    )

    def settings(self) -> PortalSettings:
        return PortalSettings.from_environment(workers=self.workers)

    def extract_context(self, run_id: str) -> ExtractContext:
        settings = self.settings()  # fails here, with the missing setting's name, before anything runs
        options = ExtractOptions(
            enrollment_lookback_days=self.enrollment_lookback_days,
            initial_date=self.initial_date,
            workers=settings.workers,
            answer_batch=self.answer_batch,
            attendance_lookback_days=self.attendance_lookback_days,
            reconcile_every_days=self.reconcile_every_days if self.reconcile_every_days is not None else reconcile_days(),
        )
        return ExtractContext(client_factory=settings.client, options=options, run_id=run_id)
