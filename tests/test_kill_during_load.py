"""A run SIGKILLed at any moment of its load step: the next run ends with exactly what a clean load gives.

The kill is injected into dlt by tests/load_killer.py, right after the n-th load job
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

from pipelines.runner import Warehouse
from pipelines.warehouse_check import duplicate_keys

from .conftest import query, run_pipeline
from .postgres_server import Database
from .truth import assert_matches_truth

# tables whose rows describe the run itself, not the portal
RUN_RECORDS = {"pipeline_runs", "data_issues", "contract_drift", "listing_scopes", "audit_gaps"}

# (when, n, incremental): the n-th finished load job of the killed run (a first run has about 70)
DEFAULT_POINTS = [("committed", 3, False), ("recorded", 30, False), ("committed", 12, True)]
SLOW_POINTS = [
    ("committed", 1), ("committed", 8), ("committed", 20), ("committed", 45), ("committed", 60),
    ("recorded", 2), ("recorded", 25), ("recorded", 40), ("recorded", 55), ("committed", 65),
]


def _killed_run(portal: Any, out: Path, when: str, n: int, db: Any = None) -> int:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEARNUPON_")},
        "LEARNUPON_BASE_URL": portal.base_url,
        "LEARNUPON_USERNAME": portal.config.username,
        "LEARNUPON_PASSWORD": portal.config.password,
    }
    command = [sys.executable, "-m", "tests.load_killer", when, str(n), "--", "run", "--out", str(out)]
    if db is not None:  # PostgreSQL: this test's database
        env["DESTINATION__POSTGRES__CREDENTIALS"] = db.dsn
        command += ["--destination", "postgres"]
    root = Path(__file__).resolve().parent.parent
    return subprocess.run(command, env=env, cwd=root, capture_output=True, timeout=300).returncode


def _warehouse(out: Path, db: Any = None) -> Warehouse:
    if db is None:
        return Warehouse(out_dir=out)
    return Warehouse(destination="postgres", out_dir=out, postgres_credentials=db.dsn)


def _current_keys(out: Path, db: Any = None) -> dict[str, set[tuple[Any, ...]]]:
    schema = _warehouse(out, db).pipeline().default_schema
    keys: dict[str, set[tuple[Any, ...]]] = {}
    for table in schema.data_table_names():
        columns = schema.get_table_columns(table)
        key = [name for name, column in columns.items() if column.get("primary_key")]
        if not key or table in RUN_RECORDS or schema.get_table(table).get("write_disposition") != "merge":
            continue
        where = " where _dlt_valid_to is null" if "_dlt_valid_to" in columns else ""
        rows = query(db or out, f"select {', '.join(key)} from learnupon.{table}{where}")
        keys[table] = {tuple(r.values()) for r in rows}
    return keys


def _kill_and_resume(portal_factory: Any, tmp_path: Path, when: str, n: int, incremental: bool, postgres: Any = None) -> None:
    """postgres: a PostgreSQL server (tests/postgres_server.py) to load into instead of DuckDB files."""
    portal = portal_factory(users=40, page_size=25)
    out, clean = tmp_path / "killed", tmp_path / "clean"
    db = clean_db = None
    if postgres is not None:
        db = Database(postgres, postgres.create_database())
    run = lambda folder, database: run_pipeline(  # noqa: E731
        portal, folder, **({"destination": "postgres", "credentials": database.dsn} if database else {})
    )
    if incremental:
        run(out, db)
        shutil.copytree(out, clean)  # the same history, loaded by runs nobody killed
        if postgres is not None:
            clean_db = Database(postgres, postgres.create_database())
            postgres.drop_database(clean_db.name)
            postgres.execute(f'create database "{clean_db.name}" template "{db.name}"')
        portal.churn(days=1, share=0.05)
    elif postgres is not None:
        clean_db = Database(postgres, postgres.create_database())
    assert _killed_run(portal, out, when, n, db) == -9, "the run was not killed during its load step"
    summary = run(out, db)
    assert summary.status == "succeeded", summary.error

    assert duplicate_keys(_warehouse(out, db).pipeline()) == {}
    assert_matches_truth(db or out, portal.ground_truth())
    run(clean, clean_db)
    expected, got = _current_keys(clean, clean_db), _current_keys(out, db)
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
    _kill_and_resume(portal_factory, tmp_path, when, n, incremental, postgres=postgres_server)
