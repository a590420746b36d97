"""A run SIGKILLed at any moment of its load step: the next run ends with exactly what a clean load gives.

The kill is injected into dlt by tests/support/load_killer.py, right after the n-th load job
committed its rows (before dlt records it as done: the moment a resumed load would
copy them again) or right after it was recorded. Every raw table is checked for keys
stored twice (keys from the dlt schema), the core tables against the portal's ground
truth, and the current keys of every keyed table against a clean load of the same portal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.run.runner import Warehouse
from pipelines.run.integrity import duplicate_keys

from tests.conftest import query, run_pipeline
from tests.support.postgres_server import Database
from tests.support.truth import assert_matches_truth

# tables whose rows describe the run itself, not the portal
RUN_RECORDS = {"pipeline_runs", "data_issues", "contract_drift", "listing_scopes", "audit_gaps"}

# (when, n, incremental): the n-th finished load job of the killed run (a first run has about 70)
DEFAULT_POINTS = [("committed", 3, False), pytest.param("recorded", 30, False, marks=pytest.mark.slow), ("committed", 12, True)]
# on a Delta lake (slow suite, as on PostgreSQL): inside dlt's load, and right after the n-th merge or
# delete commit (dlt's upserts, then the SCD2 merges and listing clean-ups the run applies after dlt's
# load; an incremental run makes about 25)
DELTA_POINTS = [
    ("committed", 5, False),
    ("recorded", 20, False),
    ("delta", 4, True),
    ("delta", 14, True),
    ("delta", 22, True),
    ("committed", 12, True),
]
SLOW_POINTS = [
    ("committed", 1), ("committed", 8), ("committed", 20), ("committed", 45), ("committed", 60),
    ("recorded", 2), ("recorded", 25), ("recorded", 40), ("recorded", 55), ("committed", 65),
]


def _killed_run(portal: Any, out: Path, when: str, n: int, destination: str = "duckdb", db: Any = None) -> int:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEARNUPON_")},
        "LEARNUPON_BASE_URL": portal.base_url,
        "LEARNUPON_USERNAME": portal.config.username,
        "LEARNUPON_PASSWORD": portal.config.password,
    }
    command = [sys.executable, "-m", "tests.support.load_killer", when, str(n), "--", "run", "--out", str(out), "--destination", destination]
    if db is not None:  # PostgreSQL: this test's database
        env["DESTINATION__POSTGRES__CREDENTIALS"] = db.dsn
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(command, env=env, cwd=root, capture_output=True, timeout=300).returncode


def _warehouse(out: Path, destination: str = "duckdb", db: Any = None) -> Warehouse:
    return Warehouse(destination=destination, out_dir=out, postgres_credentials=db.dsn if db is not None else None)


def _reader(warehouse: Warehouse, db: Any = None) -> Any:
    """What `query` and the truth helpers read: the PostgreSQL database, the Delta lake's Warehouse, or the folder."""
    if db is not None:
        return db
    return warehouse if warehouse.destination == "delta" else warehouse.out_dir


def _duplicate_keys(warehouse: Warehouse) -> dict[str, int]:
    pipeline = warehouse.pipeline()
    # a lake is read through deltalake (dlt's own SQL client over Delta needs DuckDB's delta extension)
    return duplicate_keys(pipeline, warehouse.delta_lake if warehouse.destination == "delta" else None)


def _current_keys(warehouse: Warehouse, db: Any = None) -> dict[str, set[tuple[Any, ...]]]:
    schema = warehouse.pipeline().default_schema
    keys: dict[str, set[tuple[Any, ...]]] = {}
    for table in schema.data_table_names():
        columns = schema.get_table_columns(table)
        key = [name for name, column in columns.items() if column.get("primary_key")]
        if not key or table in RUN_RECORDS or schema.get_table(table).get("write_disposition") != "merge":
            continue
        where = " where _dlt_valid_to is null" if "_dlt_valid_to" in columns else ""
        rows = query(_reader(warehouse, db), f"select {', '.join(key)} from learnupon.{table}{where}")
        keys[table] = {tuple(r.values()) for r in rows}
    return keys


