"""`--destination parquet`: folders of current rows any reader gets right, history apart, swapped in atomically.

Readers here read as BI tools do: `read_parquet('<table>/*.parquet')` in DuckDB and `pyarrow.dataset`
on the folder, with no de-duplication and no filter.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import duckdb
import pyarrow.dataset as ds

from pipelines.learnupon.records import parse_int
from pipelines.learnupon.resources.exams import exam_enrollment_fingerprint
from pipelines.destinations.parquet_publication import publish_warehouse
from pipelines.run.runner import Warehouse
from pipelines.run.summary import print_summary

from tests.conftest import cli, query, run_pipeline
from tests.support.events import wait_until
from tests.support.truth import assert_coverage_matches_truth, assert_matches_truth

ANSWER_CALLS = "GET /exams/{id}/answers/{id}"


def read_with_pyarrow(folder: Path) -> list[dict]:
    return ds.dataset(folder, format="parquet").to_table().to_pylist()


def read_with_duckdb(folder: Path, columns: str = "*") -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(f"select {columns} from read_parquet('{folder}/*.parquet')").fetchall()


def assert_current_as_readers_read(out: Path, truth: dict) -> None:
    """users and enrollments: one row per key, exactly the portal's, whichever reader reads the folder."""
    root = out / "parquet"
    for table, key, expected in (
        ("users", "id", {parse_int(u["id"]) for u in truth["users"]}),
        ("enrollments", "id", {parse_int(e["id"]) for e in truth["enrollments"]}),
    ):
        by_arrow = [row[key] for row in read_with_pyarrow(root / table)]
        by_duckdb = [row[0] for row in read_with_duckdb(root / table, key)]
        for keys in (by_arrow, by_duckdb):
            assert len(keys) == len(set(keys)), f"{table}: a key repeats in the current folder"
            assert set(keys) == expected, f"{table}: {len(set(keys) ^ expected)} keys differ from the portal"
        assert all(row["_dlt_valid_to"] is None for row in read_with_pyarrow(root / table))


def test_full_churn_incremental_equal_the_portal_as_readers_read(portal, tmp_path: Path) -> None:
    full = run_pipeline(portal, tmp_path, destination="parquet")
    assert full.status == "succeeded"
    truth = portal.ground_truth()
    assert_current_as_readers_read(tmp_path, truth)
    assert_matches_truth(tmp_path, truth, destination="parquet")
    assert_coverage_matches_truth(tmp_path, truth, destination="parquet")
    assert full.api["endpoints"][ANSWER_CALLS]["calls"] == len(truth["exam_enrollments"])

    before = {e["exam_enrollment_id"]: exam_enrollment_fingerprint(e) for e in truth["exam_enrollments"]}
    changes = portal.churn(days=1, share=0.05)
    assert changes["enrollments_deleted"] > 0
    truth = portal.ground_truth()
    changed = sum(1 for e in truth["exam_enrollments"] if before.get(e["exam_enrollment_id"]) != exam_enrollment_fingerprint(e))
    assert changed > 0
    incremental = run_pipeline(portal, tmp_path, destination="parquet")
    assert incremental.status == "succeeded"
    # answers are fetched again only for the exam enrollments that changed, as on DuckDB
    assert incremental.api["endpoints"].get(ANSWER_CALLS, {}).get("calls", 0) == changed

    assert_current_as_readers_read(tmp_path, truth)
    assert_matches_truth(tmp_path, truth, destination="parquet")
    assert_coverage_matches_truth(tmp_path, truth, destination="parquet")
    # deleted upstream: gone from the current folders, kept in history with the time it was noticed
    deleted_users = {parse_int(i) for i in truth["deleted_user_ids"]}
    deleted_enrollments = {parse_int(i) for i in truth["deleted_enrollment_ids"]}
    assert deleted_users and deleted_enrollments
    history = tmp_path / "parquet" / "history"
    retired_users = {r["id"] for r in read_with_pyarrow(history / "users") if r["_dlt_valid_to"] is not None}
    assert deleted_users <= retired_users
    retired_enrollments = {r["id"] for r in read_with_pyarrow(history / "enrollments") if r["_dlt_valid_to"] is not None}
    assert deleted_enrollments & retired_enrollments, "deleted enrollments the warehouse had are kept as history"
    current_in_history = query(
        tmp_path, "select count(*) as n from history.users where _dlt_valid_to is null", destination="parquet"
    )[0]["n"]
    assert current_in_history == len(truth["users"])  # history holds the current versions too
    assert not list((tmp_path / "parquet").glob("**/.versions/*/.*"))  # no half-written version left

    # the run summary's "rows now" are the current rows a reader sees
    printed = io.StringIO()
    print_summary(incremental, Warehouse(out_dir=tmp_path, destination="parquet"), 1.0, out=printed)
    rows_now = {line.split()[0]: int(line.split()[1].replace(",", "")) for line in printed.getvalue().splitlines()
                if line.split()[:1] in (["users"], ["enrollments"])}
    assert rows_now == {"users": len(truth["users"]), "enrollments": len(truth["enrollments"])}

    # a run that changes only one table rewrites only that table (and the run records)
    users = (tmp_path / "parquet" / "users").resolve()
    run_pipeline(portal, tmp_path, destination="parquet", resources=["timezones"])
    assert (tmp_path / "parquet" / "users").resolve() == users
    assert len(read_with_pyarrow(tmp_path / "parquet" / "pipeline_runs")) == 3


