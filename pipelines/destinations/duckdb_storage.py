"""DuckDB files every reader can open: the warehouse is written in DuckDB 1.1's storage format.

BI tools bundle their own DuckDB and lag years behind; a file written in the newest storage
format is refused by every older release ("unsupported storage version"). DuckDB writes an
older format on request (`storage_compatibility_version`), fixed in the file's header when the
file is created and kept by every later write, whatever the writer's version. So the warehouse
is created in that format, and a warehouse file from before this rule is converted once (copied
into a compatible file, then swapped in), under the run lock like any write. Readers open the
snapshot (pipelines/destinations/duckdb_snapshot.py), a file created in this format and refreshed after every load and build:
DuckDB 1.1.3 was once seen to refuse the warehouse file itself after DuckDB 2.0 had updated it in
place. Checked by tests/destinations/test_duckdb_readers.py with DuckDB 1.1.3 in its own environment.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

log = logging.getLogger("lms_warehouse.duckdb_storage")

# the oldest DuckDB release that must open the warehouse (1.0 and 1.1 share one storage format)
OLDEST_READER = (1, 1, 0)
STORAGE_VERSION = "v{}.{}.{}".format(*OLDEST_READER)
SETTING = "storage_compatibility_version"
_TAG = re.compile(r"v(\d+)\.(\d+)\.(\d+)")


def storage_config() -> dict[str, str]:
    """DuckDB connection settings that make any file this connection creates readable by the oldest reader."""
    return {SETTING: STORAGE_VERSION}


def storage_version(path: Path) -> tuple[int, int, int] | None:
    """The oldest DuckDB release that reads `path` (from the file's own header), or None if DuckDB does not say."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute(
            "select tags['storage_version'] from duckdb_databases() where database_name = current_database()"
        ).fetchone()
    match = _TAG.match(row[0] or "") if row else None
    return tuple(int(part) for part in match.groups()) if match else None  # type: ignore[return-value]


def ensure_readable_by_older_duckdb(path: Path) -> bool:
    """Create the warehouse file in the compatible format, or convert one written in a newer format.

    Returns True when a file was converted. Call with the run lock held: the conversion
    replaces the file.
    """
    import duckdb

    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        duckdb.connect(str(path), config=storage_config()).close()
        return False
    version = storage_version(path)
    if version is not None and version <= OLDEST_READER:
        return False
    log.warning(
        "%s is in DuckDB's %s storage format, which DuckDB releases before it cannot open;"
        " converting it once to the %s format (a copy of every table, then a swap)",
        path.name,
        "v{}.{}.{}".format(*version) if version else "newest",
        STORAGE_VERSION,
    )
    rewrite(path)
    return True


def rewrite(path: Path) -> None:
    """Copy every object of the DuckDB file `path` into a new file in the compatible format and swap it in
    (atomic): the converted file, and after an erasure a file without the freed blocks that held erased values.
    Call with the run lock held."""
    import duckdb

    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.convert")
    partial.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(path)) as con:
            source = con.execute("select current_database()").fetchone()[0]
            con.execute(f"attach '{_quoted(partial)}' as compatible (storage_version '{STORAGE_VERSION}')")
            con.execute(f'copy from database "{source}" to compatible')
            con.execute("detach compatible")
        Path(f"{path}.wal").unlink(missing_ok=True)  # the source was checkpointed on close
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
