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


def _contents(path: Path) -> dict[str, list[tuple]]:
    """Every table and view of a DuckDB file (dlt's working schema left out), rows sorted: what a reader sees."""
    with duckdb.connect(str(path), read_only=True) as con:
        names = con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_catalog = current_database() and table_schema <> 'learnupon_staging'"
        ).fetchall()
        return {f"{s}.{t}": sorted(con.execute(f'select * from "{s}"."{t}"').fetchall(), key=repr) for s, t in names}


def _publish(out_dir: Path) -> dict:
    """One publish as a run or a model build does it (under the run lock); returns how it was written."""
    from pipelines.destinations.duckdb_snapshot import last_refresh, publish_snapshot
    from pipelines.run.lock import run_lock
    from pipelines.run.runner import Warehouse

    with run_lock(out_dir):
        assert publish_snapshot(Warehouse(out_dir=out_dir)) is not None
    written = last_refresh(out_dir)
    assert written is not None
    return written


def test_a_refresh_rewrites_only_the_tables_that_changed(portal, tmp_path: Path) -> None:
    """The replaced snapshot is kept as the spare; the next publish brings it up to date by rewriting only what
    differs from the warehouse, and readers see exactly the warehouse's tables and rows."""
    from pipelines.destinations.duckdb_snapshot import last_refresh, spare_path

    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    assert last_refresh(tmp_path)["whole"]  # the first snapshot: nothing to start from
    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    assert spare_path(tmp_path).is_file()  # the first snapshot, kept to be brought up to date next time
    summary = run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    written = last_refresh(tmp_path)
    assert summary.status == "succeeded" and summary.timings["snapshot"] > 0
    assert not written["whole"], written
    # the runs wrote their records; the users did not change upstream (SCD2 keeps their rows as they were), and
    # of the enrollments only those the incremental search's look-back read again were rewritten (new load id)
    assert '"learnupon"."pipeline_runs"' in written["tables"] and '"learnupon"."_dlt_loads"' in written["tables"]
    assert '"learnupon"."users"' not in written["tables"]
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        enrollments = con.execute("select count(*) from learnupon.enrollments").fetchone()[0]
    assert 0 < written["rows"]['"learnupon"."enrollments"'] < enrollments
    assert _contents(snapshot_path(tmp_path)) == _contents(warehouse)

    # the spare catches up with the last run; after that nothing changed, so nothing is rewritten in either file
    assert _publish(tmp_path)["tables"]
    assert _publish(tmp_path)["tables"] == [] and _publish(tmp_path)["tables"] == []

    # a row changed in place (no new load id, same row count), a table dropped, a view added: exactly those
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update learnupon.courses set name = name || ' (renamed)' where id = (select min(id) from learnupon.courses)")
        con.execute("drop table learnupon.custom_user_fields")
        con.execute("create view learnupon.course_names as select id, name from learnupon.courses")
    for _ in range(2):  # onto either file: each is brought up to date from what it held
        written = _publish(tmp_path)
        assert not written["whole"]
        assert written["tables"] == ['"learnupon"."courses"'] and written["views"] == ['"learnupon"."course_names"']
        assert written["rows"] == {'"learnupon"."courses"': 2}  # the row as it was out, as it is in
        assert written["dropped"] == ['"learnupon"."custom_user_fields"']
        assert _contents(snapshot_path(tmp_path)) == _contents(warehouse)


def test_a_reader_holding_the_spare_keeps_it_and_the_snapshot_is_written_whole(portal, tmp_path: Path) -> None:
    """A reader that opened the snapshot two publishes ago still holds the file that is now the spare: the spare
    is not written under it (DuckDB's lock refuses), a new file is, and the reader's rows stay as they were."""
    from pipelines.destinations.duckdb_snapshot import last_refresh

    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(snapshot_path(tmp_path))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert reader.stdout is not None and reader.stdin is not None
    try:
        assert reader.stdout.readline().strip() == "1"
        run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)  # the reader's file becomes the spare
        run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)  # and cannot be written while it is held
        written = last_refresh(tmp_path)
        assert written["whole"] and "could not be updated" in written["reason"], written
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "1"
    finally:
        reader.kill()
        reader.wait()
    assert _runs(snapshot_path(tmp_path)) == 3
    assert _contents(snapshot_path(tmp_path)) == _contents(tmp_path / "warehouse.duckdb")
    assert not _publish(tmp_path)["whole"]  # once it is let go, refreshes are in place again
