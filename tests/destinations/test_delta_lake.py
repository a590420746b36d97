"""The Delta Lake destination: the same rows as DuckDB, the portal's ground truth, marts equal to DuckDB's.

One portal, loaded into a DuckDB file and into a local Delta lake side by side (full run, churn,
incremental run), so every table can be compared row for row; then the same on an S3-compatible
server (moto, started on loopback by the test) read back with `deltalake` and storage options.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.destinations.delta_lake.lake import MARTS, TABLE_PROPERTIES
from pipelines.destinations.delta_lake.load_jobs import TURNS
from pipelines.learnupon.lifecycle import LIFECYCLES
from pipelines.learnupon.records import parse_int
from pipelines.models import build_models
from pipelines.run.runner import Warehouse

from tests.conftest import CORE_RESOURCES, query, run_pipeline
from tests.support.events import CEILING_SECONDS, wait_until
from tests.support.truth import assert_coverage_matches_truth, assert_matches_truth

AS_OF = date(2026, 11, 4)
# columns that say when or in which run a row was written: they differ between two warehouses by design
RUN_COLUMNS = {"_dlt_load_id", "_dlt_id", "_dlt_valid_from", "_dlt_valid_to", "run_id", "noticed_at", "applied_at", "fetched_at", "taken_at"}
# tables that describe the runs themselves, not the portal
RUN_TABLES = {"pipeline_runs", "data_issues", "contract_drift", "listing_scopes", "exam_answer_fetches"}


@contextmanager
def _connection(warehouse: Warehouse) -> Iterator[Any]:
    """One DuckDB connection over a warehouse's `learnupon` tables: the DuckDB file, or every table of the lake opened once."""
    if warehouse.destination == "delta":
        with warehouse.delta_lake.connect() as con:
            yield con
    else:
        with duckdb.connect(str(warehouse.duckdb_path), read_only=True) as con:
            yield con


def _raw_tables(con: Any) -> list[str]:
    rows = con.execute("select table_name from information_schema.tables where table_schema = 'learnupon'").fetchall()
    return sorted(name for (name,) in rows if not name.startswith("_dlt") and name not in RUN_TABLES)


def _columns(con: Any, table: str) -> set[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = 'learnupon' and table_name = ?", [table]
    ).fetchall()
    return {name for (name,) in rows}


def _snapshot(con: Any, table: str, columns: list[str]) -> dict[str, Any]:
    """A table as a reader sees it: its current rows (sorted), and how many rows are history."""
    has_valid_to = "_dlt_valid_to" in _columns(con, table)
    where = " where _dlt_valid_to is null" if has_valid_to else ""
    listed = ", ".join(f'"{c}"' for c in columns)
    current = con.execute(f"select {listed} from learnupon.{table}{where}").fetchall()
    history = con.execute(f"select count(*) from learnupon.{table} where _dlt_valid_to is not null").fetchone()[0] if has_valid_to else 0
    return {"current": sorted(current, key=repr), "history": history}


