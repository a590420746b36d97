"""The costly and the fragile resources: exam answers, the audit window, resource subsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.learnupon.errors import WeeklyBudgetReserved
from pipelines.learnupon.resources.exams import exam_enrollment_fingerprint
from pipelines.learnupon.settings import ExtractOptions
from pipelines.run.runner import innermost

from tests.conftest import query, run_pipeline

EXAM_SETUP = ["courses", "modules", "exams", "exam_enrollments"]


def answer_calls(summary) -> int:
    return summary.api["endpoints"].get("GET /exams/{id}/answers/{id}", {}).get("calls", 0)


def test_exam_answers_are_fetched_only_for_new_or_changed_exam_enrollments(portal, tmp_path: Path) -> None:
    first = run_pipeline(portal, tmp_path, resources=EXAM_SETUP + ["exam_answers"])
    exam_enrollments = portal.ground_truth()["exam_enrollments"]
    assert answer_calls(first) == len(exam_enrollments) > 50

    unchanged = run_pipeline(portal, tmp_path, resources=["exam_enrollments", "exam_answers"])
    assert answer_calls(unchanged) == 0

    before = {e["exam_enrollment_id"]: exam_enrollment_fingerprint(e) for e in exam_enrollments}
    portal.churn(days=1, share=0.05)
    after = {e["exam_enrollment_id"]: exam_enrollment_fingerprint(e) for e in portal.ground_truth()["exam_enrollments"]}
    changed = sum(1 for ee, fp in after.items() if before.get(ee) != fp)
    assert changed > 0
    incremental = run_pipeline(portal, tmp_path, resources=["exam_enrollments", "exam_answers"])
    assert answer_calls(incremental) == changed
    # the answers alone also work: the exam enrollments are listed for it, and nothing changed since
    alone = run_pipeline(portal, tmp_path, resources=["exam_answers"])
    assert answer_calls(alone) == 0


def test_an_interrupted_answer_load_resumes_where_it_stopped(portal, tmp_path: Path) -> None:
    setup = run_pipeline(portal, tmp_path, resources=EXAM_SETUP)
    total = len(portal.ground_truth()["exam_enrollments"])
    listing_calls = setup.api["endpoints"]["GET /exams/{id}/enrollments"]["calls"]
    # other integrations have left the portal 10,000 calls this week; this run may spend about 70 of them
    portal.set_rate_limits(rate_per_week=10_000)
    probe = run_pipeline(portal, tmp_path, resources=["timezones"])
    remaining = probe.rate_limit["remaining_week"]
    small = ExtractOptions(answer_batch=20)
    with pytest.raises(Exception) as stopped:
        run_pipeline(
            portal, tmp_path, resources=["exam_enrollments", "exam_answers"], options=small,
            weekly_reserve=remaining - listing_calls - 70,
        )
    assert isinstance(innermost(stopped.value), WeeklyBudgetReserved)
    kept = query(tmp_path, "select count(*) as n from learnupon.exam_answer_fetches")[0]["n"]
    assert 20 <= kept < total, "whole batches loaded before the stop are kept"

    portal.set_rate_limits(rate_per_week=None)
    resumed = run_pipeline(portal, tmp_path, resources=["exam_enrollments", "exam_answers"], options=small)
    assert answer_calls(resumed) == total - kept
    fetched = query(tmp_path, "select count(distinct exam_enrollment_id) as n from learnupon.exam_answer_fetches")[0]["n"]
    assert fetched == total
    runs = [r["status"] for r in query(tmp_path, "select status from learnupon.pipeline_runs order by started_at")]
    assert runs[-2:] == ["failed", "succeeded"]


def test_a_gap_of_more_than_30_days_in_audit_loads_is_recorded_and_reported(portal, tmp_path: Path) -> None:
    run_pipeline(portal, tmp_path, resources=["audit_trails"])
    assert query(tmp_path, "select count(*) as n from learnupon.audit_gaps")[0]["n"] == 0
    portal.advance(days=40)
    later = run_pipeline(portal, tmp_path, resources=["audit_trails"])
    gaps = query(tmp_path, "select * from learnupon.audit_gaps")
    assert len(gaps) == 1 and gaps[0]["gap_start"] < gaps[0]["gap_end"]
    assert later.extra["audit_gap"]["gap_end"] == gaps[0]["gap_end"]
    # the window the API still serves is loaded in full
    run_pipeline(portal, tmp_path, resources=["audit_trails"])
    assert query(tmp_path, "select count(*) as n from learnupon.audit_gaps")[0]["n"] == 1


def test_a_run_of_chosen_resources_writes_only_their_tables(portal, tmp_path: Path) -> None:
    summary = run_pipeline(portal, tmp_path, resources=["enrollments"])
    tables = {r["table_name"] for r in query(tmp_path, "select table_name from information_schema.tables where table_schema = 'learnupon'")}
    # plus the run's own records: its row, its data issues and contract drift (empty or not, they exist
    # from the first run on), and the marker that the first load read every enrollment
    assert {t for t in tables if not t.startswith("_dlt")} == {
        "enrollments", "pipeline_runs", "data_issues", "contract_drift", "listing_scopes"
    }
    # the course list it searches by is fetched, not stored
    assert summary.api["endpoints"]["GET /courses"]["calls"] >= 1
