"""The warehouse equals the portal, record for record: full runs, churn plus incremental runs, both readings of the reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.learnupon.records import parse_int

from .conftest import current_users, query, run_pipeline
from .truth import assert_coverage_matches_truth, assert_matches_truth, custom_data_pairs


# both simulator modes: today's reading of the reference, and only what it promises (strict)
MODES = pytest.mark.parametrize("portal", ["default", "strict"], indirect=True)
# the default reading's full and churned runs are compared with the truth by the destination tests
# (tests/test_parquet_destination.py, test_delta_lake.py, test_postgres.py) and many others; the narrow one runs here
STRICT_FIRST = pytest.mark.parametrize("portal", [pytest.param("default", marks=pytest.mark.slow), "strict"], indirect=True)


@STRICT_FIRST
def test_full_run_equals_the_portal(portal, tmp_path: Path) -> None:
    summary = run_pipeline(portal, tmp_path)
    assert summary.status == "succeeded"
    truth = portal.ground_truth()
    assert_matches_truth(tmp_path, truth)
    assert_coverage_matches_truth(tmp_path, truth)
    assert len(truth["enrollments"]) > 100, "the portal should be big enough to need many pages"
    # every course version is there, drafts and archived included, so no enrollment lacks its course
    orphans = query(
        tmp_path,
        "select e.id from learnupon.enrollments e left join learnupon.courses c on c.id = e.course_id where c.id is null",
    )
    assert orphans == []
    statuses = {r["published_status_id"] for r in query(tmp_path, "select distinct published_status_id from learnupon.courses")}
    assert {"published", "archived"} <= statuses
    # custom user data, one row per user and field
    loaded = {
        (r["user_id"], r["definition_id"], r["value"])
        for r in query(tmp_path, "select * from learnupon.user_custom_data where _dlt_valid_to is null")
    }
    assert loaded == custom_data_pairs(truth["users"])
    fields = query(tmp_path, "select id, label from learnupon.custom_user_fields")
    assert {parse_int(f["id"]) for f in truth["custom_user_fields"]} == {f["id"] for f in fields}
    # the run is recorded with its API calls
    runs = query(tmp_path, "select * from learnupon.pipeline_runs")
    assert len(runs) == 1 and runs[0]["status"] == "succeeded" and runs[0]["api_calls"] == summary.api["calls"]


@STRICT_FIRST
def test_churn_then_incremental_run_is_in_sync_again_and_cheaper(portal, tmp_path: Path) -> None:
    full = run_pipeline(portal, tmp_path)
    changes = portal.churn(days=1, share=0.05)
    assert changes, "churn should change something"
    incremental = run_pipeline(portal, tmp_path)
    truth = portal.ground_truth()
    assert_matches_truth(tmp_path, truth)
    assert_coverage_matches_truth(tmp_path, truth)

    assert incremental.api["calls"] < full.api["calls"]
    enrollment_calls = lambda s: s.api["endpoints"]["GET /enrollments/search"]["calls"]  # noqa: E731
    # one search per course as on the full run, but only pages of changes; plus one search per user
    # the audit trail says was unenrolled from a course that lost enrollments (the deletion signal)
    assert enrollment_calls(incremental) <= enrollment_calls(full) + changes["enrollments_unenrolled"]

    # deleted users keep their rows, retired with the time the deletion was noticed
    deleted = {parse_int(i) for i in truth["deleted_user_ids"]}
    assert deleted, "churn deletes some users"
    retired = query(
        tmp_path,
        "select id, max(_dlt_valid_to) as noticed from learnupon.users group by id having count(*) filter (where _dlt_valid_to is null) = 0",
    )
    assert {r["id"] for r in retired} == deleted
    assert all(r["noticed"] is not None for r in retired)
    assert not deleted & {u["id"] for u in current_users(tmp_path)}

    # deleted upstream: current rows exactly as the portal, the deleted ones kept as history
    assert changes["enrollments_deleted"] > 0
    loaded = {r["id"] for r in query(tmp_path, "select id from learnupon.enrollments")}
    deleted = {parse_int(i) for i in truth["deleted_enrollment_ids"]} & loaded
    retired = {r["id"] for r in query(tmp_path, "select id from learnupon.enrollments where _dlt_valid_to is not null")}
    assert deleted and deleted <= retired
    # a live-learning module is one row per course and session (session_id null when it has none)
    fields = ("course_id", "id", "session_id") if portal.config.strict else ("course_id", "id")  # strict: one per session
    modules = {tuple(r.values()) for r in query(tmp_path, f"select {', '.join(fields)} from learnupon.modules where _dlt_valid_to is null")}
    assert modules == {tuple(parse_int(m.get(f)) if m.get(f) is not None else None for f in fields) for m in truth["course_modules"]}
    # learning-path enrollments of paths archived since (no longer listed) are still read
    lp_ids = {r["lp_id"] for r in query(tmp_path, "select distinct lp_id from learnupon.learning_path_enrollments where _dlt_valid_to is null")}
    assert {parse_int(e["lp_id"]) for e in truth["learning_path_enrollments"]} == lp_ids

    # a third run with no change loads no new enrollment versions and stays equal
    run_pipeline(portal, tmp_path)
    assert_matches_truth(tmp_path, portal.ground_truth())


@pytest.mark.parametrize("page_size", [1, pytest.param(7, marks=pytest.mark.slow), 500])
def test_page_sizes(portal_factory, tmp_path: Path, page_size: int) -> None:
    portal = portal_factory(users=40, page_size=page_size)
    run_pipeline(portal, tmp_path)
    assert_matches_truth(tmp_path, portal.ground_truth())


def test_the_other_reading_of_every_ambiguous_place(portal_factory, tmp_path: Path) -> None:
    """Where the reference contradicts itself the simulator can answer the other way; the extractor copes."""
    portal = portal_factory(quirks="alt")
    run_pipeline(portal, tmp_path)
    portal.churn(days=2, share=0.05)
    run_pipeline(portal, tmp_path)
    truth = portal.ground_truth()
    assert_matches_truth(tmp_path, truth)
    assert_coverage_matches_truth(tmp_path, truth)
    loaded = query(tmp_path, "select count(*) n from learnupon.user_custom_data where _dlt_valid_to is null")[0]["n"]
    assert loaded > 0, "custom data given as a CustomData object must land too"


def test_a_listing_that_shifts_while_paged_loads_each_record_once(portal_factory, tmp_path: Path) -> None:
    """Every page repeats the previous page's last record, as when a record is added while a client pages."""
    portal = portal_factory(users=40, page_size=7, overlapping_pages=True)
    run_pipeline(portal, tmp_path)
    portal.churn(days=1, share=0.05)
    run_pipeline(portal, tmp_path)
    truth = portal.ground_truth()
    assert_matches_truth(tmp_path, truth)
    for table in ("enrollments", "learning_path_enrollments"):
        twice = query(tmp_path, f"select id from learnupon.{table} group by id having count(*) > 1")
        assert twice == [], f"{table}: a record seen on two pages landed twice"
    current = query(tmp_path, "select id from learnupon.users where _dlt_valid_to is null group by id having count(*) > 1")
    assert current == []
