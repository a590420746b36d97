"""The local dlt state never outlives the warehouse it describes.

Deleted, replaced by another file, or restored from an older backup: the next run notices
before extracting, says so, and ends with a complete warehouse (ground truth, every table,
pipeline_runs), never a partial "success".
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from tests.conftest import CORE_RESOURCES, query, run_pipeline
from tests.support.truth import assert_matches_truth


def _tables(out: Path) -> set[str]:
    rows = query(out, "select table_name from information_schema.tables where table_schema = 'learnupon'")
    return {r["table_name"] for r in rows}


def test_deleted_warehouse_is_reloaded_from_scratch(portal_factory, tmp_path: Path) -> None:
    portal = portal_factory(users=40)
    run_pipeline(portal, tmp_path)
    tables_before = _tables(tmp_path)
    (tmp_path / "warehouse.duckdb").unlink()  # what a user does after a "corrupt database" error
    summary = run_pipeline(portal, tmp_path)
    assert summary.status == "succeeded", summary.error
    assert "reloading from scratch" in summary.extra["state_reset"]
    assert _tables(tmp_path) >= tables_before
    assert_matches_truth(tmp_path, portal.ground_truth())
    again = run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)  # later runs are ordinary again
    assert "state_reset" not in again.extra
    assert len(query(tmp_path, "select * from learnupon.pipeline_runs")) == 2


def test_replaced_warehouse_is_reloaded_from_scratch(portal_factory, tmp_path: Path) -> None:
    portal = portal_factory(users=40)
    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    (tmp_path / "warehouse.duckdb").unlink()
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:  # some other database in its place
        con.execute("create table unrelated as select 1 as x")
    summary = run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    assert "reloading from scratch" in summary.extra["state_reset"]
    assert_matches_truth(tmp_path, portal.ground_truth())


def test_warehouse_restored_from_an_old_backup_resumes_from_its_own_state(portal_factory, tmp_path: Path) -> None:
    portal = portal_factory(users=40)
    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    backup = tmp_path / "backup.duckdb"
    shutil.copy(tmp_path / "warehouse.duckdb", backup)
    portal.churn(days=2, share=0.05)
    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)  # the folder's state moves past the backup
    portal.churn(days=2, share=0.05)
    shutil.copy(backup, tmp_path / "warehouse.duckdb")
    summary = run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    assert "the warehouse's own state" in summary.extra["state_reset"]
    assert_matches_truth(tmp_path, portal.ground_truth())
