"""PostgreSQL as the warehouse (`--destination postgres`): the same pipeline gives the portal's truth there too.

Against a real PostgreSQL server the tests start themselves (tests/support/postgres_server.py), each
test in its own database, over real HTTP to the simulated portal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.learnupon.records import parse_int

from tests.conftest import cli, current_users, modes_once, query, run_pipeline
from tests.support.truth import assert_coverage_matches_truth, assert_matches_truth


# the default suite runs today's reading of the reference; the strict reading is in the slow suite
MODES = pytest.mark.parametrize("portal", modes_once("default"), indirect=True)


@MODES
def test_full_churn_and_incremental_runs_equal_the_portal(portal, tmp_path: Path, postgres_database) -> None:
    db = postgres_database
    full = run_pipeline(portal, tmp_path, destination="postgres", credentials=db.dsn)
    assert full.status == "succeeded"
    truth = portal.ground_truth()
    assert_matches_truth(db, truth)
    assert_coverage_matches_truth(db, truth)
    assert len(truth["enrollments"]) > 100

    changes = portal.churn(days=1, share=0.05)
    incremental = run_pipeline(portal, tmp_path, destination="postgres", credentials=db.dsn)
    assert incremental.status == "succeeded"
    truth = portal.ground_truth()
    assert_matches_truth(db, truth)
    assert_coverage_matches_truth(db, truth)
    assert incremental.api["calls"] < full.api["calls"]

    # deleted upstream: retired (pipelines/run/retirement.py ran its SQL on PostgreSQL), kept as history
    deleted = {parse_int(i) for i in truth["deleted_user_ids"]}
    assert deleted and changes["enrollments_deleted"] > 0
    retired = query(
        db,
        "select id, max(_dlt_valid_to) as noticed from learnupon.users group by id"
        " having count(*) filter (where _dlt_valid_to is null) = 0",
    )
    assert {r["id"] for r in retired} == deleted
    assert not deleted & {u["id"] for u in current_users(db)}
    gone = {parse_int(i) for i in truth["deleted_enrollment_ids"]}
    loaded = {r["id"] for r in query(db, "select id from learnupon.enrollments")}
    retired_enrollments = {r["id"] for r in query(db, "select id from learnupon.enrollments where _dlt_valid_to is not null")}
    assert gone & loaded and gone & loaded <= retired_enrollments

    # both runs are recorded in the warehouse, with their calls
    runs = query(db, "select status, api_calls from learnupon.pipeline_runs order by started_at")
    assert [(r["status"], r["api_calls"]) for r in runs] == [
        ("succeeded", full.api["calls"]),
        ("succeeded", incremental.api["calls"]),
    ]


def test_missing_or_bad_credentials_fail_in_one_line_before_any_api_call(portal, tmp_path: Path, postgres_server) -> None:
    env = {
        "LEARNUPON_BASE_URL": portal.base_url,
        "LEARNUPON_USERNAME": portal.config.username,
        "LEARNUPON_PASSWORD": portal.config.password,
        "DESTINATION__POSTGRES__CREDENTIALS": "",
    }
    missing = cli("run", "--destination", "postgres", "--out", str(tmp_path), env=env)
    assert missing.returncode == 2, missing.stderr
    assert missing.stderr.count("\n") == 1 and "DESTINATION__POSTGRES__CREDENTIALS" in missing.stderr

    malformed = cli("run", "--destination", "postgres", "--out", str(tmp_path), env={**env, "DESTINATION__POSTGRES__CREDENTIALS": "not a url"})
    assert malformed.returncode == 2 and malformed.stderr.count("\n") == 1, malformed.stderr
    assert "not a url" not in malformed.stderr

    wrong_password = "wrong-" + postgres_server.password[::-1]
    dsn = postgres_server.dsn().replace(postgres_server.password, wrong_password)
    bad = cli("run", "--destination", "postgres", "--out", str(tmp_path), env={**env, "DESTINATION__POSTGRES__CREDENTIALS": dsn})
    assert bad.returncode == 2, bad.stderr
    assert bad.stderr.count("\n") == 1 and "password authentication failed" in bad.stderr
    assert wrong_password not in bad.stderr + bad.stdout
    assert f"{postgres_server.host}:{postgres_server.port}" in bad.stderr
    assert sum(portal.calls.values()) == 0, "no API call before the warehouse is reachable"


@pytest.mark.slow
def test_every_ambiguous_reading_and_shifting_pages_on_postgres(portal_factory, tmp_path: Path, postgres_database) -> None:
    """The other reading of the reference, with pages that repeat a record, then churn: still the portal's truth."""
    portal = portal_factory(quirks="alt", users=60, page_size=7, overlapping_pages=True)
    run_pipeline(portal, tmp_path, destination="postgres", credentials=postgres_database.dsn)
    portal.churn(days=2, share=0.05)
    run_pipeline(portal, tmp_path, destination="postgres", credentials=postgres_database.dsn)
    truth = portal.ground_truth()
    assert_matches_truth(postgres_database, truth)
    assert_coverage_matches_truth(postgres_database, truth)
    twice = query(postgres_database, "select id from learnupon.enrollments group by id having count(*) > 1")
    assert twice == []


def test_scd2_retirement_runs_as_a_hash_in_the_pipelines_sessions(tmp_path: Path, postgres_database) -> None:
    """dlt's SCD2 merge retires versions with `row_hash NOT IN (SELECT row_hash FROM staging)`. With
    PostgreSQL's default work_mem that is a nested scan once a table has a few hundred thousand rows
    (hours at 100,000 users: the benchmark's finding); the pipeline's sessions plan it as a hash."""
    from pipelines.destinations.postgres_warehouse import SESSION_WORK_MEM
    from pipelines.run.runner import Warehouse

    statement = (
        "explain update learnupon.versions set valid_to = now()"
        " where row_hash not in (select row_hash from learnupon.listing) and valid_to is null"
    )
    setup = [
        "create schema learnupon",
        "create table learnupon.versions as select md5(i::text) as row_hash, null::timestamptz as valid_to from generate_series(1, 300000) i",
        "create table learnupon.listing as select md5(i::text) as row_hash from generate_series(1, 300000) i",
        "analyze learnupon.versions",
        "analyze learnupon.listing",
    ]
    import psycopg2

    con = psycopg2.connect(postgres_database.dsn)
    try:
        con.autocommit = True
        with con.cursor() as cursor:
            for sql in setup:
                cursor.execute(sql)
            cursor.execute(statement)
            plain = "\n".join(row[0] for row in cursor.fetchall())
    finally:
        con.close()
    assert "hashed SubPlan" not in plain  # PostgreSQL's default session: the quadratic plan

    warehouse = Warehouse(destination="postgres", out_dir=tmp_path, postgres_credentials=postgres_database.dsn)
    with warehouse.pipeline().sql_client() as client:
        assert client.execute_sql("show work_mem")[0][0] == SESSION_WORK_MEM
        plan = "\n".join(row[0] for row in client.execute_sql(statement))
    assert "hashed SubPlan" in plan
    # a URL that sets work_mem itself keeps it
    own = Warehouse(destination="postgres", out_dir=tmp_path, postgres_credentials=postgres_database.dsn + "?options=-c%20work_mem%3D300MB")
    with own.pipeline().sql_client() as client:
        assert client.execute_sql("show work_mem")[0][0] == "300MB"
