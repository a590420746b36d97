"""The PostgreSQL destination: the loads, the models and the readers all in one database
(credentials the dlt way: pipelines/destinations/postgres_warehouse.py)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ..learnupon.errors import ConfigError
from ..privacy.erasure_sql import EraseEngine
from .base import Destination


class Postgres(Destination):
    name = "postgres"
    models_kind = "postgres"

    def check_settings(self) -> None:
        self.warehouse.postgres()  # missing or malformed credentials: one line before anything starts

    def dlt_destination(self) -> Any:
        import dlt

        from .dlt_factory import settled

        return settled(dlt.destinations.postgres)(credentials=self.warehouse.postgres())

    @property
    def location(self) -> str:
        from .postgres_warehouse import describe

        return describe(self.warehouse.postgres())

    def check_before_run(self) -> None:
        from .postgres_warehouse import check_connection

        check_connection(self.warehouse.postgres())  # bad credentials stop the run here, before any API call

    @classmethod
    @contextmanager
    def benchmark_environment(cls) -> Iterator[tuple[dict[str, str], Any]]:
        """The database DESTINATION__POSTGRES__CREDENTIALS names (an empty one: a first load is measured), else a
        throwaway server started as the tests start theirs, stopped by its process id on exit."""
        import os

        from .postgres_server import start_postgres
        from .postgres_warehouse import ENV_NAME

        if dsn := os.environ.get(ENV_NAME):
            yield {ENV_NAME: dsn}, None
            return
        server = start_postgres()
        try:
            yield {ENV_NAME: server.dsn(server.create_database("bench"))}, server
        finally:
            server.stop()

    # ---- erasure ----------------------------------------------------------------------------------------

    def erase_rows(self, targets: Mapping[str, tuple[set[int], set[str]]], key: bytes) -> dict[str, int]:
        """In one transaction: the rows change together or not at all."""
        from ..privacy.erasure_sql import erase_people
        from .postgres_warehouse import connect

        with connect(self.warehouse.postgres()) as con:
            con.autocommit = False
            with con.cursor() as cursor:
                counts = erase_people(PostgresSession(cursor), self.warehouse.dataset, targets, key)
            con.commit()
        return counts

    def compact(self, tables: Iterable[str]) -> None:
        """VACUUM FULL rewrites each table the erasure changed, so no dead row version keeps an old value (the
        write-ahead log and base backups are the server's: docs/personal-data.md)."""
        from .postgres_warehouse import connect

        with connect(self.warehouse.postgres()) as con, con.cursor() as cursor:  # autocommit: VACUUM needs it
            for name in tables:
                schema, _, table = name.partition(".")
                cursor.execute(f'vacuum full "{schema}"."{table}"')

    # ---- the SQL models ---------------------------------------------------------------------------

    def check_raw(self) -> None:
        from .postgres_warehouse import check_connection, tables_in

        warehouse = self.warehouse
        check_connection(warehouse.postgres())
        if not tables_in(warehouse.postgres(), warehouse.dataset):
            raise ConfigError(f"no raw tables in schema {warehouse.dataset} at {warehouse.location}: run the pipeline first")

    @property
    def models_location(self) -> str:
        return self.location

    def dbt_target(self) -> dict[str, Any]:
        """dbt-postgres on the warehouse's database; the target holds no password (pipelines/destinations/postgres_warehouse.py)."""
        from .postgres_warehouse import dbt_output

        return dbt_output(self.warehouse.postgres())

    def model_inputs(self, database: Any) -> tuple[set[str], set[str]]:
        from .postgres_warehouse import relations, tables_in

        return tables_in(self.warehouse.postgres(), self.warehouse.dataset), relations(self.warehouse.postgres())

    def relations(self, database: Any) -> set[str]:
        from .postgres_warehouse import relations

        return relations(self.warehouse.postgres())

    def count_rows(self, database: Any, relations: dict[str, str]) -> dict[str, int]:
        from .postgres_warehouse import fetch

        return {name: fetch(self.warehouse.postgres(), f"select count(*) from {relation}")[0][0] for name, relation in relations.items()}

    @contextmanager
    def reporting_connection(self, relations: Iterable[str]) -> Iterator[Any]:
        """An in-memory DuckDB with a copy of them, so the Parquet export and the HTML report run the same SQL on every engine."""
        import duckdb

        from .postgres_warehouse import copy_to_duckdb

        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            copy_to_duckdb(self.warehouse.postgres(), relations, con)
            yield con

    def report_relations(self, marts_schema: str = "reporting") -> list[str]:
        """Every reporting table (of `marts_schema`), the audit gaps and the run records: the report reads a copy."""
        from .postgres_warehouse import relations

        marts = sorted(r for r in relations(self.warehouse.postgres()) if r.startswith(f"{marts_schema}."))
        return [*marts, "staging.stg_audit_gaps", f"{self.warehouse.dataset}.pipeline_runs"]

    # ---- readers -----------------------------------------------------------------------------------

    def check_readers(self, roles: list[str], setting: str) -> None:
        from .postgres_warehouse import fetch

        if not roles:
            return
        found = {r[0] for r in fetch(self.warehouse.postgres(), "select rolname from pg_roles where rolname = any(%s)", [roles])}
        missing = [r for r in roles if r not in found]
        if missing:
            raise ConfigError(f"{setting} names role(s) PostgreSQL does not have: {', '.join(missing)}")

    def grant_readers(self, schema: str, roles: list[str]) -> None:
        """After each build: dbt re-creates the tables, so their grants are made again."""
        from psycopg2 import sql

        from .postgres_warehouse import connect

        with connect(self.warehouse.postgres()) as con, con.cursor() as cur:
            for role in roles:
                who = sql.Identifier(role)
                cur.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(schema), who))
                cur.execute(sql.SQL("grant select on all tables in schema {} to {}").format(sql.Identifier(schema), who))

    @contextmanager
    def raw_connection(self) -> Iterator[Any]:
        """The database itself: no copy of the tables checked."""
        from .postgres_warehouse import qmark_connection

        with qmark_connection(self.warehouse.postgres()) as con:
            yield con

    @contextmanager
    def models_connection(self) -> Iterator[Any]:
        from .postgres_warehouse import qmark_connection

        with qmark_connection(self.warehouse.postgres()) as con:
            yield con

    def table_counts(self) -> dict[str, int]:
        from .postgres_warehouse import row_counts

        return row_counts(self.warehouse.postgres(), self.warehouse.dataset)


class PostgresSession(EraseEngine):
    """An erasure's SQL on a psycopg2 cursor (pipelines/privacy/erasure_sql.py)."""

    marker = "%s"

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def rows(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        self.cursor.execute(sql, tuple(params) or None)
        return self.cursor.fetchall() if self.cursor.description else []

    def changed(self, sql: str) -> int:
        self.cursor.execute(sql)
        return int(self.cursor.rowcount)

    def insert(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self.cursor.executemany(sql, rows)