def test_delta_holds_the_same_rows_as_duckdb_and_the_portal(portal_factory, tmp_path: Path) -> None:
    portal = portal_factory()
    duck = Warehouse(destination="duckdb", out_dir=tmp_path / "duck")
    lake = Warehouse(destination="delta", out_dir=tmp_path / "lake")
    writes_before = TURNS.writes
    full = {w.destination: run_pipeline(portal, w) for w in (duck, lake)}
    assert all(s.status == "succeeded" for s in full.values())
    # every table's Delta write took its turn (delta_lake/load_jobs.py): one in memory at a time
    assert TURNS.writes - writes_before >= 25
    # the destination changes where rows land, never what is asked of the API (test_destinations.py's rule)
    assert {e: c["calls"] for e, c in full["delta"].api["endpoints"].items()} == {
        e: c["calls"] for e, c in full["duckdb"].api["endpoints"].items()
    }
    changes = portal.churn(days=1, share=0.05)
    assert changes["enrollments_deleted"] > 0
    summaries = {w.destination: run_pipeline(portal, w) for w in (duck, lake)}
    assert all(s.status == "succeeded" for s in summaries.values())
    # the same facts were read before the extract: the incremental runs made the same calls
    assert summaries["delta"].api["endpoints"] == summaries["duckdb"].api["endpoints"]
    assert summaries["delta"].extra.get("retired") == summaries["duckdb"].extra.get("retired")

    truth = portal.ground_truth()
    assert_matches_truth(lake, truth)
    assert_coverage_matches_truth(lake, truth)
    # deleted users are history only, with when the deletion was noticed
    deleted = {parse_int(i) for i in truth["deleted_user_ids"]}
    retired = query(lake, "select id from learnupon.users group by id having count(*) filter (where _dlt_valid_to is null) = 0")
    assert deleted and {r["id"] for r in retired} == deleted

    # every table a reader sees: the same current rows and the same number of history rows as DuckDB
    with _connection(duck) as d, _connection(lake) as dl:
        tables = _raw_tables(dl)
        # a resource that gave no row (the realm's listing, from a portal that is not top-level) has no Delta table
        unwritten = [t for t in _raw_tables(d) if t not in tables]
        assert all(not d.execute(f"select count(*) from learnupon.{t}").fetchone()[0] for t in unwritten), unwritten
        assert set(tables) <= set(_raw_tables(d)) and len(tables) >= 25
        for table in tables:
            columns = sorted(_columns(d, table) - RUN_COLUMNS)
            assert _columns(dl, table) >= set(columns), table
            assert _snapshot(dl, table, columns) == _snapshot(d, table, columns), table
        # SCD2 tables keep dlt's validity columns, one row per version
        for table in (name for name, lc in LIFECYCLES.items() if lc.how == "scd2" and name in tables):
            assert {"_dlt_valid_from", "_dlt_valid_to"} <= _columns(dl, table), table
            open_versions = dl.execute(f"select count(*) from learnupon.{table} where _dlt_valid_from is null").fetchone()
            assert open_versions[0] == 0, table

    # the models read the Delta tables; the marts land beside them as Delta tables, equal to DuckDB's
    built = {w.destination: build_models(w, as_of=AS_OF, export_parquet=False) for w in (duck, lake)}
    # the realm's models read the portals table, which Delta has only once a top-level portal listed its realm:
    # skipped (a model whose raw table was not loaded is), while DuckDB's empty table gives empty marts
    realm_models = {"stg_portal_versions", "licence_use", "licence_use_trend"}
    assert set(built["delta"].skipped) <= realm_models, built["delta"].skipped
    marts = [m for m in built["duckdb"].marts if m not in realm_models]
    assert built["delta"].marts and sorted(built["delta"].marts) == sorted(marts)
    assert not built["delta"].failed_tests
    from deltalake import DeltaTable

    with duckdb.connect(str(duck.duckdb_path), read_only=True) as con:
        for mart in marts:
            expected = con.sql(f"select * from {built['duckdb'].relation(mart)}").to_arrow_table()
            published = DeltaTable(lake.delta_lake.table_uri(mart, MARTS)).to_pyarrow_table()
            assert published.column_names == expected.column_names, mart
            # taken_at, deleted_at: when each run read the leaderboard, noticed a deletion
            same = [c for c in expected.column_names if c not in RUN_COLUMNS | {"deleted_at"}]
            assert _rows_of(published.select(same)) == _rows_of(expected.select(same)), mart


