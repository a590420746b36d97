"""Churn that deletes, the audit trail it leaves, the deleted ids the ground truth reports, endpoint faults
and a clock that moves back: in both simulator modes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from pipelines.simulator import PortalConfig, SimulatedPortal

from tests.support.simulator_http import AUTH, CLOCK, fetch_all



def client(portal: SimulatedPortal) -> httpx.Client:
    return httpx.Client(base_url=portal.base_url, auth=AUTH, timeout=10)




def trails(c: httpx.Client) -> list[dict]:
    out, params = [], {}
    while True:
        body = c.get("/audit-trails", params=params).json()
        out += body["trails"]
        if body["next"] is False:
            return out
        params = {"next": body["next"]}


@pytest.fixture(scope="module", params=["default", "strict"])
def churned(request):
    """A portal before and after a churn round that deletes some of everything."""
    with SimulatedPortal(PortalConfig(users=300, seed=5, clock=CLOCK, strict=request.param == "strict")) as p:
        before = p.ground_truth()
        summary = p.churn(days=1, share=0.1)
        yield p, before, summary, p.ground_truth()


def test_churn_deletes_enrollments_as_delete_enrollments_would(churned):
    p, before, summary, after = churned
    deleted = after["deleted_enrollment_ids"]
    assert summary["enrollments_deleted"] > 0 and summary["users_deleted"] > 0
    live = {e["id"] for e in after["enrollments"]}
    assert deleted and not set(deleted) & live
    assert set(deleted) <= {e["id"] for e in before["enrollments"]} | set(range(3000001, max(live) + 1))
    with client(p) as c:
        for eid in deleted[:5]:
            assert c.get(f"/enrollments/{eid}").status_code == 404
        # course counters follow the live enrollments
        courses = fetch_all(c, "/courses", "courses", {"name": "", "include_all_versions": "true",
                                                       "include_draft": "true", "include_licensed_courses": "true"})
    for course in courses:
        mine = [e for e in after["enrollments"] if e["course_id"] == course["id"]]
        assert course["num_enrolled"] == len(mine)
        for status in ("not_started", "in_progress", "completed"):
            assert course[f"num_{status}"] == sum(e["status"] == status for e in mine)


def test_each_unenrollment_is_in_the_audit_trail(churned):
    p, before, summary, after = churned
    old = {e["id"]: e for e in before["enrollments"]}
    unenrolls = {(t["impacted_user_email"], t["impacted_data"]) for t in after["audit_trails"] if t["action"] == 2}
    # enrollments deleted by unenrolling (not those that went with their deleted user); the same round may
    # have changed the learner's email or renamed the course before the unenrollment
    gone_users = set(after["deleted_user_ids"])
    deleted = [old[i] for i in after["deleted_enrollment_ids"] if i in old and old[i]["user_id"] not in gone_users]
    assert deleted
    emails = {u["id"]: {u["email"]} for u in before["users"]}
    for u in after["users"]:
        emails.setdefault(u["id"], set()).add(u["email"])
    families: dict[int, list[dict]] = {}
    for c in after["courses"]:
        families.setdefault(c["source_id"], []).append(c)
    source = {c["id"]: c["source_id"] for c in after["courses"]}

    def title_now(course_id: int) -> str:
        versions = sorted(families[source[course_id]], key=lambda v: v["version"])
        return ([v for v in versions if v["date_published"]] or versions)[-1]["name"]

    for e in deleted:
        names = {e["course_name"], title_now(e["course_id"])}
        assert any((email, name) in unenrolls for email in emails[e["user_id"]] for name in names), e["id"]
    # the trail object is the reference's
    t = next(t for t in after["audit_trails"] if t["action"] == 2)
    assert set(t) == {"action", "initiated_by_user", "initiated_by_user_email", "impacted_user", "impacted_user_email",
                      "impacted_data", "date_and_time_utc"}


def test_deleted_users_take_everything_of_theirs_with_them(churned):
    p, before, summary, after = churned
    gone = set(after["deleted_user_ids"])
    assert len(gone) == summary["users_deleted"] > 0
    emails = {u["email"] for u in before["users"] if u["id"] in gone}
    assert emails <= {t["impacted_user_email"] for t in after["audit_trails"] if t["action"] == 3}
    for table in ("enrollments", "exam_enrollments", "session_attendance", "group_memberships", "learning_path_enrollments"):
        assert not gone & {r["user_id"] for r in after[table] if "user_id" in r}, table
    # the ground truth names every row that left, and each was there before
    was = {
        "deleted_exam_enrollment_ids": {e["exam_enrollment_id"] for e in before["exam_enrollments"]},
        "deleted_assignment_answer_ids": {a["id"] for a in before["assignment_answers"]},
        "deleted_lp_enrollment_ids": {e["id"] for e in before["learning_path_enrollments"]},
        "deleted_group_manager_ids": {g["id"] for g in before["group_managers"]},
        "deleted_course_instructor_ids": {c["id"] for c in before["course_instructors"]},
        "deleted_markcomplete_ids": {m["id"] for m in before["markcompletes"]},
    }
    now = {
        "deleted_exam_enrollment_ids": {e["exam_enrollment_id"] for e in after["exam_enrollments"]},
        "deleted_assignment_answer_ids": {a["id"] for a in after["assignment_answers"]},
        "deleted_lp_enrollment_ids": {e["id"] for e in after["learning_path_enrollments"]},
        "deleted_group_manager_ids": {g["id"] for g in after["group_managers"]},
        "deleted_course_instructor_ids": {c["id"] for c in after["course_instructors"]},
        "deleted_markcomplete_ids": {m["id"] for m in after["markcompletes"]},
    }
    for key, ids in was.items():
        assert not set(after[key]) & now[key], key  # nothing reported deleted is still served
        assert ids - now[key] <= set(after[key]), key  # everything that left is reported
    assert after["deleted_exam_enrollment_ids"] and after["deleted_lp_enrollment_ids"]
    pairs = {(a["session_id"], a["user_id"]) for a in before["session_attendance"]}
    current = {(a["session_id"], a["user_id"]) for a in after["session_attendance"]}
    deleted_pairs = {tuple(k) for k in after["deleted_session_attendance"]}
    assert deleted_pairs and deleted_pairs <= pairs and not deleted_pairs & current
    memberships = {(m["group_id"], m["user_id"]) for m in after["group_memberships"]}
    removed = {tuple(k) for k in after["deleted_group_memberships"]}
    assert removed == {(m["group_id"], m["user_id"]) for m in before["group_memberships"]} - memberships


def test_learning_path_enrollments_are_deleted_too(churned):
    p, before, summary, after = churned
    assert summary["lp_enrollments_unenrolled"] > 0
    deleted = set(after["deleted_lp_enrollment_ids"])
    with client(p) as c:
        for lpe in deleted:
            assert c.get(f"/learning_path_enrollments/{lpe}").status_code == 404
        for lp in {e["lp_id"] for e in before["learning_path_enrollments"]}:
            found = fetch_all(c, "/learning_path_enrollments/search", "learning_path_enrollments", {"lp_id": lp})
            assert not deleted & {e["id"] for e in found}
    # completed ones stay as history
    kept = [e for e in after["learning_path_enrollments"] if e["unenrolled"]]
    assert deleted and all(e["status"] == "completed" for e in kept)


@pytest.mark.parametrize("strict", [False, True])
def test_churn_archives_learning_paths(strict):
    with SimulatedPortal(PortalConfig(users=300, seed=7, clock=CLOCK, strict=strict)) as p, client(p) as c:
        before = p.ground_truth()
        summary = p.churn(days=1, share=0.6)
        after = p.ground_truth()
        assert summary["learning_paths_archived"] > 0
        archived = set(after["archived_learning_path_ids"]) - set(before["archived_learning_path_ids"])
        assert len(archived) == summary["learning_paths_archived"]
        names = {lp["id"]: lp["name"] for lp in before["learning_paths"]}
        archive_events = {t["impacted_data"] for t in after["audit_trails"] if t["action"] == 9}
        assert {names[i] for i in archived} <= archive_events
        listed = {lp["id"] for lp in fetch_all(c, "/learning_paths", "learning_paths", {"include_draft": "true"})}
        assert bool(archived & listed) is not strict  # strict: gone from the include_draft listing
        for lp in archived:
            on_path = [e for e in after["learning_path_enrollments"] if e["lp_id"] == lp]
            assert on_path, "an archived path keeps its enrollments"
            by_path = fetch_all(c, "/learning_path_enrollments/search", "learning_path_enrollments", {"lp_id": lp})
            assert by_path == on_path
            uid = on_path[0]["user_id"]
            by_user = fetch_all(c, "/learning_path_enrollments/search", "learning_path_enrollments", {"user_id": uid})
            assert on_path[0] in by_user


def test_unenrollments_can_be_left_out_of_the_audit_trail():
    def churned(audit_unenrolls: bool) -> dict:
        p = SimulatedPortal(PortalConfig(users=300, seed=5, clock=CLOCK, audit_unenrolls=audit_unenrolls))
        p.set_clock(CLOCK)  # the same churn stamps in both portals: no wall time between build and churn
        p.churn(days=1, share=0.1)
        return p.ground_truth()

    audited, silent = churned(True), churned(False)
    assert audited["deleted_enrollment_ids"] == silent["deleted_enrollment_ids"] != []
    assert audited["enrollments"] == silent["enrollments"]
    churn_day = CLOCK.strftime("%Y-%m-%dT")
    assert any(t["action"] == 2 and t["date_and_time_utc"] > churn_day for t in audited["audit_trails"])
    assert not any(t["action"] == 2 and t["date_and_time_utc"] > churn_day for t in silent["audit_trails"])
    assert [t for t in audited["audit_trails"] if t["action"] != 2] == [t for t in silent["audit_trails"] if t["action"] != 2]


# --- endpoint faults ----------------------------------------------------------------------------

def test_an_endpoint_fault_fails_every_call_of_that_endpoint_only():
    with SimulatedPortal(PortalConfig(users=40, clock=CLOCK, endpoint_faults={"GET /badges": "500"})) as p, client(p) as c:
        assert [c.get("/badges").status_code for _ in range(5)] == [500] * 5
        assert c.get("/badges").json()["response_code"] == 500
        assert c.get("/leaderboard").status_code == 200 and c.get("/users").status_code == 200
        assert p.faults.injected["500"] == 6
        assert p.calls["GET /badges"] == 0  # like a random 500: not an answer by the endpoint
        p.set_endpoint_faults({})
        assert c.get("/badges").status_code == 200


@pytest.mark.parametrize("kind", ["500", "503", "drop", "truncated", "400", "404"])
def test_endpoint_fault_kinds(kind):
    sid_route = "GET /sessions/{id}/attendance"  # any placeholder name
    with SimulatedPortal(PortalConfig(users=60, clock=CLOCK)) as p, client(p) as c:
        sid = p.ground_truth()["sessions"][0]["session_id"]
        p.set_endpoint_faults({sid_route: kind})
        for _ in range(3):
            try:
                r = c.get(f"/sessions/{sid}/attendance")
            except httpx.TransportError:
                assert kind == "drop"
                continue
            if kind == "truncated":
                assert r.status_code == 200 and len(r.content) == int(r.headers["Content-Length"])
                with pytest.raises(ValueError):
                    json.loads(r.content)
            else:
                assert r.status_code == int(kind) and r.json()["response_code"] == int(kind)
        assert p.faults.injected[kind] == 3
        assert c.get(f"/live-learnings/sessions/{sid}/attendance").status_code == 200  # the other path is fine
        counted = p.calls["GET /sessions/{session_id}/attendance"]
        assert counted == (3 if kind in ("truncated", "400", "404") else 0)


def test_endpoint_faults_through_the_control_endpoint():
    with SimulatedPortal(PortalConfig(users=40, clock=CLOCK, strict=True)) as p, client(p) as c:
        root = p.root_url + "/_sim/endpoint-faults"
        r = httpx.post(root, params={"endpoint": "GET /badges", "kind": "503"})
        assert r.status_code == 200 and r.json() == {"GET /badges": "503"}
        httpx.post(root, params={"endpoint": "GET /exams/{exam_id}", "kind": "404"})
        assert httpx.get(root).json() == {"GET /badges": "503", "GET /exams/{}": "404"}
        assert c.get("/badges").status_code == 503
        exam = p.ground_truth()["exams"][0]["exam_id"]
        assert c.get(f"/exams/{exam}").json() == {"response_type": "ERROR", "response_code": 404, "message": "Invalid parameters"}
        httpx.post(root, params={"endpoint": "GET /badges", "kind": "none"})
        assert c.get("/badges").status_code == 200 and c.get(f"/exams/{exam}").status_code == 404
        assert httpx.post(root, json={"GET /certifications": "drop"}).json() == {"GET /certifications": "drop"}
        assert c.get(f"/exams/{exam}").status_code == 200
        assert httpx.delete(root).json() == {}
        # a route the portal does not have, or a kind it does not know, is refused
        assert httpx.post(root, params={"endpoint": "GET /nothing", "kind": "500"}).status_code == 400
        assert httpx.post(root, params={"endpoint": "GET /badges", "kind": "teapot"}).status_code == 400
    with pytest.raises(ValueError, match="no such endpoint"):
        SimulatedPortal(PortalConfig(users=20, endpoint_faults={"GET /badge": "500"}))


# --- the clock moves back ----------------------------------------------------------------------

def test_the_clock_moves_back_and_the_audit_trail_refuses_a_window_ahead_of_it():
    with SimulatedPortal(PortalConfig(users=60, clock=CLOCK)) as p, client(p) as c:
        p.churn(days=2, share=0.05)
        cursor = p.now()  # a client's audit cursor, at the portal's now
        p.advance(-3)
        assert p.now() < cursor - timedelta(days=2.9)
        r = c.get("/users")
        assert parsedate_to_datetime(r.headers["Date"]) < cursor - timedelta(days=2.9)
        fmt = "%Y-%m-%dT%H:%M:%S.000Z"
        ahead = c.get("/audit-trails", params={"date_range": f"{(cursor - timedelta(hours=1)).strftime(fmt)},{cursor.strftime(fmt)}"})
        assert ahead.status_code == 400 and ahead.json() == {
            "response_type": "ERROR", "response_code": 400, "message": "date_range must be within the last 30 days"}
        now = p.now()
        backwards = c.get("/audit-trails", params={"date_range": f"{now.strftime(fmt)},{(now - timedelta(hours=1)).strftime(fmt)}"})
        assert backwards.status_code == 400 and "start before end" in backwards.json()["message"]
        too_old = c.get("/audit-trails", params={"date_range": f"{(now - timedelta(days=31)).strftime(fmt)},{now.strftime(fmt)}"})
        assert too_old.status_code == 400
        inside = c.get("/audit-trails", params={"date_range": f"{(now - timedelta(days=1)).strftime(fmt)},{now.strftime(fmt)}"})
        assert inside.status_code == 200
        # data already stamped stays; a churn after the move stamps nothing before what a client saw
        latest = max(e["updated_at"] for e in p.ground_truth()["enrollments"])
        p.churn(days=1, share=0.05)
        assert max(e["updated_at"] for e in p.ground_truth()["enrollments"]) >= latest
        # and the control endpoints move it too
        target = CLOCK + timedelta(days=1)
        r = httpx.post(p.root_url + "/_sim/clock", params={"now": target.strftime("%Y-%m-%dT%H:%M:%SZ")})
        assert r.status_code == 200 and abs(p.now() - target) < timedelta(seconds=5)
        httpx.post(p.root_url + "/_sim/advance", params={"days": "-0.5"})
        assert abs(p.now() - (target - timedelta(days=0.5))) < timedelta(seconds=5)


def test_churn_marks_attendance_late_corrects_it_and_adds_sessions_to_existing_modules(churned):
    """Late changes reach sessions long over (up to a year), the endpoints serve them, and the truth states them."""
    p, before, summary, after = churned
    assert summary["attendance_marked_late"] > 0 and summary["attendance_corrected"] > 0 and summary["sessions_added"] > 0
    now = p.now().replace(tzinfo=None)
    ended = {s["session_id"]: datetime.fromisoformat(s["end_date"]) for s in after["sessions"]}
    was = {(a["session_id"], a["user_id"]): a for a in before["session_attendance"]}
    changed = [a for a in after["session_attendance"] if (a["session_id"], a["user_id"]) in was
               and was[(a["session_id"], a["user_id"])]["attendance_data"] != a["attendance_data"]]
    # late marks (unmarked before, marked now) and corrections, of sessions that ended 15 days to a year ago among them
    assert any(was[(a["session_id"], a["user_id"])]["attendance_data"][0]["status"] == 0 for a in changed)
    assert any(was[(a["session_id"], a["user_id"])]["attendance_data"][0]["status"] != 0 for a in changed)
    assert all(ended[a["session_id"]] <= now - timedelta(days=1) for a in changed)
    assert any(ended[a["session_id"]] <= now - timedelta(days=15) for a in changed)
    assert all(ended[a["session_id"]] >= now - timedelta(days=366) for a in changed)
    with client(p) as c:
        for a in changed[:5]:
            served = c.get(f"/live-learnings/sessions/{a['session_id']}/attendance", params={"page": 1}).json()
            rows = served[0] if served and isinstance(served[0], list) else served
            mine = next(r for r in rows if r["user_id"] == a["user_id"])
            assert mine["attendance_data"] == a["attendance_data"] and mine["session_status"] == a["session_status"]
    # the added sessions belong to events (live-learning modules) of courses that existed before; the search names
    # the course's live version, which may be one this round published
    added = {s["session_id"] for s in after["sessions"]} - {s["session_id"] for s in before["sessions"]}
    assert len(added) == summary["sessions_added"]
    old_events = {s["event_id"] for s in before["sessions"]}
    assert {s["event_id"] for s in after["sessions"] if s["session_id"] in added} <= old_events
    if p.config.strict:  # a module row per session, under every course holding the module
        rows = {m["session_id"] for m in after["course_modules"]}
        assert added <= rows
