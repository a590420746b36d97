"""A read-only copy of the warehouse for BI tools and `duckdb -readonly`, so a reader never blocks a load.

DuckDB lets one process write a file and, while any process holds it open, no other may
write it: a BI tool connected to `warehouse.duckdb` would stop the next load. Readers
open `<out>/snapshot.duckdb` instead. After every successful load and every model build
the pipeline checkpoints the warehouse, copies it beside the snapshot and renames the
copy over it: the swap is atomic, a reader that has the old snapshot open keeps reading
it undisturbed, and the next connection sees the new one. Called with the run lock held
(pipelines.run_lock), so no load writes the warehouse while it is copied.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

log = logging.getLogger("lms_warehouse.snapshot")

SNAPSHOT_FILE = "snapshot.duckdb"


def snapshot_path(out_dir: Path) -> Path:
    return Path(out_dir) / SNAPSHOT_FILE


def publish_snapshot(warehouse: Any) -> Path | None:
    """Replace `<out>/snapshot.duckdb` by a copy of the warehouse as it is now; None for Parquet warehouses."""
    if warehouse.destination != "duckdb" or not warehouse.duckdb_path.exists():
        return None  # Parquet files are written once and never locked: readers read them directly
    import duckdb

    with duckdb.connect(str(warehouse.duckdb_path)) as con:
        con.execute("checkpoint")  # everything committed is in the main file, none of it only in the WAL
    target = snapshot_path(warehouse.out_dir)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(warehouse.duckdb_path, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    log.info("published the read-only snapshot %s", target)
    return target
