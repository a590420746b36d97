"""The SQL models over a Delta warehouse: raw tables in, reporting tables out, both through `deltalake`.

dbt-duckdb builds the models in a working DuckDB file beside the run's files
(`<out>/delta_models.duckdb`), the same dbt project as on DuckDB. Before a build each raw Delta
table is copied into it as `learnupon.<table>` (its newest version, read as an Arrow dataset:
no DuckDB extension is downloaded, object stores included); after the build each reporting
table is written back to the lake as a Delta table `<bucket>/marts/<table>`, replaced in one
commit, so a lake reader (Spark, Polars, Trino...) sees the reports beside the raw tables.
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb

from .lake import MARTS, DeltaLake, arrow_dataset
from .strategy import LISTING_SUFFIX

log = logging.getLogger("lms_warehouse.models")

MODELS_DB = "delta_models.duckdb"  # the working file the models are built in, under the output folder


def copy_raw_tables(con: duckdb.DuckDBPyConnection, lake: DeltaLake) -> set[str]:
    """Replace `<dataset>.<table>` in `con` by the lake's current raw tables; returns their names."""
    schema = lake.dataset
    con.execute(f'create schema if not exists "{schema}"')
    names = [n for n in lake.table_names() if not n.endswith(LISTING_SUFFIX)]
    copied = set()
    for name in names:
        dt = lake.open(name)
        if dt is None:
            continue
        con.register("lake_table", arrow_dataset(dt))
        try:
            con.execute(f'create or replace table "{schema}"."{name}" as select * from lake_table')
        finally:
            con.unregister("lake_table")
        copied.add(name)
    # a table the lake no longer has must not be read from an older copy
    for (stale,) in con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]
    ).fetchall():
        if stale not in copied:
            con.execute(f'drop table if exists "{schema}"."{stale}"')
    return copied


def publish_marts(database: Any, marts: dict[str, str], lake: DeltaLake) -> list[str]:
    """Write each reporting table (name -> relation in `database`) to `<bucket>/marts/<name>`, one Delta commit each."""
    written = []
    with duckdb.connect(str(database), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        for name, relation in marts.items():
            lake.write(name, con.sql(f"select * from {relation}").to_arrow_reader(), folder=MARTS)
            written.append(name)
    if written:
        log.info("wrote %s reporting tables to %s/%s", len(written), lake.display_url, MARTS)
    return written
