"""Dagster resources: where the warehouse is, and how a run reaches the portal.

Both read their defaults from the environment when a run starts, so the same code serves the
demo, tests and production. Dagster config (the launchpad, run_config) may set the warehouse
folder, destination and Delta lake URL, and every setting of `lms-warehouse run` (the learnupon
resource's fields are derived from pipelines/learnupon/settings_spec.py). A password is given as an
environment variable's name (`{"env": "LEARNUPON_PASSWORD"}`, `EnvVar`), so run config never holds
it; left out, it comes from LEARNUPON_PASSWORD or dlt's secrets.toml. The warehouse's credentials
(PostgreSQL, a bucket) come only from dlt's configuration.
"""


import os
from contextlib import contextmanager
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
from dagster import ConfigurableResource
from pydantic import Field, create_model

from pipelines.config import (
    Portal,
    PortalSettings,
    configured_portals,
    extract_options,
    realm_members,
    resolve,
    run_settings,
)
from pipelines.destinations import DESTINATIONS
from pipelines.learnupon.context import ExtractContext
from pipelines.learnupon.errors import ConfigError
from pipelines.learnupon.settings_spec import SETTINGS, Setting
from pipelines.run.portals import pipeline_name
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


# where an invalid value in Dagster config is reported from
CONFIG_ORIGIN = "resources.learnupon.config."


class LearnUponSettingsResource(ConfigurableResource):
    """How a run extracts; its fields (one per setting, None: the environment, dlt's files, the default) are
    added from the spec below, as LearnUponResource."""

    def explicit(self) -> dict[str, Any]:
        return {s.name: getattr(self, s.name) for s in SETTINGS if getattr(self, s.name) is not None}

    def settings(self) -> PortalSettings:
        return run_settings(self.explicit(), CONFIG_ORIGIN)[0]

    def portals(self, names: Sequence[str] | None = None) -> list[Portal]:
        """The configured portals (`names` of them, else every one), checked in full: keys, names, addresses."""
        return configured_portals(self.explicit(), CONFIG_ORIGIN, names)

    def portal_run(self, portal: str | None, run_id: str) -> tuple[ExtractContext, str]:
        """The extract context and dlt pipeline of a run of `portal` (a partition), else of the only configured
        portal; fails here, with the setting's name, before anything runs."""
        every = self.portals()
        chosen = self.portals([portal]) if portal else every
        if len(chosen) != 1:
            raise ConfigError(
                f"{len(chosen)} portals are configured ({', '.join(p.name for p in chosen)}): materialize one partition"
                " per portal (a backfill of every partition loads them all)"
            )
        (one,) = chosen
        options = one.options(extract_options(resolve(self.explicit(), CONFIG_ORIGIN)))
        context = ExtractContext(client_factory=one.client, portal=one.name, options=options, run_id=run_id,
                                 configured_subdomains=realm_members(every))
        return context, pipeline_name(one.name, one.single)

    def extract_context(self, run_id: str) -> ExtractContext:
        # fails here, with the bad or missing setting's name, before anything runs
        settings, options = run_settings(self.explicit(), CONFIG_ORIGIN)
        return ExtractContext(client_factory=settings.client, options=options, run_id=run_id)


def _config_field(setting: Setting) -> tuple[Any, Any]:
    kind = str if setting.kind not in (int, bool) else setting.kind
    return kind | None, Field(default=None, description=setting.described())


LearnUponResource = create_model(  # type: ignore[call-overload]
    "LearnUponResource",
    __base__=LearnUponSettingsResource,
    __module__=__name__,
    __doc__="How a run extracts: every setting of `lms-warehouse run` (pipelines/learnupon/settings_spec.py).",
    **{setting.name: _config_field(setting) for setting in SETTINGS},
)