def test_delta_tables_carry_the_table_properties_and_an_older_lake_gets_them(portal_factory, tmp_path: Path) -> None:
    """Every table dlt or the pipeline creates has TABLE_PROPERTIES (smaller files: less memory per write and
    merge); a table made before they were declared is altered by the next run, and its merge still loads."""
    portal = portal_factory()
    lake = Warehouse(destination="delta", out_dir=tmp_path / "lake")
    assert run_pipeline(portal, lake, CORE_RESOURCES).status == "succeeded"
    names = lake.delta_lake.table_names()
    assert {"users", "enrollments", "pipeline_runs"} <= set(names)
    for name in names:
        assert lake.delta_lake.open(name).metadata().configuration == TABLE_PROPERTIES, name

    older = lake.delta_lake.open("enrollments")
    older.alter.set_table_properties({"delta.targetFileSize": str(100 * 2**20)})  # delta-rs's default, as before
    portal.churn(days=1, share=0.05)
    assert run_pipeline(portal, lake, CORE_RESOURCES).status == "succeeded"
    assert lake.delta_lake.open("enrollments").metadata().configuration == TABLE_PROPERTIES
    assert_matches_truth(lake, portal.ground_truth())


def _rows_of(table: Any) -> list[str]:
    """Rows, sorted, instants compared as instants (a zone named UTC or Etc/UTC is the same zone)."""
    def plain(value: Any) -> Any:
        return value.astimezone(timezone.utc) if isinstance(value, datetime) and value.tzinfo else value

    return sorted(repr({k: plain(v) for k, v in row.items()}) for row in table.to_pylist())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """moto's S3 server on a free loopback port (a child process, stopped by its pid), with dlt's credentials set."""
    port = _free_port()
    log = open(tmp_path / "moto.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False

        wait_until(listening, "moto's S3 server listening", server, log=tmp_path / "moto.log")
        for name, value in {
            "AWS_ACCESS_KEY_ID": "lake-test-key",
            "AWS_SECRET_ACCESS_KEY": "lake-test-secret-value",
            "REGION_NAME": "us-east-1",
            "ENDPOINT_URL": endpoint,
        }.items():
            monkeypatch.setenv(f"DESTINATION__FILESYSTEM__CREDENTIALS__{name}", value)
        import boto3

        boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id="lake-test-key", aws_secret_access_key="lake-test-secret-value",
            region_name="us-east-1",
        ).create_bucket(Bucket="lms-lake")
        yield {"endpoint": endpoint, "secret": "lake-test-secret-value"}
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=CEILING_SECONDS)
        log.close()


# moto's server is slow (every request in Python): the default suite loads the core resources and the
# audit trail (the deletion signals), every table of the lake; the slow suite loads every resource
S3_RESOURCES = pytest.mark.parametrize(
    "resources", [[*CORE_RESOURCES, "audit_trails"], pytest.param(None, marks=pytest.mark.slow, id="all")]
)


@S3_RESOURCES
def test_delta_on_an_s3_compatible_server(
    portal_factory, s3_server: dict[str, Any], tmp_path: Path, resources: list[str] | None
) -> None:
    portal = portal_factory(users=40)
    lake = Warehouse(destination="delta", out_dir=tmp_path / "run", delta_url="s3://lms-lake/warehouse")
    assert run_pipeline(portal, lake, resources).status == "succeeded"
    changes = portal.churn(days=1, share=0.1)
    assert changes["enrollments_deleted"] > 0 and changes["users_deleted"] > 0
    summary = run_pipeline(portal, lake, resources)
    assert summary.status == "succeeded" and summary.extra["retired"]["enrollments"] > 0
    truth = portal.ground_truth()
    # read back from the bucket with deltalake and the storage options dlt resolved
    assert_matches_truth(lake, truth)
    if resources is None:
        assert_coverage_matches_truth(lake, truth)
    from deltalake import DeltaTable

    options = lake.delta_lake.storage_options
    users = DeltaTable("s3://lms-lake/warehouse/learnupon/users", storage_options=options).to_pyarrow_table()
    current = {r["id"] for r in users.to_pylist() if r["_dlt_valid_to"] is None}
    assert current == {parse_int(u["id"]) for u in truth["users"]}
    # nothing was written on this machine but dlt's working files; the secret is in none of them
    assert not (tmp_path / "run" / "delta").exists()
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert s3_server["secret"].encode() not in path.read_bytes(), path
