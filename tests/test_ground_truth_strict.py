"""The contract for the hardened extractor: against a reference-strict portal the warehouse equals the ground truth.

Strict mode serves only what the reference promises where it is narrower than
our default reading (docs/simulator.md, "Strict mode"); today's extractor does
not survive it yet. Once it does, drop the xfail and parametrize the other
ground-truth tests over `["default", "strict"]` the same way.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.learnupon.records import parse_int

from .conftest import query, run_pipeline
from .truth import assert_coverage_matches_truth, assert_matches_truth


@pytest.mark.xfail(strict=False, reason="extractor not yet hardened")
@pytest.mark.parametrize("portal", ["strict"], indirect=True)
def test_full_churn_and_incremental_runs_equal_a_strict_portal(portal, tmp_path: Path) -> None:
    assert portal.config.strict
    first = run_pipeline(portal, tmp_path)
    assert first.status == "succeeded"
    truth = portal.ground_truth()
    assert_matches_truth(tmp_path, truth)
    assert_coverage_matches_truth(tmp_path, truth)

    changes = portal.churn(days=1, share=0.05)
    assert changes["enrollments_deleted"] > 0
    second = run_pipeline(portal, tmp_path)
    assert second.status == "succeeded"
    truth = portal.ground_truth()
    assert_matches_truth(tmp_path, truth)
    assert_coverage_matches_truth(tmp_path, truth)
    # a live-learning module is one row per course and session (session_id null when it has none)
    loaded = {(r["course_id"], r["id"], r["session_id"]) for r in query(tmp_path, "select course_id, id, session_id from learnupon.modules")}
    assert loaded == {(m["course_id"], m["id"], m["session_id"]) for m in truth["course_modules"]}
    # learning-path enrollments on archived paths are copied too
    lp_ids = {r["lp_id"] for r in query(tmp_path, "select distinct lp_id from learnupon.learning_path_enrollments")}
    assert {parse_int(e["lp_id"]) for e in truth["learning_path_enrollments"]} <= lp_ids
