"""Shapes the reference documents that carry one fact twice or nest it: one row per fact, in both simulator modes.

- custom user data: a user record may carry `customDataFieldValues` (keyed by definition id) and
  `CustomData` (keyed by label), or one of them; `user_custom_data` has one current row per
  (user, field) either way, the definition-id shape wins, and a disagreement is a `data_issues` row;
- survey rating questions: the scale (`rating_options`: answer_id, text, sequence) lands as option rows;
- exam enrollments an admin passed below the pass percentage land as the portal states them.

Expected rows come from the simulator's ground truth (pipelines/simulator/domains/*), stated from its model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from pipelines.learnupon.custom_data import same_value
from tests.conftest import query, run_pipeline

MODES = pytest.mark.parametrize("portal_factory", ["default", "strict"], indirect=True)


def as_text(value: Any) -> str | None:
    """A custom value as the warehouse's text column holds it: strings as they are, the rest as JSON."""
    return value if value is None or isinstance(value, str) else orjson.dumps(value).decode()


def data_issues(out: Path, where: str) -> list[dict[str, Any]]:
    """Rows of learnupon.data_issues (a run that found none has no table)."""
    exists = query(out, "select 1 from information_schema.tables where table_schema = 'learnupon' and table_name = 'data_issues'")
    return query(out, f"select * from learnupon.data_issues where {where} order by noticed_at") if exists else []


# each shape once and each mode once by default (the richest, both shapes disagreeing, in both modes); the slow suite
# runs every shape in every mode
CUSTOM_DATA_CASES = [
    pytest.param("values", "default", id="values-default", marks=pytest.mark.slow),
    pytest.param("values", "strict", id="values-strict"),
    pytest.param("labels", "default", id="labels-default"),
    pytest.param("labels", "strict", id="labels-strict", marks=pytest.mark.slow),
    pytest.param("both", "default", id="both-default"),
    pytest.param("both", "strict", id="both-strict"),
]


@pytest.mark.parametrize(("shapes", "portal_factory"), CUSTOM_DATA_CASES, indirect=["portal_factory"])
def test_custom_data_is_one_current_row_per_user_and_field(portal_factory: Any, tmp_path: Path, shapes: str) -> None:
    """After a full run, and after churn (users created and deleted) and another run."""
    portal = portal_factory(users=40, custom_data_shapes=shapes, custom_data_disagreements=0.3 if shapes == "both" else 0.0)
    assert portal.api.b.custom_data_shapes == shapes
    run_pipeline(portal, tmp_path, resources=["users"])
    first = assert_custom_data_equals_the_portal(tmp_path, portal.ground_truth(), shapes)
    changes = portal.churn(days=1, share=0.1)
    assert changes["users_created"] and changes["users_deleted"]
    run_pipeline(portal, tmp_path, resources=["users"])
    # a disagreement is reported by every run that reads it
    assert_custom_data_equals_the_portal(tmp_path, portal.ground_truth(), shapes, reported_before=first)


def assert_custom_data_equals_the_portal(out: Path, truth: dict[str, Any], shapes: str, reported_before: int = 0) -> int:
    """user_custom_data's current rows equal the truth's, one per (user, field); the disagreements are reported."""
    rows = query(out, "select user_id, definition_id, label, value from learnupon.user_custom_data where _dlt_valid_to is null")
    twice = query(out, "select user_id, definition_id from learnupon.user_custom_data where _dlt_valid_to is null"
                       " group by all having count(*) > 1")
    assert twice == []
    loaded = {(r["user_id"], r["definition_id"]): r for r in rows}
    expected = {(t["user_id"], t["definition_id"]): t for t in truth["user_custom_data"]}
    assert set(loaded) == set(expected)
    for key, t in expected.items():
        if shapes == "labels":  # CustomData gives a choice field's value as its one element
            value = t["value"][0] if isinstance(t["value"], list) and len(t["value"]) == 1 else t["value"]
        else:
            value = t["value"]
        assert loaded[key]["value"] == as_text(value), (key, loaded[key], t)
        assert loaded[key]["label"] == t["label"], (key, loaded[key], t)
    # each disagreement between the two shapes is reported once a run; the definition id's value is the one kept
    disagreements = {(d["user_id"], d["definition_id"]): d for d in truth["user_custom_data_disagreements"]}
    assert bool(disagreements) == (shapes == "both")
    issues = data_issues(out, "table_name = 'user_custom_data'")[reported_before:]
    assert {i["record_key"] for i in issues} == {f"{u},{d}" for u, d in disagreements}
    assert len(issues) == len(disagreements)
    for issue in issues:
        user_id, definition_id = (int(v) for v in issue["record_key"].split(","))
        d = disagreements[(user_id, definition_id)]
        assert issue["raw_value"] == d["by_label"] and "definition id's value is kept" in issue["problem"]
        assert loaded[(user_id, definition_id)]["value"] == d["value"]
    return reported_before + len(issues)


