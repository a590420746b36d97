"""The pseudonymised reporting schema around a model build (pipelines/models/build.py `build_models(pseudonymised=True)`).

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
        warehouse.backend.check_readers(readers, "LMS_PSEUDONYMISED_READERS")
        return cls(warehouse, key, readers)

    @contextmanager
    def session(self) -> Iterator[None]:
        with pseudonym_session(self.key):
            yield

    def publish(self, marts: dict[str, str], export_parquet: bool) -> None:
        from ..models.export import export_reporting_parquet

        if export_parquet and marts:
            with self.warehouse.backend.reporting_connection(marts.values()) as con:
                export_reporting_parquet(con, marts, Path(self.warehouse.out_dir) / PARQUET_FOLDER)
        if self.readers:
            self.warehouse.backend.grant_readers(MARTS_SCHEMA, self.readers)
