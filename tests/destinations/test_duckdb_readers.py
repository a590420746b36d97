"""A DuckDB warehouse every reader opens: DuckDB 1.1 (as bundled by lagging BI drivers) reads the
snapshot readers are sent to, every table and view, marts included, and an older warehouse file in the newest format is
converted once without losing a row.

The old reader runs in its own environment (`.venv/old-duckdb`, which `make` builds with the main
one from tests/support/old_duckdb.lock; the test itself needs no registry), so it is a real older
release reading the real file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.destinations.duckdb_storage import OLDEST_READER, storage_version
from pipelines.destinations.duckdb_snapshot import last_refresh, snapshot_path

from tests.conftest import CORE_RESOURCES, cli, run_pipeline
from tests.support.events import CEILING_SECONDS

OLD_DUCKDB_LOCK = Path(__file__).resolve().parents[1] / "support" / "old_duckdb.lock"
OLD_DUCKDB = next(line.split("==")[1].strip() for line in OLD_DUCKDB_LOCK.read_text().splitlines() if line.startswith("duckdb=="))

# prints {"version": ..., "tables": {"schema.name": rows}} for every table and view of the file, read-only
COUNT_TABLES = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
tables = con.execute(
    "select table_schema, table_name from information_schema.tables"
    " where table_catalog = current_database() order by all"
).fetchall()
counts = {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables}
print(json.dumps({"version": duckdb.__version__, "tables": counts}))
"""


@pytest.fixture(scope="module")
def old_duckdb() -> Path:
    """The Python of the environment with DuckDB 1.1.3 and nothing of ours (made by `make`, beside .venv)."""
    python = Path(sys.executable).parent.parent / "old-duckdb" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"no {python}: `make .venv/.installed` builds it from {OLD_DUCKDB_LOCK.name}")
    version = subprocess.run([str(python), "-c", "import duckdb; print(duckdb.__version__)"], capture_output=True, text=True)
    assert version.stdout.strip() == OLD_DUCKDB, version.stderr[-2000:]
    return python


def _tables_as_read_by(python: Path | str, database: Path) -> dict[str, int]:
    done = subprocess.run([str(python), "-c", COUNT_TABLES, str(database)], capture_output=True, text=True, timeout=CEILING_SECONDS)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    return result["tables"]


def test_duckdb_1_1_opens_the_snapshot_with_the_marts(portal, tmp_path: Path, old_duckdb: Path) -> None:
    run_pipeline(portal, tmp_path)  # every resource, so every mart and view is built
    built = cli("models", "--out", str(tmp_path))
    assert built.returncode == 0, built.stderr
    warehouse = tmp_path / "warehouse.duckdb"
    assert storage_version(warehouse) <= OLDEST_READER
    ours = _tables_as_read_by(sys.executable, warehouse)
    assert any(name.startswith("learnupon.") for name in ours) and any(name.startswith("reporting.") for name in ours)
    assert ours["learnupon.users"] > 0
    # readers open the snapshot: a file in DuckDB 1.1's format, refreshed after every load and build
    # (the warehouse file itself, updated in place by DuckDB 2.0, was once refused by 1.1.3)
    snapshot = snapshot_path(tmp_path)
    assert storage_version(snapshot) <= OLDEST_READER
    # a second build refreshes the snapshot in place (the spare brought up to date by DuckDB 2.0): still readable
    assert cli("models", "--out", str(tmp_path)).returncode == 0
    assert last_refresh(tmp_path)["whole"] is False
    assert storage_version(snapshot) <= OLDEST_READER
    ours = _tables_as_read_by(sys.executable, warehouse)  # the second build's records included
    # every table and view but dlt's working schema, which readers never see
    assert _tables_as_read_by(old_duckdb, snapshot) == {k: v for k, v in ours.items() if not k.startswith("learnupon_staging.")}


def test_a_warehouse_in_the_newest_format_is_converted_once_and_keeps_its_rows(portal, tmp_path: Path, old_duckdb: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    # the same data in the format a pre-compatibility release of the pipeline wrote
    newest = tmp_path / "newest.duckdb"
    with duckdb.connect(str(newest)) as con:
        con.execute(f"attach '{warehouse}' as old (read_only)")
        con.execute("copy from database old to newest")
    os.replace(newest, warehouse)
    assert storage_version(warehouse) > OLDEST_READER
    before = _tables_as_read_by(sys.executable, warehouse)
    refused = subprocess.run([str(old_duckdb), "-c", COUNT_TABLES, str(warehouse)], capture_output=True, text=True, timeout=CEILING_SECONDS)
    assert refused.returncode != 0  # the finding: DuckDB 1.1 could not open it

    summary = run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    assert summary.status == "succeeded"
    assert storage_version(warehouse) <= OLDEST_READER
    after = _tables_as_read_by(sys.executable, warehouse)
    readers = {k: v for k, v in after.items() if not k.startswith("learnupon_staging.")}  # dlt's working schema stays out
    assert _tables_as_read_by(old_duckdb, snapshot_path(tmp_path)) == readers
    assert after["learnupon.pipeline_runs"] == before["learnupon.pipeline_runs"] + 1
    for table in ("learnupon.users", "learnupon.courses", "learnupon.enrollments"):
        assert after[table] >= before[table] > 0
    assert not list(tmp_path.glob(".warehouse.duckdb.*"))
