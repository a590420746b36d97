"""Readers never block loads: BI tools read `<out>/snapshot.duckdb`, republished atomically after every
successful load and model build, while the pipeline writes `warehouse.duckdb`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from pipelines.destinations.duckdb_snapshot import snapshot_path

from tests.conftest import CORE_RESOURCES, run_pipeline

# a BI tool: opens the snapshot read-only, reports how many runs it sees, then holds it open
READER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("select count(*) from learnupon.pipeline_runs").fetchone()[0], flush=True)
sys.stdin.readline()
print(con.execute("select count(*) from learnupon.pipeline_runs").fetchone()[0], flush=True)
"""


def _runs(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select count(*) from learnupon.pipeline_runs").fetchone()[0]


def test_reader_on_the_snapshot_never_blocks_a_load(portal, tmp_path: Path) -> None:
    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    snapshot = snapshot_path(tmp_path)
    assert _runs(snapshot) == 1
    reader = subprocess.Popen([sys.executable, "-c", READER, str(snapshot)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert reader.stdout is not None and reader.stdin is not None
    try:
        assert reader.stdout.readline().strip() == "1"
        summary = run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)  # loads while the reader holds its file
        assert summary.status == "succeeded"
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "1"  # its open snapshot is undisturbed
    finally:
        reader.kill()
        reader.wait()
    assert _runs(snapshot) == 2  # a new connection sees the new snapshot
    assert not list(tmp_path.glob(".snapshot.duckdb.*.tmp"))


# the snapshot after a model build (marts included, every table as in the warehouse, opened by DuckDB 1.1.3):
# tests/destinations/test_duckdb_readers.py


def test_the_snapshot_holds_what_readers_read_not_dlts_working_schema(portal, tmp_path: Path) -> None:
    from pipelines.destinations.duckdb_snapshot import working_schema
    from tests.conftest import cli

    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    assert cli("models", "--out", str(tmp_path)).returncode == 0

    def tables(path: Path) -> dict[str, int]:
        with duckdb.connect(str(path), read_only=True) as con:
            names = con.execute(
                "select table_schema, table_name from information_schema.tables where table_catalog = current_database()"
            ).fetchall()
            return {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in names}

    warehouse, snapshot = tables(tmp_path / "warehouse.duckdb"), tables(snapshot_path(tmp_path))
    schemas = {name.split(".")[0] for name in snapshot}
    assert working_schema("learnupon") == "learnupon_staging"
    assert any(name.startswith("learnupon_staging.") for name in warehouse)  # dlt keeps it in the warehouse
    assert schemas == {"learnupon", "staging", "intermediate", "reporting"}
    # the raw schema (run records included) and every model, row for row
    assert snapshot == {k: v for k, v in warehouse.items() if not k.startswith("learnupon_staging.")}
    assert snapshot["learnupon.pipeline_runs"] == 1 and snapshot["learnupon.users"] > 0
