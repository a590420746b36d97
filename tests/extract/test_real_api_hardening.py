"""The extractor against the reference's narrowest readings and against failures it must contain.

A loopback proxy (tests/support/portal_proxy.py) in front of the simulated portal serves
what the reference allows but our simulator does not do by default: a field its
attribute table leaves out, an empty answer to the all-versions search, a live
module once per session, one attendance path only, an endpoint failing for good.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pipelines.learnupon.records import parse_int
from pipelines.learnupon.settings import LP_ENROLLMENTS_KEYS, MODULES_KEYS, ExtractOptions
from pipelines.models import build_models
from pipelines.run.runner import Warehouse

from tests.conftest import CLOCK, cli, query, run_pipeline
from tests.support.portal_proxy import PortalProxy, Rule, drop_field
from tests.support.truth import assert_matches_truth


@pytest.fixture
def proxy_for():
    started: list[PortalProxy] = []

    def make(portal, *rules: Rule) -> PortalProxy:
        proxy = PortalProxy(portal.root_url, list(rules)).start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.stop()


def test_one_endpoint_failing_for_good_loses_nothing_else(portal, proxy_for, tmp_path: Path) -> None:
    broken = Rule(r"^/api/v1/badges", status=500)
    proxy = proxy_for(portal, broken)
    env = {
        "LEARNUPON_BASE_URL": proxy.base_url,
        "LEARNUPON_USERNAME": portal.config.username,
        "LEARNUPON_PASSWORD": portal.config.password,
    }
    done = cli("run", "--out", str(tmp_path), env=env)
    assert done.returncode == 1, done.stderr[-2000:]
    failed_lines = [line for line in done.stderr.splitlines() if line.startswith("lms-warehouse: resource ")]
    assert len(failed_lines) == 1 and "resource badges" in failed_lines[0], done.stderr[-2000:]
    assert broken.hits <= 7  # a bounded, stated cost: max_retries + 1, then the circuit stays open

    truth = portal.ground_truth()
    assert_matches_truth(tmp_path, truth)  # users, courses, enrollments all loaded
    for table in ("groups", "learning_path_enrollments", "exam_enrollments", "session_attendance", "audit_trails"):
        assert query(tmp_path, f"select count(*) n from learnupon.{table}")[0]["n"] > 0, table
    assert not query(tmp_path, "select * from information_schema.tables where table_name = 'badges'")
    run = query(tmp_path, "select status, error from learnupon.pipeline_runs")[0]
    assert run["status"] == "partial" and run["error"].startswith("badges:")

    healthy = run_pipeline(portal, tmp_path)  # the next healthy run completes it
    assert healthy.status == "succeeded" and not healthy.failed
    assert query(tmp_path, "select count(*) n from learnupon.badges")[0]["n"] == len(truth["badges"])


def test_narrow_readings_load_whole(portal, proxy_for, tmp_path: Path) -> None:
    sessions = [9001, 9002]

    def per_session(body):
        records = body.get("modules", body) if isinstance(body, dict) else body
        out = []
        for record in records:
            if str(record.get("component_type") or "").lower() == "ilt session":  # the reference's live-learning module type
                out.extend({**record, "session_id": s} for s in sessions)
            else:
                out.append(record)
        return {"modules": out} if isinstance(body, dict) else out

    proxy = proxy_for(
        portal,
        # the reference's learning-path enrollment table has no updated_at
        Rule(r"^/api/v1/learning_path_enrollments/search", rewrite=drop_field("updated_at", LP_ENROLLMENTS_KEYS)),
        # an empty `name` pattern read narrowly: nothing matches
        Rule(r"^/api/v1/courses\?(.*&)?name=(&|$)", rewrite=lambda body: {"courses": []}),
        # a live-learning module once per session, same id
        Rule(r"^/api/v1/modules\?", rewrite=per_session),
    )
    first = run_pipeline(portal, tmp_path, base_url=proxy.base_url)
    assert first.status == "succeeded", first.failed
    truth = portal.ground_truth()
    lp = query(tmp_path, "select count(*) n, count(updated_at) with_updated from learnupon.learning_path_enrollments where _dlt_valid_to is null")[0]
    assert lp == {"n": len(truth["learning_path_enrollments"]), "with_updated": 0}

    # the empty search fell back to the plain listing (and said so); the family searches found the old versions
    courses = {r["id"] for r in query(tmp_path, "select id from learnupon.courses where _dlt_valid_to is null")}
    assert courses == {parse_int(c["id"]) for c in truth["courses"]}
    assert query(tmp_path, "select count(*) n from learnupon.data_issues where problem like '%plain listing used%'")[0]["n"] == 1

    live = query(tmp_path, "select course_id, id, list(session_key order by session_key) keys from learnupon.modules where session_id is not null group by all")
    assert live and all(r["keys"] == sessions for r in live)

    drift = query(tmp_path, "select table_name, field, drift from learnupon.contract_drift")
    assert {"table_name": "learning_path_enrollments", "field": "updated_at", "drift": "expected field missing"} in drift

    # the next run's cursor is the portal clock, not the data: no field needed
    portal.churn(days=1, share=0.03)
    second = run_pipeline(portal, tmp_path, base_url=proxy.base_url)
    assert second.status == "succeeded", second.failed
    lp_now = query(tmp_path, "select count(*) n from learnupon.learning_path_enrollments where _dlt_valid_to is null")[0]["n"]
    assert lp_now >= len(portal.ground_truth()["learning_path_enrollments"]) - 5  # deletions retire by signal or reconciliation


def test_attendance_per_session_on_either_path_and_never_silently_empty(portal, proxy_for, tmp_path: Path) -> None:
    truth = portal.ground_truth()
    session_ids = sorted({parse_int(r["session_id"]) for r in truth["session_attendance"]})
    assert len(session_ids) > 2
    lost = session_ids[1]
    proxy = proxy_for(
        portal,
        Rule(r"^/api/v1/sessions/\d+/attendance", status=404),  # this portal serves the sample's path only
        Rule(rf"^/api/v1/live-learnings/sessions/{lost}/attendance", status=404),  # and one session not at all
    )
    first = run_pipeline(portal, tmp_path, base_url=proxy.base_url)
    assert first.status == "succeeded"
    loaded = {r["session_id"] for r in query(tmp_path, "select distinct session_id from learnupon.session_attendance")}
    assert loaded == set(session_ids) - {lost}
    issue = query(tmp_path, "select * from learnupon.data_issues where table_name = 'session_attendance'")
    assert [i["record_key"] for i in issue] == [str(lost)]

    second = run_pipeline(portal, tmp_path)  # read again next run
    assert second.status == "succeeded"
    loaded = {r["session_id"] for r in query(tmp_path, "select distinct session_id from learnupon.session_attendance")}
    assert lost in loaded


def test_a_cursor_ahead_of_the_portal_clock_is_clamped_not_fatal(portal_factory, tmp_path: Path) -> None:
    ahead = portal_factory(clock=CLOCK + timedelta(days=3))
    assert run_pipeline(ahead, tmp_path, resources=["users", "courses", "enrollments", "audit_trails"]).status == "succeeded"
    behind = portal_factory()  # same seed, the clock three days earlier
    summary = run_pipeline(behind, tmp_path, resources=["users", "courses", "enrollments", "audit_trails"])
    assert summary.status == "succeeded", summary.failed
    clamped = {r["table_name"] for r in query(tmp_path, "select table_name from learnupon.data_issues where problem like 'cursor ahead of the portal clock%'")}
    assert clamped == {"enrollments", "audit_trails"}


@pytest.mark.parametrize("mode, audited", [("default", True), ("strict", False)])
def test_enrollments_deleted_upstream_are_retired_and_leave_the_marts(portal_factory, tmp_path: Path, mode: str, audited: bool) -> None:
    portal = portal_factory(mode=mode, audit_unenrolls=audited)
    run_pipeline(portal, tmp_path)
    changes = portal.churn(days=1, share=0.05)
    assert changes.get("enrollments_deleted"), changes
    # audited: the same run's "User unenrolled" events re-read those users; small courses are read whole;
    # courses whose counters fell are read whole. Without audit events, a reconciliation sees the rest.
    run_pipeline(portal, tmp_path)
    run_pipeline(portal, tmp_path, options=None if audited else ExtractOptions(reconcile=True))
    truth = portal.ground_truth()
    current = {r["id"] for r in query(tmp_path, "select id from learnupon.enrollments where _dlt_valid_to is null")}
    assert current == {parse_int(e["id"]) for e in truth["enrollments"]}
    loaded = {r["id"] for r in query(tmp_path, "select id from learnupon.enrollments")}
    deleted = {parse_int(i) for i in truth["deleted_enrollment_ids"]} & loaded  # some were added and deleted between runs
    retired = {r["id"] for r in query(tmp_path, "select id from learnupon.enrollments where _dlt_valid_to is not null")}
    assert deleted and deleted <= retired  # kept as history, with when the deletion was noticed

    build_models(Warehouse(out_dir=tmp_path), as_of=(CLOCK + timedelta(days=1)).date())
    for mart in ("overdue_training", "compliance_status"):
        shown = {r["latest_enrollment_id"] for r in query(tmp_path, f"select latest_enrollment_id from reporting.{mart}")}
        assert not shown & deleted, mart


def test_a_reconciliation_sees_every_deletion_in_one_run(portal, tmp_path: Path) -> None:
    run_pipeline(portal, tmp_path, resources=["users", "courses", "enrollments"])
    portal.churn(days=1, share=0.05)
    summary = run_pipeline(portal, tmp_path, resources=["users", "courses", "enrollments"], options=ExtractOptions(reconcile=True))
    truth = portal.ground_truth()
    current = {r["id"] for r in query(tmp_path, "select id from learnupon.enrollments where _dlt_valid_to is null")}
    assert current == {parse_int(e["id"]) for e in truth["enrollments"]}
    assert summary.extra["retired"]["enrollments"] >= 1
    dupes = query(tmp_path, "select id from learnupon.enrollments group by id having count(*) > 1")
    assert not dupes


def test_learning_paths_in_every_status_and_the_backfill(portal, proxy_for, tmp_path: Path) -> None:
    truth = portal.ground_truth()
    by_path: dict[int, set[int]] = {}
    for e in truth["learning_path_enrollments"]:
        by_path.setdefault(parse_int(e["lp_id"]), set()).add(parse_int(e["id"]))
    hidden = min(by_path)  # archived before our first run: the listing never shows it

    def without_hidden(body):
        records = body.get("learning_paths", body) if isinstance(body, dict) else body
        kept = [p for p in records if parse_int(p.get("id")) != hidden]
        return {"learning_paths": kept} if isinstance(body, dict) else kept

    by_lp = Rule(rf"^/api/v1/learning_path_enrollments/search\?(.*&)?lp_id={hidden}(&|$)")
    proxy = proxy_for(portal, Rule(r"^/api/v1/learning_paths\?", rewrite=without_hidden), by_lp)
    resources = ["users", "learning_paths", "learning_path_enrollments"]
    run_pipeline(portal, tmp_path, resources=resources, base_url=proxy.base_url)
    loaded = lambda: {r["id"] for r in query(tmp_path, "select id from learnupon.learning_path_enrollments where _dlt_valid_to is null")}  # noqa: E731
    assert not loaded() & by_path[hidden] and by_lp.hits == 0

    users = len(query(tmp_path, "select distinct id from learnupon.users"))
    backfill = run_pipeline(
        portal, tmp_path, resources=resources, base_url=proxy.base_url, options=ExtractOptions(lp_backfill=True, lp_backfill_batch=10_000)
    )
    assert by_path[hidden] <= loaded()
    searches = backfill.api["endpoints"]["GET /learning_path_enrollments/search"]["calls"]
    assert searches >= users  # the stated cost: one search per user (plus pages), once

    later = run_pipeline(portal, tmp_path, resources=resources, base_url=proxy.base_url)
    assert later.status == "succeeded" and by_lp.hits >= 1  # a path seen once is searched on every run
    assert loaded() == {parse_int(e["id"]) for e in truth["learning_path_enrollments"]}


def test_an_empty_course_listing_where_there_were_courses_is_refused(portal, proxy_for, tmp_path: Path) -> None:
    resources = ["courses", "enrollments"]
    assert run_pipeline(portal, tmp_path, resources=resources).status == "succeeded"
    before = query(tmp_path, "select count(*) n from learnupon.courses where _dlt_valid_to is null")[0]["n"]
    # every reading of the course listing answers 200 with nothing
    proxy = proxy_for(portal, Rule(r"^/api/v1/courses", rewrite=lambda body: {"courses": []}))
    summary = run_pipeline(portal, tmp_path, resources=resources, base_url=proxy.base_url)
    assert summary.status == "partial" and "no records where the last run listed" in summary.failed["courses"]
    assert "enrollments" in summary.failed  # it searches by the course list: nothing searched, nothing retired
    assert query(tmp_path, "select count(*) n from learnupon.courses where _dlt_valid_to is null")[0]["n"] == before
    assert query(tmp_path, "select count(*) n from learnupon.enrollments where _dlt_valid_to is not null")[0]["n"] == 0


def test_contract_drift_names_fields_and_masks_examples(portal, tmp_path: Path) -> None:
    run_pipeline(portal, tmp_path)
    drift = query(tmp_path, "select * from learnupon.contract_drift")
    unexpected = [d for d in drift if d["drift"] == "unexpected field"]
    assert unexpected and all(d["endpoint"] and d["records"] > 0 for d in unexpected)
    # an example says what kind of value came, never the value: no email, no name
    emails = {r["email"] for r in query(tmp_path, "select email from learnupon.users where email is not null")}
    names = {r["first_name"] for r in query(tmp_path, "select first_name from learnupon.users where first_name is not null")}
    for row in unexpected:
        assert row["example"] is None or not any(v and v in row["example"] for v in emails | names), row