def test_a_reader_never_sees_a_mix_or_an_empty_folder(tmp_path: Path) -> None:
    """Readers read the folder over and over while versions are published; each read is one whole version.

    A read that lists the folder before a switch and opens its file after it (DuckDB lists when it
    plans a query and opens when it runs it) fails with "file not found", never with rows of two
    versions or of a half-written file; read again, it sees the new version.
    """
    warehouse = Warehouse(out_dir=tmp_path, destination="parquet")
    folder = warehouse.parquet_dir / "scores"

    def load(version: int) -> None:  # a "load" into the working warehouse: version n has 50,000 + n rows, all tagged n
        with duckdb.connect(str(warehouse.duckdb_path)) as con:
            con.execute("create schema if not exists learnupon")
            con.execute(
                "create or replace table learnupon.scores as select range as id, ? as version,"
                " cast(? as varchar) as _dlt_load_id from range(50000 + ?)",
                [version, f"{1_700_000_000 + version}.0", version],
            )

    seen: dict[str, set[int]] = {"duckdb": set(), "pyarrow": set()}
    problems: list[str] = []
    not_found = [0]
    published = threading.Event()  # set once the first version is in the folder
    done = threading.Event()
    reads_ended = [0, 0, 0]  # per reader: reads that ended, whatever their outcome

    def read_forever(index: int, reader: str) -> None:
        published.wait()
        while not done.is_set():
            try:
                if reader == "duckdb":
                    with duckdb.connect() as con:  # one group per version the read met
                        rows = con.execute(f"select version, count(*) from read_parquet('{folder}/*.parquet') group by 1").fetchall()
                else:
                    dataset = ds.dataset(folder, format="parquet")
                    if not dataset.files:  # its listing straddled a switch: the names it listed are gone (docs/destinations.md)
                        not_found[0] += 1
                        continue
                    table = dataset.to_table(columns=["version"])
                    rows = [(v, table.num_rows) for v in set(table.column("version").to_pylist())]
            except Exception as exc:  # noqa: BLE001 - every failed read is examined
                # the version the read listed was switched away from (or, two publications on, removed)
                if isinstance(exc, FileNotFoundError) or "No such file" in str(exc) or "No files found" in str(exc):
                    not_found[0] += 1
                else:
                    problems.append(f"{reader}: {type(exc).__name__}: {exc}")
                continue
            finally:
                reads_ended[index] += 1
            if len(rows) != 1:
                problems.append(f"{reader} saw {len(rows)} versions at once: {rows}")
            elif rows[0][1] != 50000 + rows[0][0]:
                problems.append(f"{reader} saw {rows[0][1]} rows of version {rows[0][0]}")
            else:
                seen[reader].add(rows[0][0])

    readers = [threading.Thread(target=read_forever, args=(i, r)) for i, r in enumerate(("duckdb", "pyarrow", "duckdb"))]
    for thread in readers:
        thread.start()
    try:
        for version in range(12):
            load(version)
            assert publish_warehouse(warehouse).written == ["scores"]
            published.set()
            # every reader ends two more reads: the second began after this publication, so each reader
            # reads every version whole, however the threads are scheduled (reads during the next
            # publication still race with it)
            after = list(reads_ended)
            wait_until(lambda: all(now >= then + 2 for now, then in zip(reads_ended, after)), f"reads of version {version}")
    finally:
        done.set()
        published.set()
        for thread in readers:
            thread.join()
    assert not problems, problems[:5]
    assert seen == {"duckdb": set(range(12)), "pyarrow": set(range(12))}, (seen, not_found)  # reads spanned publications
    assert len(list(folder.iterdir())) == 1  # one file of the newest version, nothing half-written beside it
    versions = warehouse.parquet_dir / ".versions" / "scores"
    assert len(list(versions.iterdir())) == 2  # the newest and the one it replaced
    # an unchanged warehouse is not published again
    assert publish_warehouse(warehouse).unchanged == ["scores"]


def test_an_out_folder_of_the_old_appended_layout_is_refused(tmp_path: Path) -> None:
    (tmp_path / "parquet" / "learnupon" / "users").mkdir(parents=True)
    done = cli("models", "--destination", "parquet", "--out", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "old appended Parquet layout" in done.stderr and "new --out" in done.stderr


def test_a_wide_table_publishes_under_the_load_memory_limit(tmp_path: Path) -> None:
    """The publication is not held to the load's small DuckDB memory limit (64MB by default): the
    Parquet writer keeps a row group per thread, and a million enrollments ran out of it (found by
    the benchmark). 150,000 rows of 20 text columns ran out the same way."""
    warehouse = Warehouse(out_dir=tmp_path, destination="parquet", duckdb_memory_limit="64MB")
    columns = ", ".join(f"md5(cast(range * {i} as varchar)) as c{i}" for i in range(20))
    with duckdb.connect(str(warehouse.duckdb_path)) as con:
        con.execute("create schema learnupon")
        con.execute(f"create table learnupon.wide as select range as id, {columns}, '1700000000.0' as _dlt_load_id from range(150000)")
    assert publish_warehouse(warehouse).written == ["wide"]
    assert len(read_with_duckdb(warehouse.parquet_dir / "wide", "id")) == 150000
