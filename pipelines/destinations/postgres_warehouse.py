"""PostgreSQL as the warehouse (`--destination postgres`): its credentials, the check before a run, reads for the rest.

Credentials are dlt's own: the environment variable `DESTINATION__POSTGRES__CREDENTIALS`
(a URL, postgresql://user:password@host:port/database) or `[destination.postgres.credentials]`
in `.dlt/secrets.toml` (the same URL, or host, port, database, username and password keys).
They are never printed, logged or written to a file: messages name the server as
`postgresql://user@host:port/database`, and the dbt profile reads the password from an
environment variable dbt masks (`DBT_ENV_SECRET_...`).

The raw tables land in schema `learnupon` (the dlt dataset; dlt's merge staging in
`learnupon_staging`), the dbt models in schemas `staging`, `intermediate` and `reporting` of
the same database.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ..learnupon.errors import ConfigError

ENV_NAME = "DESTINATION__POSTGRES__CREDENTIALS"
SECRET_KEY = "destination.postgres.credentials"
DBT_PASSWORD_ENV = "DBT_ENV_SECRET_LMS_POSTGRES_PASSWORD"  # dbt scrubs DBT_ENV_SECRET_* values from its logs
CONNECT_TIMEOUT = 10
# dlt's SCD2 merge finds retired versions with `row_hash NOT IN (SELECT row_hash FROM staging)`;
# PostgreSQL runs that in linear time only as a hashed subplan, which it plans only when the hash
# fits in work_mem. At the default 4MB, 630,000 custom-data rows (100,000 users) became a nested
# scan that ran for hours (found by the benchmark); 256MB hashes a few million rows. A URL whose
# `options` already set work_mem keeps its own value.
SESSION_WORK_MEM = "256MB"
WHERE_TO_SET = f"{ENV_NAME}=postgresql://user:password@host:port/database or [destination.postgres] credentials in .dlt/secrets.toml"


def resolve_credentials(explicit: str | Mapping[str, Any] | None = None) -> Any:
    """dlt's PostgresCredentials from `explicit` (a URL or a mapping), else from dlt's config providers."""
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    value = explicit
    if value is None:
        import dlt

        value = dlt.secrets.get(SECRET_KEY)
    if value in (None, "") or (isinstance(value, Mapping) and not value):
        raise ConfigError(f"PostgreSQL credentials are not set: {WHERE_TO_SET}")
    if isinstance(value, Mapping):
        value = dict(value)
    try:
        credentials = PostgresCredentials(value)
        credentials.resolve()
    except Exception:  # dlt's message would be fine, but never risk echoing the value
        raise ConfigError(
            "the PostgreSQL credentials are not a connection URL of the form postgresql://user:password@host:port/database"
            f" ({ENV_NAME} or .dlt/secrets.toml)"
        ) from None
    missing = [name for name in ("host", "database", "username") if not getattr(credentials, name, None)]
    if missing:
        raise ConfigError(f"the PostgreSQL credentials lack {', '.join(missing)}: {WHERE_TO_SET}")
    query = dict(credentials.query or {})
    options = str(query.get("options", ""))
    if "work_mem" not in options:
        query["options"] = f"{options} -c work_mem={SESSION_WORK_MEM}".strip()
    credentials.query = query
    return credentials


def describe(credentials: Any) -> str:
    """Where the warehouse is, without the password."""
    return f"postgresql://{credentials.username}@{credentials.host}:{credentials.port}/{credentials.database}"


def _connect_args(credentials: Any) -> dict[str, Any]:
    return {
        "host": credentials.host,
        "port": credentials.port,
        "dbname": credentials.database,
        "user": credentials.username,
        "password": credentials.password,
        "connect_timeout": CONNECT_TIMEOUT,
        "options": "-c TimeZone=UTC",
    }


@contextmanager
def connect(credentials: Any) -> Iterator[Any]:
    """A psycopg2 connection (autocommit: reads only) that is closed afterwards."""
    import psycopg2

    con = psycopg2.connect(**_connect_args(credentials))
    try:
        con.autocommit = True
        yield con
    finally:
        con.close()


class QmarkConnection:
    """A read-only PostgreSQL connection with DuckDB's `execute(sql, params) -> cursor`.

    SQL written once with `?` placeholders (the Dagster asset checks') then runs on both engines,
    each on its own tables: nothing is copied out of the warehouse to check it.
    """

    def __init__(self, con: Any) -> None:
        self._con = con

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Any:
        cursor = self._con.cursor()
        # psycopg2 placeholders are %s, and a literal % must be doubled when parameters are passed
        cursor.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))
        return cursor  # fetchone(), fetchall() and description, as DuckDB's


@contextmanager
def qmark_connection(credentials: Any) -> Iterator[QmarkConnection]:
    """A QmarkConnection to the warehouse, closed afterwards."""
    with connect(credentials) as con:
        con.set_session(readonly=True, autocommit=True)  # the server refuses any write through it
        yield QmarkConnection(con)


def check_connection(credentials: Any) -> None:
    """Connect once before any API call: a wrong host, port, database, user or password stops the run in one line."""
    import psycopg2

    try:
        with connect(credentials) as con, con.cursor() as cur:
            cur.execute("select 1")
    except psycopg2.Error as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if credentials.password:
            first_line = first_line.replace(str(credentials.password), "***")
        raise ConfigError(f"cannot connect to PostgreSQL at {describe(credentials)}: {first_line} ({ENV_NAME})") from None


def fetch(credentials: Any, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    with connect(credentials) as con, con.cursor() as cur:
        cur.execute(sql, tuple(params))
        return cur.fetchall()


def tables_in(credentials: Any, schema: str) -> set[str]:
    rows = fetch(credentials, "select table_name from information_schema.tables where table_schema = %s", [schema])
    return {r[0].lower() for r in rows}


def relations(credentials: Any) -> set[str]:
    """Every table and view as schema.name (what the model build checks a parent against)."""
    rows = fetch(credentials, "select table_schema || '.' || table_name from information_schema.tables")
    return {r[0].lower() for r in rows}


def row_counts(credentials: Any, schema: str, names: Iterable[str] | None = None) -> dict[str, int]:
    """Rows per table of a schema (dlt's own tables left out), or of the tables named."""
    chosen = sorted(names) if names is not None else sorted(t for t in tables_in(credentials, schema) if not t.startswith("_dlt"))
    counts: dict[str, int] = {}
    with connect(credentials) as con, con.cursor() as cur:
        for name in chosen:
            cur.execute(f'select count(*) from "{schema}"."{name}"')
            counts[name] = cur.fetchone()[0]
    return counts


def dbt_output(credentials: Any, threads: int = 4) -> dict[str, Any]:
    """The dbt-postgres target for these credentials; the password stays in the process environment.

    Several threads: PostgreSQL serves independent models at once, unlike one DuckDB file.
    """
    os.environ[DBT_PASSWORD_ENV] = str(credentials.password or "")
    return {
        "type": "postgres",
        "host": credentials.host,
        "port": int(credentials.port),
        "user": credentials.username,
        "password": "{{ env_var('" + DBT_PASSWORD_ENV + "') }}",
        "dbname": credentials.database,
        "schema": "public",
        "threads": threads,
        "connect_timeout": CONNECT_TIMEOUT,
    }


# ---- reading marts into DuckDB (the HTML report and the Parquet export run their DuckDB SQL on a copy) ----

_DUCKDB_TYPES = {
    "bigint": "BIGINT",
    "integer": "INTEGER",
    "smallint": "SMALLINT",
    "double precision": "DOUBLE",
    "real": "FLOAT",
    "numeric": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp with time zone": "TIMESTAMPTZ",
    "timestamp without time zone": "TIMESTAMP",
    "text": "VARCHAR",
    "character varying": "VARCHAR",
    "jsonb": "JSON",
    "json": "JSON",
}
_ARRAY_TYPES = {"_int8": "BIGINT[]", "_int4": "INTEGER[]", "_text": "VARCHAR[]", "_varchar": "VARCHAR[]", "_float8": "DOUBLE[]"}


def copy_to_duckdb(credentials: Any, relations_to_copy: Iterable[str], con: Any, batch: int = 50_000) -> list[str]:
    """Copy each existing `schema.table` (or view) into the DuckDB connection under the same name; returns those copied.

    Column types follow PostgreSQL's catalog, so an empty table keeps its columns.
    """
    import pyarrow as pa

    copied: list[str] = []
    with connect(credentials) as pg:
        pg.autocommit = False  # a server-side cursor lives in a transaction
        for relation in relations_to_copy:
            schema, name = relation.split(".")
            with pg.cursor() as cur:
                cur.execute(
                    "select column_name, data_type, udt_name from information_schema.columns"
                    " where table_schema = %s and table_name = %s order by ordinal_position",
                    (schema, name),
                )
                columns = cur.fetchall()
            if not columns:
                continue
            types = [_ARRAY_TYPES.get(udt, "VARCHAR[]") if kind == "ARRAY" else _DUCKDB_TYPES.get(kind, "VARCHAR") for _, kind, udt in columns]
            names = [c[0] for c in columns]
            con.execute(f'create schema if not exists "{schema}"')
            con.execute(
                f'create or replace table "{schema}"."{name}" ('
                + ", ".join(f'"{n}" {t}' for n, t in zip(names, types))
                + ")"
            )
            select = ", ".join(f'"{n}"::text' if t in ("JSON", "VARCHAR") and k != "text" else f'"{n}"' for n, t, (_, k, _) in zip(names, types, columns))
            with pg.cursor(name=f"copy_{name}") as cur:  # a server-side cursor: batches, not the whole table in memory
                cur.itersize = batch
                cur.execute(f'select {select} from "{schema}"."{name}"')
                while rows := cur.fetchmany(batch):
                    chunk = pa.Table.from_pylist([dict(zip(names, row)) for row in rows])  # noqa: F841 (read by DuckDB below)
                    con.execute(f'insert into "{schema}"."{name}" by name select * from chunk')
            copied.append(relation)
    return copied
