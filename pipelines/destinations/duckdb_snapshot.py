"""A read-only copy of the warehouse for BI tools and `duckdb -readonly`, so a reader never blocks a load.

DuckDB lets one process write a file and, while any process holds it open, no other may
write it: a BI tool connected to `warehouse.duckdb` would stop the next load. Readers
open `<out>/snapshot.duckdb` instead. After every successful load and every model build
the pipeline writes a copy of every table and view into a new file in DuckDB 1.1's storage
format (pipelines/destinations/duckdb_storage.py: the file older BI drivers open) and renames it over the
snapshot: the swap is atomic, a reader that has the old snapshot open keeps reading
it undisturbed, and the next connection sees the new one. Called with the run lock held
(pipelines.run.lock), so no load writes the warehouse while it is copied, and the partial
copies of a killed or failed publish are removed by the next one (and at the start of every run).

The snapshot holds what readers read: the raw schema with the run records, and the models'
schemas. dlt's working schema (`learnupon_staging`: the last load's rows on their way into
merged tables) stays in the warehouse.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("lms_warehouse.snapshot")

SNAPSHOT_FILE = "snapshot.duckdb"
# the copy streams table by table; unbounded, DuckDB held 451 MiB copying a million enrollments,
# at this limit (two threads, insertion order not kept) 332 MiB for 0.6 s more
COPY_MEMORY_LIMIT = "256MB"


def snapshot_path(out_dir: Path) -> Path:
    return Path(out_dir) / SNAPSHOT_FILE


def publish_snapshot(warehouse: Any) -> Path | None:
    """Replace `<out>/snapshot.duckdb` by a copy of the DuckDB warehouse as it is now (the DuckDB destination
    calls it: pipelines/destinations/duckdb.py); None when there is no warehouse file yet."""
    if not warehouse.duckdb_path.exists():
        return None
    import duckdb

    from .duckdb_storage import STORAGE_VERSION

    target = snapshot_path(warehouse.out_dir)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    remove_partial_files(warehouse.out_dir)
    try:
        # a fresh file written in one go in DuckDB 1.1's format, not a byte copy of the warehouse:
        # DuckDB 1.1.3 was seen to refuse a warehouse file that DuckDB 2.0 had updated in place
        # ("Failed to load metadata pointer"), while files written whole read everywhere
        with duckdb.connect(str(warehouse.duckdb_path)) as con:
            con.execute(f"set memory_limit = '{COPY_MEMORY_LIMIT}'")
            con.execute("set threads = 2")
            con.execute("set preserve_insertion_order = false")  # a table's rows have no order to keep
            source = con.execute("select current_database()").fetchone()[0]
            con.execute(f"attach '{_quoted(partial)}' as snapshot_copy (storage_version '{STORAGE_VERSION}')")
            # every schema, table and view, then the rows of every table but dlt's working ones
            con.execute(f'copy from database "{source}" to snapshot_copy (schema)')
            con.execute(f'drop schema if exists snapshot_copy."{working_schema(warehouse.dataset)}" cascade')
            tables = con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = 'snapshot_copy'"
            ).fetchall()
            for schema, table in tables:
                name = f'"{schema}"."{table}"'
                con.execute(f'insert into snapshot_copy.{name} select * from "{source}".{name}')
            con.execute("detach snapshot_copy")
        os.replace(partial, target)
    finally:
        for leftover in (partial, Path(f"{partial}.wal")):  # a failed checkpoint (a full disk) leaves the WAL
            leftover.unlink(missing_ok=True)
    log.info("published the read-only snapshot %s", target)
    return target


def working_schema(dataset: str) -> str:
    """dlt's staging dataset beside `dataset` (its default layout, `<dataset>_staging`)."""
    from dlt.common.destination.client import DestinationClientDwhConfiguration

    return DestinationClientDwhConfiguration.staging_dataset_name_layout % dataset


def remove_partial_files(out_dir: Path) -> list[Path]:
    """Remove the partial copies a killed or failed publish left behind (`.snapshot.duckdb.<pid>.tmp` and
    its `.wal`), and those of a killed storage conversion (pipelines/destinations/duckdb_storage.py). Call with the run
    lock held: no publish or conversion of this folder is running then. Returns what was removed."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    removed = []
    for pattern in (f".{SNAPSHOT_FILE}.*.tmp", f".{SNAPSHOT_FILE}.*.tmp.wal", ".warehouse.duckdb.*.convert", ".warehouse.duckdb.*.convert.wal"):
        for leftover in out_dir.glob(pattern):
            leftover.unlink(missing_ok=True)
            removed.append(leftover)
    if removed:
        log.info("removed partial files of killed or failed steps: %s", ", ".join(p.name for p in removed))
    return removed


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
