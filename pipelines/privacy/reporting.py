"""The pseudonymised reporting schema around a model build (pipelines/models.py `build_models(pseudonymised=True)`).

The models are built a second time, into `staging_pseudonymised`, `intermediate_pseudonymised` and
`reporting_pseudonymised`, from raw rows whose direct identifiers are keyed pseudonyms and whose free text
is NULL (sql/macros/pseudonymised.sql, plan.py). Its marts are written as Parquet to
`<out>/reporting_pseudonymised/<mart>/data.parquet` (a folder a BI tool can be pointed at alone), and on
PostgreSQL the roles LMS_PSEUDONYMISED_READERS names are granted `reporting_pseudonymised` after each build
(dbt re-creates its tables, so the grants are made again every time).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..learnupon.errors import ConfigError
from .plan import SCHEMA_SUFFIX
from .pseudonyms import pseudonym_session
from .settings import pseudonym_key, pseudonymised_readers

MARTS_SCHEMA = "reporting" + SCHEMA_SUFFIX
PARQUET_FOLDER = MARTS_SCHEMA  # <out>/reporting_pseudonymised/<mart>/data.parquet


@dataclass
class PseudonymisedBuild:
    warehouse: Any
    key: bytes = field(repr=False)
    readers: list[str]

    @classmethod
    def prepare(cls, warehouse: Any) -> PseudonymisedBuild:
        """The key and the readers, checked before anything is built (a ConfigError line each)."""
        key = pseudonym_key("the pseudonymised reporting")
        readers = pseudonymised_readers()
        if readers and warehouse.backend.name != "postgres":
            raise ConfigError(
                "LMS_PSEUDONYMISED_READERS grants PostgreSQL roles: with this destination point readers at"
                f" <out>/{PARQUET_FOLDER}/ instead"
            )
        if readers:
            _check_roles(warehouse.postgres(), readers)
        return cls(warehouse, key, readers)

    @contextmanager
    def session(self) -> Iterator[None]:
        with pseudonym_session(self.key):
            yield

    def publish(self, marts: dict[str, str], export_parquet: bool) -> None:
        from ..models import export_reporting_parquet

        if export_parquet and marts:
            with self.warehouse.backend.reporting_connection(marts.values()) as con:
                export_reporting_parquet(con, marts, Path(self.warehouse.out_dir) / PARQUET_FOLDER)
        if self.readers:
            grant_readers(self.warehouse.postgres(), self.readers)


def _check_roles(credentials: Any, roles: list[str]) -> None:
    from ..postgres_warehouse import fetch

    found = {r[0] for r in fetch(credentials, "select rolname from pg_roles where rolname = any(%s)", [roles])}
    missing = [r for r in roles if r not in found]
    if missing:
        raise ConfigError(f"LMS_PSEUDONYMISED_READERS names role(s) PostgreSQL does not have: {', '.join(missing)}")


def grant_readers(credentials: Any, roles: list[str]) -> None:
    """Each role may read the pseudonymised marts, and is given nothing else (no other schema, no view)."""
    from psycopg2 import sql

    from ..postgres_warehouse import connect

    schema = sql.Identifier(MARTS_SCHEMA)
    with connect(credentials) as con, con.cursor() as cur:
        for role in roles:
            who = sql.Identifier(role)
            cur.execute(sql.SQL("grant usage on schema {} to {}").format(schema, who))
            cur.execute(sql.SQL("grant select on all tables in schema {} to {}").format(schema, who))
