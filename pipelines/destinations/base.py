"""What every destination does for a run, a model build and a reader: the one interface the callers use.

The runner, the model build, the summary, the report, the user sync and Dagster's resources call a
`Destination` and never ask which one it is; what differs between engines lives in one module each
(duckdb.py, parquet.py, delta.py, postgres.py). Defaults here are what most destinations do.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..learnupon.errors import ConfigError

if TYPE_CHECKING:
    from ..run.mass_retirement import MassRetirementGuard
    from ..run.resumed_load import ResumedTables
    from ..run.retirement import RetiringTables


class Destination(ABC):
    """One warehouse kind, bound to a `pipelines.run.runner.Warehouse` (its folder, dataset and settings)."""

    name: ClassVar[str]
    # dlt's table_format for every load of this destination (Delta tables on dlt's filesystem destination)
    table_format: ClassVar[str | None] = None
    # a merge table's first load may be an append (pipelines/run/first_loads.py): dlt's SQL merge would
    # copy the rows from a staging table into an empty one
    appends_first_loads: ClassVar[bool] = True
    # the engine the SQL models are built in (Dagster's kind tag: display only)
    models_kind: ClassVar[str] = "duckdb"

    def __init__(self, warehouse: Any) -> None:
        self.warehouse = warehouse

    # ---- configuration -------------------------------------------------------------------------

    def check_settings(self) -> None:
        """Settings checked when the warehouse is declared: one ConfigError line before anything starts."""

    @abstractmethod
    def dlt_destination(self) -> Any:
        """The dlt destination the loads go through."""

    @property
    @abstractmethod
    def location(self) -> Path | str:
        """Where the loads land, as the run's summary and errors name it."""

    # ---- a run -------------------------------------------------------------------------------------

    def check_before_run(self) -> None:
        """Pre-flight, under the run lock and before the first API call (a busy file, bad credentials)."""

    def check_writable(self, consequence: str) -> None:
        """Before a step that writes the warehouse: WarehouseBusy (exit 75) if another process holds it now."""

    def held_open(self, consequence: str) -> AbstractContextManager[None]:
        """Around a run's steps that use the warehouse (its preparation before the API is read; its load,
        retirement and record): what keeps the warehouse open for them, checked writable as check_writable does."""
        from contextlib import nullcontext

        return nullcontext()

    def prepare_resumed_packages(self, pipeline: Any) -> None:
        """Make a package a killed load left half-loaded load exactly once when it resumes (pipelines/run/resumed_load.py)."""
        from ..run.resumed_load import prepare_resumed_packages

        prepare_resumed_packages(pipeline, self.resumed_tables(pipeline))

    def resumed_tables(self, pipeline: Any) -> ResumedTables:
        """This engine's part of the resumed-load repair: dlt's SQL client by default."""
        from .sql_tables import SqlResumedTables

        return SqlResumedTables(pipeline)

    def finish_interrupted(self, pipeline: Any) -> None:
        """Before a run extracts: finish the steps after a load that a kill may have cut short."""

    def prepare_extract(self, pipeline: Any, context: Any) -> None:
        """The facts the extract reads from the warehouse (pipelines/run/warehouse_facts.py), into `context`."""
        from ..run.warehouse_facts import read_facts

        context.facts = read_facts(pipeline, context.portal_name)

    def adopt_rows_without_portal(self, pipeline: Any, portal: str, alone: bool) -> dict[str, int]:
        """Rows written before raw tables had a portal column become `portal`'s (pipelines/run/portal_adoption.py)."""
        from ..run.portal_adoption import adopt_rows_without_portal

        return adopt_rows_without_portal(pipeline, portal, alone)

    def adapt_source(self, source: Any) -> Any:
        """The source with its tables' hints as this destination needs them."""
        return source

    def retire(self, pipeline: Any, guard: MassRetirementGuard | None = None) -> dict[str, int]:
        """After the load: rows that vanished upstream retired (pipelines/run/retirement.py); rows per table.
        `guard`: the tables it stops keep their rows (pipelines/run/mass_retirement.py)."""
        from ..run.retirement import retire_vanished_rows

        with self.retiring_tables(pipeline) as tables:
            return retire_vanished_rows(tables, guard)

    def retiring_tables(self, pipeline: Any) -> AbstractContextManager[RetiringTables]:
        """The raw tables as retirement reads and changes them: dlt's SQL client by default."""
        from .sql_tables import SqlRetiringTables

        return SqlRetiringTables.of(pipeline)

    def publish_loads(self) -> dict[str, float]:
        """After the run's record: what readers read is refreshed; returns the timings of the steps that took any."""
        self.publish_models()
        return {}

    def publish_models(self) -> None:
        """After a model build: what readers read is refreshed (the DuckDB snapshot)."""

    def publish_from_scratch(self) -> float | None:
        """What readers read published again from the loaded warehouse, for a benchmark that measures it
        apart; its seconds. None: readers read the loads themselves, nothing is published apart."""
        return None

    # ---- erasure (pipelines/privacy/erasure.py) ------------------------------------------------------

    def erase_rows(self, targets: Mapping[str, tuple[set[int], set[str]]], key: bytes) -> dict[str, int]:
        """Replace these people's personal data in every table (pipelines/privacy/erasure_sql.py); rows changed
        per schema.table. Called with the run lock held."""
        raise ConfigError(f"erase is not built for --destination {self.name}")

    def discard_published(self) -> None:
        """Before an erasure's rebuild: remove what readers read (it is published again from the erased warehouse)."""

    def compact(self, tables: Iterable[str]) -> None:
        """After an erasure and the models' rebuild: rewrite the warehouse's storage so no freed block, old file
        version or dead row keeps an erased value (`tables`: the schema.tables the erasure changed)."""

    # ---- the benchmark -------------------------------------------------------------------------------

    @classmethod
    @contextmanager
    def benchmark_environment(cls) -> Iterator[tuple[dict[str, str], Any]]:
        """While open: the environment a benchmark's pipeline process needs to load into this kind of
        warehouse, and a server started for it (None: none; its memory is reported apart)."""
        yield {}, None

    # ---- the SQL models ---------------------------------------------------------------------------

    def check_raw(self) -> None:
        """ConfigError unless the raw tables are there to build models on."""
        if not Path(self.warehouse.duckdb_path).exists():
            raise ConfigError(f"no warehouse at {self.warehouse.duckdb_path}: run the pipeline first")

    @property
    def models_database(self) -> Path:
        """The DuckDB file that holds the staging views and reporting tables of this warehouse."""
        return Path(self.warehouse.duckdb_path)

    @property
    def models_location(self) -> Path | str:
        """Where the models are built, as a build's result names it."""
        return self.models_database

    def dbt_target(self) -> dict[str, Any]:
        """The output of the warehouse's dbt profile (pipelines/models/profile.py writes it): dbt-duckdb on `models_database`.

        One thread: DuckDB already spreads each statement over the machine's cores, and one
        connection keeps a build to one writer.
        """
        return {
            "type": "duckdb",
            "path": str(Path(self.models_database).resolve()),
            "schema": "main",
            "threads": 1,
            "settings": {"memory_limit": self.warehouse.models_memory_limit.strip(), "TimeZone": "UTC"},
            # the pseudonymised build puts its key's HMAC pads in each session (never in the profile)
            "plugins": [{"module": "pipelines.privacy.dbt_duckdb"}],
        }

    def model_inputs(self, database: Any) -> tuple[set[str], set[str]]:
        """Before a build: the raw tables present and every relation that exists (schema.name, lower case)."""
        import duckdb

        with duckdb.connect(str(database), read_only=True) as con:
            return tables_in(con, self.warehouse.dataset), relations_in(con)

    def relations(self, database: Any) -> set[str]:
        """Every relation that exists where the models are (schema.name, lower case)."""
        import duckdb

        with duckdb.connect(str(database), read_only=True) as con:
            return relations_in(con)

    def count_rows(self, database: Any, relations: dict[str, str]) -> dict[str, int]:
        """Rows of each built model (name -> relation)."""
        import duckdb

        with duckdb.connect(str(database), read_only=True) as con:
            return {name: con.execute(f"select count(*) from {relation}").fetchone()[0] for name, relation in relations.items()}

    def export_marts(self, marts: dict[str, str]) -> None:
        """The reporting tables (name -> relation) as Parquet under <out>/reporting/<table>/data.parquet."""
        from ..models.export import export_reporting_parquet

        with self.reporting_connection(marts.values()) as con:
            export_reporting_parquet(con, marts, Path(self.warehouse.out_dir) / "reporting")

    def publish_marts(self, database: Any, marts: dict[str, str]) -> None:
        """After a build: the reporting tables written where the raw tables' readers read."""

    @contextmanager
    def reporting_connection(self, relations: Iterable[str]) -> Iterator[Any]:
        """A read-only DuckDB connection, in UTC, where these relations (schema.name) can be read."""
        import duckdb

        with duckdb.connect(str(self.models_database), read_only=True) as con:
            con.execute("set TimeZone = 'UTC'")
            yield con

    def report_relations(self, marts_schema: str = "reporting") -> list[str]:
        """What the report must copy to read, its marts from `marts_schema` (empty: it reads in place)."""
        return []

    # ---- readers -----------------------------------------------------------------------------------

    def check_readers(self, roles: list[str], setting: str) -> None:
        """ConfigError unless these database roles exist to be granted a schema (`setting` names them)."""
        if roles:
            raise ConfigError(
                f"{setting} grants PostgreSQL roles: with --destination {self.name} point readers at the"
                " pseudonymised marts' Parquet folder instead (docs/personal-data.md)"
            )

    def grant_readers(self, schema: str, roles: list[str]) -> None:
        """Let these roles read the tables of `schema`, and grant them nothing else."""

    @contextmanager
    def raw_connection(self) -> Iterator[Any]:
        """A read-only connection to the raw tables, `<dataset>.<table>`, with DuckDB's `execute(sql, params)`."""
        import duckdb

        with duckdb.connect(str(self.warehouse.duckdb_path), read_only=True) as con:
            yield con

    @contextmanager
    def models_connection(self) -> Iterator[Any]:
        """A read-only connection (as `raw_connection`) to the staging views and reporting tables."""
        import duckdb

        with duckdb.connect(str(self.models_database), read_only=True) as con:
            yield con

    def table_counts(self) -> dict[str, int]:
        """Rows per raw table as a reader sees it now (dlt's own tables left out)."""
        return {}

    def reader_note(self) -> str | None:
        """A line for the run's summary: where readers read, when that is not `location`."""
        return None

    def check_user_sync(self) -> None:
        """ConfigError unless the user sync can plan and journal in this warehouse."""
        raise ConfigError("the user sync needs the DuckDB warehouse (--destination duckdb): it plans and journals in it")


def tables_in(con: Any, schema: str) -> set[str]:
    """The tables of `schema` in a DuckDB database (lower case)."""
    rows = con.execute("select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()
    return {r[0].lower() for r in rows}


def relations_in(con: Any) -> set[str]:
    """Every table and view of a DuckDB database as schema.name (lower case)."""
    rows = con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()
    return {r[0].lower() for r in rows}
