"""Dagster resources: where the warehouse is, and how a run reaches the portal.

Both read their defaults from the environment when a run starts, so the same code serves the
demo, tests and production. Dagster config (the launchpad, run_config) may set the warehouse
folder, destination and Delta lake URL and the extraction knobs; it never holds a credential: the
portal's keys come only from LEARNUPON_* environment variables or dlt's secrets.toml, the
warehouse's (PostgreSQL, a bucket) only from dlt's configuration.
"""


import os
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
from dagster import ConfigurableResource
from pydantic import Field

from pipelines.config import PortalSettings, attendance_reconcile_days, reconcile_days
from pipelines.destinations import DESTINATIONS
from pipelines.learnupon.context import ExtractContext
from pipelines.learnupon.settings import ExtractOptions
from pipelines.run.runner import Warehouse

DEFAULT_DIR = "data"
DEFAULT_DESTINATION = "duckdb"


class WarehouseResource(ConfigurableResource):
    """The warehouse a run writes: LMS_WAREHOUSE_DIR (default `data`) and LMS_WAREHOUSE_DESTINATION
    (duckdb, parquet, delta or postgres; default duckdb) unless set in Dagster config. The
    destinations' credentials are dlt's (DESTINATION__POSTGRES__CREDENTIALS, the bucket's), never
    Dagster config."""

    out_dir: str | None = Field(
        default=None,
        description="Warehouse folder (dlt's working files, the run lock, dbt's folder; the DuckDB file for duckdb"
        " and parquet); default $LMS_WAREHOUSE_DIR or 'data'.",
    )
    destination: str | None = Field(
        default=None,
        description=f"One of {', '.join(DESTINATIONS)}; default $LMS_WAREHOUSE_DESTINATION or '{DEFAULT_DESTINATION}'."
        " postgres reads its credentials the dlt way (DESTINATION__POSTGRES__CREDENTIALS or .dlt/secrets.toml).",
    )
    delta_url: str | None = Field(
        default=None,
        description="delta only: the lake's URL (a folder, s3://, gs://, az://; credentials the dlt way); default"
        " $DESTINATION__FILESYSTEM__BUCKET_URL (dlt's config), else <out_dir>/delta.",
    )

    def warehouse(self) -> Warehouse:
        out_dir = self.out_dir or os.environ.get("LMS_WAREHOUSE_DIR") or DEFAULT_DIR
        destination = self.destination or os.environ.get("LMS_WAREHOUSE_DESTINATION") or DEFAULT_DESTINATION
        return Warehouse(destination=destination, out_dir=Path(out_dir), delta_url=self.delta_url)

    @contextmanager
    def raw(self) -> Iterator[Any]:
        """A read-only connection to the raw tables, `learnupon.<table>`: DuckDB's `execute(sql, params)`
        (`?` placeholders) on every destination, so checks written in SQL both engines speak run on each."""
        # PostgreSQL: the database itself; Delta: the lake read through deltalake; Parquet: its working
        # DuckDB file, the system of record (pipelines/destinations/)
        with self.warehouse().backend.raw_connection() as con:
            yield con

    @contextmanager
    def models(self) -> Iterator[Any]:
        """A read-only connection (as `raw()`) to the database that holds the staging views and reporting tables."""
        with self.warehouse().backend.models_connection() as con:
            yield con


def dagster_run_id(run_id: str) -> str:
    """The id a Dagster run's loads and builds are recorded under (pipeline_runs, model_builds)."""
    return run_id.replace("-", "")[:12]


# what a reader of the warehouse may raise when it cannot read it now (a load holds the DuckDB file, the server is down)
READ_ERRORS: tuple[type[Exception], ...] = (duckdb.Error, psycopg2.Error)


class LearnUponResource(ConfigurableResource):
    """How a run extracts: the portal from LEARNUPON_* settings, and the extraction knobs."""

    workers: int | None = Field(default=None, description="Parallel calls; default $LEARNUPON_WORKERS or 4.")
    enrollment_lookback_days: int = 1
    initial_date: str | None = Field(default=None, description="YYYY-MM-DD a first load starts from.")
    answer_batch: int = 2000
    attendance_lookback_days: int = 14
    reconcile_every_days: int | None = Field(
        default=None, description="Days between full reconciliations; default $LEARNUPON_RECONCILE_DAYS or 7 (0: never)."
    )
    attendance_reconcile_days: int | None = Field(
        default=None,
        description="A reconciliation re-reads the attendance of sessions that started within this many days;"
        " default $LEARNUPON_ATTENDANCE_RECONCILE_DAYS, else every session the portal lists (0: none beyond the look-back).",
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
            attendance_reconcile_days=(
                self.attendance_reconcile_days if self.attendance_reconcile_days is not None else attendance_reconcile_days()
            ),
        )
        return ExtractContext(client_factory=settings.client, options=options, run_id=run_id)
