"""The Delta destination: dlt's filesystem destination writing Delta tables (a folder or a bucket); the steps
after a load, the retirement and the models' copy live in pipelines/destinations/delta_lake/."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from ..learnupon.errors import ConfigError
from .base import Destination



class Delta(Destination):
    name = "delta"
    table_format = "delta"
    appends_first_loads = False  # its merges are its own (delta_lake/strategy.py): SCD2 lands in a listing table

    def dlt_destination(self) -> Any:
        from .delta_lake.lake import TABLE_PROPERTIES, bucket_url
        from .delta_lake.load_jobs import PARALLELISM, lake_filesystem

        warehouse = self.warehouse
        return lake_filesystem(
            bucket_url=bucket_url(warehouse.delta_url, warehouse.out_dir / "delta"),
            # every table queued at once, one Delta write or merge at a time (delta_lake/load_jobs.py): each holds
            # its own Arrow batches and merge state, so parallel writes added their peaks (docs/benchmarks.md,
            # memory); LOAD__PARALLELISM_STRATEGY wins
            loader_parallelism_strategy=PARALLELISM,
            deltalake_configuration=TABLE_PROPERTIES,  # the tables dlt creates: smaller files, less memory per write
        )

    @cached_property
    def lake(self) -> Any:
        """The Delta tables (pipelines/destinations/delta_lake/), one object for the whole run."""
        from .delta_lake import DeltaLake

        return DeltaLake(self.dlt_destination(), self.warehouse.dataset)

    @property
    def location(self) -> str:
        return self.lake.display_url

    def check_before_run(self) -> None:
        self.lake.config  # the bucket's settings resolve before the first API call (ConfigError)

    def resumed_tables(self, pipeline: Any) -> Any:
        from .delta_lake.resumed_load import DeltaResumedTables

        return DeltaResumedTables(self.lake)

    def finish_interrupted(self, pipeline: Any) -> None:
        self.lake.ensure_properties()  # a lake made before TABLE_PROPERTIES: its merges then buffer smaller files
        self.retire(pipeline)  # every step after a load is idempotent, so finishing a killed one is running it again

    def prepare_extract(self, pipeline: Any, context: Any) -> None:
        from ..run.warehouse_facts import read_facts

        context.facts = read_facts(self.lake, context.portal_name)  # the same SQL, over DuckDB views of the Delta tables

    def adopt_rows_without_portal(self, pipeline: Any, portal: str, alone: bool) -> dict[str, int]:
        """Not done on Delta tables yet: a Delta warehouse made before portals is reloaded into a new folder."""
        return {}

    def adapt_source(self, source: Any) -> Any:
        """Tables' hints as Delta merges need them (pipelines/destinations/delta_lake/strategy.py)."""
        from .delta_lake import adapt_source

        return adapt_source(source)

    def retire(self, pipeline: Any, guard: Any = None) -> dict[str, int]:
        """SCD2 histories and replaced days first (what dlt's Delta merge cannot do), then retirement."""
        from ..malloc import release_free_memory
        from .delta_lake.history import finish_history

        release_free_memory()  # what dlt's Delta writes and merges freed, before the merges here
        finish_history(pipeline, self.lake)
        release_free_memory()
        return super().retire(pipeline, guard)

    def retiring_tables(self, pipeline: Any) -> Any:
        from .delta_lake.retirement import DeltaRetiringTables

        return DeltaRetiringTables.of(pipeline, self.lake)

    # ---- erasure ----------------------------------------------------------------------------------------

    def erase_rows(self, targets: Mapping[str, tuple[set[int], set[str]]], key: bytes) -> dict[str, int]:
        """The lake's tables copied into DuckDB, erased there, and each changed one (and each SCD2 listing, empty
        between loads) written back as a new Delta table: no older file version keeps the values. The files of
        the others' older versions are vacuumed."""
        from ..privacy.erasure_sql import erase_people
        from .delta_lake.lake import arrow_dataset, duckdb_connection
        from .delta_lake.strategy import LISTING_SUFFIX
        from .duckdb import DuckDbSession

        lake, dataset = self.lake, self.warehouse.dataset
        con = duckdb_connection()
        try:
            con.execute(f'create schema "{dataset}"')
            schemas = {}
            for name in lake.table_names():
                dt = lake.open(name)
                if dt is None:
                    continue
                schemas[name] = dt
                con.register("__delta_table", arrow_dataset(dt))
                con.execute(f'create table "{dataset}"."{name}" as select * from __delta_table')
                con.unregister("__delta_table")
            counts = erase_people(DuckDbSession(con), dataset, targets, key)
            changed = {qualified.partition(".")[2] for qualified in counts}
            for name, dt in schemas.items():
                if name in changed or name.endswith(LISTING_SUFFIX):  # a listing is empty now, its older versions are not
                    data = con.sql(f'select * from "{dataset}"."{name}"').to_arrow_table()
                    lake.rewrite_whole(name, data.cast(arrow_dataset(dt).schema))  # the table's own types, not DuckDB's
                else:  # no erased value now; files of older versions that held one are deleted
                    dt.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
        finally:
            con.close()
        return counts

    def compact(self, tables: Any) -> None:
        """The raw tables were rewritten whole; the marts (written again by the rebuild, their older versions
        hold the old values) are rewritten whole too, and the models' working file copied without freed blocks."""
        from .delta_lake.lake import MARTS, arrow_dataset
        from .duckdb_storage import rewrite

        lake = self.lake
        for name in lake.table_names(MARTS):
            dt = lake.open(name, MARTS)
            if dt is not None:
                lake.rewrite_whole(name, arrow_dataset(dt).to_table(), MARTS)
        if self.models_database.exists():
            rewrite(self.models_database)

    # ---- the SQL models ---------------------------------------------------------------------------

    def check_raw(self) -> None:
        if not self.lake.exists():
            raise ConfigError(f"no Delta warehouse at {self.location}: run the pipeline with --destination delta first")

    @property
    def models_database(self) -> Path:
        """A working file beside the lake: raw tables copied in, marts written back."""
        from .delta_lake.reporting import MODELS_DB

        return Path(self.warehouse.out_dir) / MODELS_DB

    def model_inputs(self, database: Any) -> tuple[set[str], set[str]]:
        import duckdb

        from .delta_lake.reporting import copy_raw_tables
        from .base import relations_in

        with duckdb.connect(str(database)) as con:
            raw_tables = copy_raw_tables(con, self.lake)
            return raw_tables, relations_in(con)

    def publish_marts(self, database: Any, marts: dict[str, str]) -> None:
        from .delta_lake.reporting import publish_marts

        publish_marts(database, marts, self.lake)

    # ---- readers -----------------------------------------------------------------------------------

    @contextmanager
    def raw_connection(self) -> Iterator[Any]:
        with self.lake.connect() as con:  # the lake's tables read through deltalake
            yield con