@pytest.mark.parametrize("shapes", ["values", "labels", "both"])
def test_custom_data_without_definitions_in_the_listing(portal_factory: Any, tmp_path: Path, shapes: str) -> None:
    """A listing that does not carry the field definitions: one call to /users/customuserdata names the fields
    (before the rows are made when CustomData keys them by label), and the rows are the same."""
    portal = portal_factory(users=40, custom_data_shapes=shapes, user_listing_definitions=False,
                            custom_data_disagreements=0.3 if shapes == "both" else 0.0)
    run_pipeline(portal, tmp_path, resources=["users"])
    assert portal.calls["GET /users/customuserdata"] == 1
    assert_custom_data_equals_the_portal(tmp_path, portal.ground_truth(), shapes)
    fields = query(tmp_path, "select id from learnupon.custom_user_fields where _dlt_valid_to is null")
    assert {f["id"] for f in fields} == {f["id"] for f in portal.ground_truth()["custom_user_fields"]}


@MODES
def test_the_default_custom_data_reading_of_each_mode(portal_factory: Any) -> None:
    """The suite's modes between them serve both shapes on one record (default) and one (strict)."""
    portal = portal_factory(users=5)
    record = portal.ground_truth()["users"][1]
    both = {"CustomData", "customDataFieldValues"} <= set(record)
    assert both == (not portal.config.strict)


# each mode's own reading, and the third place (beside the answers) once by default; in both modes in the slow suite
@pytest.mark.parametrize(("place", "portal_factory"), [
    pytest.param(None, "default", id="None-default"),
    pytest.param(None, "strict", id="None-strict"),
    pytest.param("question", "default", id="question-default"),
    pytest.param("question", "strict", id="question-strict", marks=pytest.mark.slow),
], indirect=["portal_factory"])
def test_survey_rating_options_and_admin_passes_load(portal_factory: Any, tmp_path: Path, place: str | None) -> None:
    """`place`: where the portal puts a rating question's scale. None: the mode's own reading (default: inside each
    statement rated; strict: an answers object holding only the scale); "question": beside the answers."""
    portal = portal_factory(rating_options=place)
    run_pipeline(portal, tmp_path, resources=["courses", "exams", "exam_enrollments"])
    truth = portal.ground_truth()
    scale = truth["exam_question_rating_options"]
    assert scale, "the portal should have a survey with a rating question"
    loaded = query(tmp_path, "select exam_id, question_id, answer_id, answer_text, sequence, is_rating_option"
                             " from learnupon.exam_question_options where _dlt_valid_to is null")
    rating = {(r["exam_id"], r["question_id"], r["answer_id"]): r for r in loaded if r["is_rating_option"]}
    assert set(rating) == {(o["exam_id"], o["question_id"], o["answer_id"]) for o in scale}
    for o in scale:
        row = rating[(o["exam_id"], o["question_id"], o["answer_id"])]
        assert (row["answer_text"], row["sequence"]) == (o["text"], o["sequence"])
    # every other option is an answer the truth lists, the rated statements included (default reading)
    answers = {(q["exam_id"], q["question_id"], a["answer_id"]) for q in truth["exam_questions"] for a in q["answers"]}
    assert {(r["exam_id"], r["question_id"], r["answer_id"]) for r in loaded if not r["is_rating_option"]} == answers
    keyless = data_issues(tmp_path, "problem like 'record without its primary key%'")
    assert keyless == []
    # passes an admin set below the pass percentage are what the portal says: Passed, with the score it shows
    by_admin = set(truth["exam_enrollments_passed_by_admin"])
    assert by_admin, "the portal should have exam enrollments passed below the pass percentage"
    expected = {e["exam_enrollment_id"]: e for e in truth["exam_enrollments"] if e["exam_enrollment_id"] in by_admin}
    rows = query(tmp_path, "select ee.exam_enrollment_id, ee.status, ee.score, e.pass_percentage from learnupon.exam_enrollments ee"
                           " join learnupon.exams e using (exam_id) where ee._dlt_valid_to is null")
    below = {r["exam_enrollment_id"]: r for r in rows if r["status"] == "Passed" and r["score"] < r["pass_percentage"]}
    assert set(below) == by_admin
    for key, row in below.items():
        assert row["score"] == expected[key]["score"]


@pytest.mark.parametrize(("by_id", "by_label", "same"), [
    (["Support"], "Support", True), ("Support", " Support ", True), ("Support", "Sales", False),
    ("12", 12, True), (["12.0"], "12", True), ("1e3", 1000, True), ("١٢", 12, True), ("nan", "NaN", False),
    ("inf", "Infinity", True), ("x1", "x1", True), ("x1", "x2", False), (True, 1, True), ([1, 2], [1, 2], True),
])
def test_a_value_in_both_shapes_is_compared_as_read(by_id: Any, by_label: Any, same: bool) -> None:
    """A choice is a one-element list in one shape, a number may be its text; text without a digit is compared as text."""
    assert same_value(by_id, by_label) is same