def _kill_and_resume(
    portal_factory: Any, tmp_path: Path, when: str, n: int, incremental: bool, destination: str = "duckdb", postgres: Any = None
) -> None:
    """destination: duckdb, delta (a local lake) or postgres (on `postgres`, a server from tests/support/postgres_server.py)."""
    portal = portal_factory(users=40, page_size=25)
    out, clean = tmp_path / "killed", tmp_path / "clean"
    db = clean_db = None
    if destination == "postgres":
        db = Database(postgres, postgres.create_database())

    def run(folder: Path, database: Any) -> Any:
        return run_pipeline(portal, folder, destination=destination, credentials=database.dsn if database else None)

    if incremental:
        run(out, db)
        shutil.copytree(out, clean)  # the same history, loaded by runs nobody killed
        if destination == "postgres":
            clean_db = Database(postgres, postgres.create_database())
            postgres.drop_database(clean_db.name)
            postgres.execute(f'create database "{clean_db.name}" template "{db.name}"')
        portal.churn(days=1, share=0.05)
    elif destination == "postgres":
        clean_db = Database(postgres, postgres.create_database())
    assert _killed_run(portal, out, when, n, destination, db) == -9, "the run was not killed during its load step"
    summary = run(out, db)
    assert summary.status == "succeeded", summary.error

    killed = _warehouse(out, destination, db)
    assert _duplicate_keys(killed) == {}
    assert_matches_truth(_reader(killed, db), portal.ground_truth())
    run(clean, clean_db)
    expected, got = _current_keys(_warehouse(clean, destination, clean_db), clean_db), _current_keys(killed, db)
    for table in expected:
        assert got.get(table) == expected[table], f"{table}: current keys differ from a clean load"


@pytest.mark.parametrize("when,n,incremental", DEFAULT_POINTS)
def test_kill_during_load_leaves_no_duplicate_keys(portal_factory, tmp_path: Path, when: str, n: int, incremental: bool) -> None:
    _kill_and_resume(portal_factory, tmp_path, when, n, incremental)


@pytest.mark.slow
@pytest.mark.parametrize("incremental", [False, True], ids=["first-run", "incremental"])
@pytest.mark.parametrize("when,n", SLOW_POINTS)
def test_kill_during_load_at_many_moments(portal_factory, tmp_path: Path, when: str, n: int, incremental: bool) -> None:
    _kill_and_resume(portal_factory, tmp_path, when, n, incremental)


@pytest.mark.slow
@pytest.mark.parametrize("when,n,incremental", DEFAULT_POINTS)
def test_kill_during_load_into_postgres(portal_factory, tmp_path: Path, postgres_server, when: str, n: int, incremental: bool) -> None:
    _kill_and_resume(portal_factory, tmp_path, when, n, incremental, destination="postgres", postgres=postgres_server)


@pytest.mark.slow
@pytest.mark.parametrize("when,n,incremental", DELTA_POINTS)
def test_kill_during_load_into_delta(portal_factory, tmp_path: Path, when: str, n: int, incremental: bool) -> None:
    _kill_and_resume(portal_factory, tmp_path, when, n, incremental, destination="delta")


def _run_records(out: Path, table: str, run_ids: set[str]) -> list[tuple[Any, ...]]:
    """A run's records as a clean load writes them: every column but the run id, the moment noticed and
    the drift's example (the first one met, and fan-out calls finish in any order)."""
    rows = query(out, f"select * from learnupon.{table}")
    skip = {"run_id", "noticed_at", "example", "_dlt_load_id", "_dlt_id"}
    return sorted(tuple(str(v) for k, v in sorted(r.items()) if k not in skip) for r in rows if r["run_id"] in run_ids)


# (when, n): on a first run, the kill falls after normalize (nothing loaded), inside the load, or right after it (before retirement)
FIRST_RUN_RECORD_POINTS = [("normalized", 1), ("committed", 5), ("loaded", 1)]


@pytest.mark.parametrize("when,n", FIRST_RUN_RECORD_POINTS)
def test_killed_first_run_keeps_its_run_records(portal_factory, tmp_path: Path, when: str, n: int) -> None:
    """The killed run's data_issues and contract_drift load with its package: the next run has them as a clean load does."""
    portal = portal_factory(mode="strict", users=40, page_size=25)  # strict: the reference's narrowest shapes give data issues
    out, clean = tmp_path / "killed", tmp_path / "clean"
    assert _killed_run(portal, out, when, n) == -9, "the run was not killed"
    resumed = run_pipeline(portal, out)
    assert resumed.status == "succeeded", resumed.error
    clean_run = run_pipeline(portal, clean)

    recorded = {r["run_id"] for r in query(out, "select run_id from learnupon.pipeline_runs")}
    assert recorded == {resumed.run_id}
    details = query(out, "select details from learnupon.pipeline_runs")[0]["details"]
    if when != "loaded":  # the package was left pending: the run that finished its load names it
        assert '"resumed":["' in details.replace(" ", ""), details
    killed_ids = {r["run_id"] for r in query(out, "select distinct run_id from learnupon.data_issues")} - recorded
    assert len(killed_ids) == 1, killed_ids
    expected_issues = _run_records(clean, "data_issues", {clean_run.run_id})
    assert expected_issues, "the portal gives no data issues: this test would prove nothing"
    assert _run_records(out, "data_issues", killed_ids) == expected_issues
    assert _run_records(out, "contract_drift", killed_ids) == _run_records(clean, "contract_drift", {clean_run.run_id})
