"""Late changes to live learning arrive: attendance marked or corrected long after a session (on the weekly
reconciliation, at the cost the README states), and live sessions added to modules of existing courses (on the
regular incremental run, at no call on an unchanged portal). Compared with the simulator's truth field by field,
with values read here from the portal's own shapes (not through the extractor's parsers), in both simulator modes."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from assets.extract import materialization_metadata
from pipelines.learnupon.settings import ExtractOptions

from tests.conftest import cli, modes_once, query, run_pipeline

MODES = pytest.mark.parametrize("portal", modes_once(), indirect=True)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _when(value: Any) -> datetime | None:
    """An API time (ISO 8601, `Z` or an offset, or none: UTC) as the warehouse keeps it."""
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _truthy(value: Any) -> bool | None:
    return None if value is None else str(value).lower() == "true"


# the module row's fields and how each is read from the portal's record
MODULE_FIELDS = {
    "title": str, "component_type": str, "exam_id": _int, "sequence": _int, "tags": str, "created_at": _when,
    "updated_at": _when, "number_of_linked_courses": _int, "description_text": str, "creator_id": _int,
    "assignment_passing_percentage": lambda v: None if v is None else float(v), "location_id": _int, "location": str,
    "start_at": _when, "end_at": _when, "timezone": str, "number_enrolled_on_session": _int, "max_capacity": _int,
    "session_tutor_id": _int, "training_id": _int, "session_id": _int,
}


def _differences(expected: dict[tuple, dict], loaded: dict[tuple, dict], what: str) -> list[str]:
    problems = [f"{what} missing {k}" for k in sorted(set(expected) - set(loaded))]
    problems += [f"{what} unexpected {k}" for k in sorted(set(loaded) - set(expected))]
    for key in sorted(set(expected) & set(loaded)):
        for column, value in expected[key].items():
            if loaded[key][column] != value:
                problems.append(f"{what} {key} {column}: portal {value!r}, warehouse {loaded[key][column]!r}")
    return problems[:15]


def module_differences(out_dir: Path, truth: dict[str, list[Any]]) -> list[str]:
    expected = {}
    for m in truth["course_modules"]:
        key = (int(m["course_id"]), int(m["id"]), _int(m.get("session_id")) or 0)
        expected[key] = {c: (None if m.get(c) is None else read(m[c])) for c, read in MODULE_FIELDS.items()}
    rows = query(out_dir, "select * from learnupon.modules where _dlt_valid_to is null")
    loaded = {(r["course_id"], r["id"], r["session_key"]): r for r in rows}
    return _differences(expected, loaded, "modules")


def attendance_differences(out_dir: Path, truth: dict[str, list[Any]]) -> list[str]:
    people, parts, enrollments = {}, {}, {}
    for a in truth["session_attendance"]:
        sid, uid = int(a["session_id"]), int(a["user_id"])
        people[(sid, uid)] = {"pm_id": _int(a["pm_id"]), "session_status": _int(a["session_status"])}
        for p in a["attendance_data"]:
            parts[(sid, uid, int(p["part"]))] = {"status": _int(p["status"]), "minutes": _int(p["minutes"])}
        for e in a["enrollment_data"]:
            enrollments[(sid, uid, int(e["enrollment_id"]))] = {
                "course_id": _int(e["course"]), "enrollment_status": _int(e["enrollment_status"]),
                "from_catalog": _truthy(e["from_catalog"]), "from_store": _truthy(e["from_store"]),
            }
    current = "where _dlt_valid_to is null"
    problems = _differences(
        people,
        {(r["session_id"], r["user_id"]): r for r in query(out_dir, f"select * from learnupon.session_attendance {current}")},
        "session_attendance",
    )
    problems += _differences(
        parts,
        {(r["session_id"], r["user_id"], r["part"]): r for r in query(out_dir, f"select * from learnupon.session_attendance_parts {current}")},
        "session_attendance_parts",
    )
    problems += _differences(
        enrollments,
        {
            (r["session_id"], r["user_id"], r["enrollment_id"]): r
            for r in query(out_dir, f"select * from learnupon.session_attendance_enrollments {current}")
        },
        "session_attendance_enrollments",
    )
    return problems


def reconciliation_calls(truth: dict[str, list[Any]], page_size: int, since: date, until: date) -> tuple[int, int]:
    """(sessions, calls) the README states for an attendance reconciliation from `since`: the session search year by
    year to the horizon (a call per page, at least one per year) and every listed session's attendance (a call per
    page, at least one)."""
    starts = [date.fromisoformat(s["start_date"][:10]) for s in truth["sessions"]]
    listed = [s for s, start in zip(truth["sessions"], starts) if start >= since]
    search = 0
    year_start = since
    while year_start <= until:
        year_end = min(date(year_start.year, 12, 31), until)
        found = sum(1 for start in starts if year_start <= start <= year_end)
        search += max(1, math.ceil(found / page_size))
        year_start = year_end + timedelta(days=1)
    registered: dict[int, int] = {}
    for a in truth["session_attendance"]:
        registered[int(a["session_id"])] = registered.get(int(a["session_id"]), 0) + 1
    attendance = sum(max(1, math.ceil(registered.get(int(s["session_id"]), 0) / page_size)) for s in listed)
    return len(listed), search + attendance


def endpoint_calls(summary: Any, endpoint: str) -> int:
    return summary.api["endpoints"].get(endpoint, {}).get("calls", 0)


def assert_no_extra_call(summary: Any, truth: dict[str, list[Any]], page_size: int, today: date) -> None:
    """An incremental run on an unchanged portal: no module re-read beyond drafts and courses under revision (as
    ever), the session search and attendance of the regular window only (14 days back, 2 of margin, a year ahead)."""
    assert "modules_reread" not in summary.extra and "reconciliations" not in summary.extra
    unstable = [c for c in truth["courses"] if c["published_status_id"] not in ("published", "archived")]
    assert endpoint_calls(summary, "GET /modules") == len(unstable)
    first, last = today - timedelta(days=16), today + timedelta(days=365)
    window = [s for s in truth["sessions"] if first <= date.fromisoformat(s["start_date"][:10]) <= last]
    assert endpoint_calls(summary, "GET /live-learnings/sessions/search") == max(1, math.ceil(len(window) / page_size))
    registered: dict[int, int] = {}
    for a in truth["session_attendance"]:
        registered[int(a["session_id"])] = registered.get(int(a["session_id"]), 0) + 1
    attendance = sum(max(1, math.ceil(registered.get(int(s["session_id"]), 0) / page_size)) for s in window)
    assert sum(endpoint_calls(summary, e) for e in ("GET /sessions/{id}/attendance", "GET /live-learnings/sessions/{id}/attendance")) == attendance


@MODES
def test_late_attendance_and_added_sessions_arrive(portal, tmp_path: Path) -> None:
    run_pipeline(portal, tmp_path)
    today = portal.now().date()
    assert_no_extra_call(run_pipeline(portal, tmp_path), portal.ground_truth(), portal.config.page_size, today)
    changes = portal.churn(days=1, share=0.05)
    assert changes["sessions_added"] > 0 and changes["attendance_marked_late"] > 0 and changes["attendance_corrected"] > 0

    # the regular incremental run: a session added to an existing course's module brings its module rows (a session
    # long over whose registrations changed since shows in the search, and so in its modules, on the reconciliation)
    incremental = run_pipeline(portal, tmp_path)
    truth = portal.ground_truth()
    rows = [p for p in module_differences(tmp_path, truth) if " missing " in p or " unexpected " in p]
    assert not rows, rows
    reread = incremental.extra["modules_reread"]
    assert reread["for_sessions"] >= 1 and reread["calls"] >= reread["for_sessions"] + reread["for_shared_modules"]
    # attendance of sessions long over is outside its 14-day look-back: still as first loaded
    stale = attendance_differences(tmp_path, truth)
    assert any("session_status" in p for p in stale), "churn should have marked or corrected attendance of old sessions"

    # the reconciliation re-reads the attendance of every session the portal lists, at the cost the README states
    reconciled = run_pipeline(portal, tmp_path, options=ExtractOptions(reconcile=True))
    truth = portal.ground_truth()
    assert not attendance_differences(tmp_path, truth), attendance_differences(tmp_path, truth)
    assert not module_differences(tmp_path, truth), module_differences(tmp_path, truth)
    cost = reconciled.extra["reconciliations"]["session_attendance"]
    today = portal.now().date()  # a day on since the churn
    sessions, calls = reconciliation_calls(truth, portal.config.page_size, date(2015, 1, 1), today + timedelta(days=365))
    assert cost == {"since": "2015-01-01", "sessions": sessions, "calls": calls}
    assert calls == endpoint_calls(reconciled, "GET /live-learnings/sessions/search") + sum(
        endpoint_calls(reconciled, e) for e in ("GET /sessions/{id}/attendance", "GET /live-learnings/sessions/{id}/attendance")
    )
    recorded = query(tmp_path, "select details from learnupon.pipeline_runs order by started_at desc limit 1")[0]["details"]
    # Dagster's materialization of session_attendance carries it too
    assert materialization_metadata("session_attendance", reconciled, {}, {})["reconciliation"].data == cost
    assert f'"session_attendance":{{"since":"2015-01-01","sessions":{sessions},"calls":{calls}}}' in recorded

    # unchanged since: no extra call (the next reconciliation is a week away), and still equal to the portal
    assert_no_extra_call(run_pipeline(portal, tmp_path), truth, portal.config.page_size, today)
    assert not attendance_differences(tmp_path, truth) and not module_differences(tmp_path, truth)


def test_the_attendance_horizon_is_a_setting(portal_factory, tmp_path: Path) -> None:
    """LEARNUPON_ATTENDANCE_RECONCILE_DAYS bounds what `run --reconcile` re-reads; the summary prints its cost."""
    portal = portal_factory(users=40)
    env = {
        "LEARNUPON_BASE_URL": portal.base_url, "LEARNUPON_USERNAME": portal.config.username,
        "LEARNUPON_PASSWORD": portal.config.password,
    }
    out = str(tmp_path / "out")
    resources = "courses,modules,sessions,session_attendance"
    first = cli("run", "--out", out, "--resources", resources, env=env)
    assert first.returncode == 0, first.stderr
    assert "Reconciliation of session_attendance" not in first.stdout  # a first run reads every session anyway

    reconciled = cli("run", "--out", out, "--resources", resources, "--reconcile", env={**env, "LEARNUPON_ATTENDANCE_RECONCILE_DAYS": "60"})
    assert reconciled.returncode == 0, reconciled.stderr
    truth = portal.ground_truth()
    since = portal.now().date() - timedelta(days=60)
    sessions, calls = reconciliation_calls(truth, portal.config.page_size, since, portal.now().date() + timedelta(days=365))
    assert f"Reconciliation of session_attendance: {sessions:,} sessions re-read since {since.isoformat()}, {calls:,} calls" in reconciled.stdout

    off = cli("run", "--out", out, "--resources", resources, "--reconcile", env={**env, "LEARNUPON_ATTENDANCE_RECONCILE_DAYS": "0"})
    assert off.returncode == 0 and "Reconciliation of session_attendance" not in off.stdout

    bad = cli("run", "--out", out, "--reconcile", env={**env, "LEARNUPON_ATTENDANCE_RECONCILE_DAYS": "a year"})
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "LEARNUPON_ATTENDANCE_RECONCILE_DAYS must be a whole number, got 'a year'" in bad.stderr
