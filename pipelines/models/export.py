"""The Parquet copy of the reporting tables, and the DuckDB connection the export and the report read through."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb


@contextmanager
def reporting_connection(warehouse: Any, relations: Iterable[str]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only DuckDB connection where these relations (schema.name) can be read, in UTC.

    DuckDB and Parquet warehouses: their database file. PostgreSQL: an in-memory DuckDB with
    a copy of them, so the Parquet export and the HTML report run the same SQL on every engine.
    """
    with warehouse.backend.reporting_connection(relations) as con:
        yield con


def export_reporting_parquet(con: duckdb.DuckDBPyConnection, marts: dict[str, str], root: Path) -> None:
    """Write each reporting table (name -> relation) to root/<table>/data.parquet, so a reader never sees half a file.

    The file is written in a temporary folder beside the target and renamed into place (a
    rename within one file system is atomic); a first export renames the whole folder.
    """
    if not marts:
        return
    root.mkdir(parents=True, exist_ok=True)
    for mart, relation in marts.items():
        target = root / mart
        staging_dir = root / f".tmp-{mart}-{uuid.uuid4().hex[:8]}"
        staging_dir.mkdir()
        try:
            tmp_file = staging_dir / "data.parquet"
            con.execute(f"copy {relation} to '{_sql_path(tmp_file)}' (format parquet)")
            if not target.exists():
                os.rename(staging_dir, target)
                continue
            os.replace(tmp_file, target / "data.parquet")
        finally:
            if staging_dir.exists():
                shutil.rmtree(staging_dir, ignore_errors=True)


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")
