"""The reference-strict simulator over HTTP: each narrowing served as docs/simulator.md states it.

A strict portal and a default one built from the same seed hold the same data;
strict mode changes only what the API shows. The default twin's ground truth
gives the facts strict mode hides (updated_at, enrollment ids, instructor ids).
"""

from __future__ import annotations


import httpx
import pytest

from pipelines.simulator import PortalConfig, SimulatedPortal

from tests.support.simulator_http import AUTH, CLOCK
from tests.support.simulator_http import fetch_all as fetch_pages


def fetch_all(c: httpx.Client, path: str, key: str | None, params: dict | None = None) -> list[dict]:
    return fetch_pages(c, path, key, params, records_per_page="7")


# seed 2 at 300 users has an archived learning path (9001), drafts none; page size 7 makes listings page
SHAPE = {"users": 300, "seed": 2, "page_size": 7, "clock": CLOCK}
INVALID = {"response_type": "ERROR", "response_code": 404, "message": "Invalid parameters"}




@pytest.fixture(scope="module")
def strict():
    with SimulatedPortal(PortalConfig(strict=True, **SHAPE)) as p:
        yield p


@pytest.fixture(scope="module")
def twin():
    """The same portal read the default way."""
    with SimulatedPortal(PortalConfig(**SHAPE)) as p:
        yield p


@pytest.fixture(scope="module")
def http(strict):
    with httpx.Client(base_url=strict.base_url, auth=AUTH, timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def twin_http(twin):
    with httpx.Client(base_url=twin.base_url, auth=AUTH, timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def truth(strict):
    return strict.ground_truth()


@pytest.fixture(scope="module")
def twin_truth(twin):
    return twin.ground_truth()


def test_strict_changes_what_is_shown_not_the_data(truth, twin_truth):
    for table in ("courses", "enrollments", "groups", "group_memberships", "sessions", "session_attendance",
                  "exam_answers", "audit_trails"):
        assert truth[table] == twin_truth[table], table
    # users: strict shows custom data by definition id only, the default reading by label too; the values are the same
    assert [{k: v for k, v in u.items() if k != "CustomData"} for u in twin_truth["users"]] == truth["users"]
    assert all("CustomData" in u and "CustomData" not in s for u, s in zip(twin_truth["users"], truth["users"]))
    unlabelled = [{**row, "label": None} for row in twin_truth["user_custom_data"]]
    assert unlabelled == truth["user_custom_data"] and truth["user_custom_data"]
    assert len(truth["learning_path_enrollments"]) == len(twin_truth["learning_path_enrollments"])


@pytest.mark.parametrize("path,key,table", [
    ("/markcompletes", "markcompletes", "markcompletes"),
    ("/course_instructors", "course_instructors", "course_instructors"),
    ("/modules", "modules", "modules"),
    ("/live-learnings/sessions/search", "sessions", "sessions"),
    ("/groups", "groups", "groups"),
])
def test_strict_listings_equal_the_strict_truth(http, truth, path, key, table):
    got = fetch_all(http, path, key)
    assert got == truth[table] and got


def test_learning_path_enrollments_have_no_updated_at_but_dates_still_filter(http, truth, twin_truth):
    hidden = {e["id"]: e["updated_at"] for e in twin_truth["learning_path_enrollments"]}
    lp_id = max({e["lp_id"] for e in truth["learning_path_enrollments"]},
                key=lambda i: sum(e["lp_id"] == i for e in truth["learning_path_enrollments"]))
    mine = [e for e in truth["learning_path_enrollments"] if e["lp_id"] == lp_id]
    got = fetch_all(http, "/learning_path_enrollments/search", "learning_path_enrollments", {"lp_id": lp_id})
    assert got == mine and len(got) > 7
    assert all("updated_at" not in e for e in got)
    one = http.get(f"/learning_path_enrollments/{got[0]['id']}").json()["learning_path_enrollments"][0]
    assert one == got[0]
    # date_from/date_to filter on the updated_at the records no longer show, by UTC day
    day = sorted(hidden[e["id"]][:10] for e in mine)[len(mine) // 2]
    same_day = fetch_all(http, "/learning_path_enrollments/search", "learning_path_enrollments",
                         {"lp_id": lp_id, "date_from": day, "date_to": day})
    assert {e["id"] for e in same_day} == {e["id"] for e in mine if hidden[e["id"]][:10] == day} != set()
    since = fetch_all(http, "/learning_path_enrollments/search", "learning_path_enrollments",
                      {"lp_id": lp_id, "date_from": day})
    assert {e["id"] for e in since} == {e["id"] for e in mine if hidden[e["id"]][:10] >= day}


def test_markcompletes_have_no_enrollment_id(http, truth, twin_truth):
    got = fetch_all(http, "/markcompletes", "markcompletes")
    assert got and all("enrollment_id" not in mc for mc in got)
    full = {mc["id"]: mc for mc in twin_truth["markcompletes"]}
    assert got == [{k: v for k, v in full[mc["id"]].items() if k != "enrollment_id"} for mc in got]
    # the enrollment_id filter still finds one
    wanted = next(iter(full.values()))
    found = http.get("/markcompletes", params={"enrollment_id": wanted["enrollment_id"]}).json()["markcompletes"]
    assert [mc["id"] for mc in found] == [wanted["id"]]


def test_course_instructors_have_no_user(http, truth, twin_truth):
    got = fetch_all(http, "/course_instructors", "course_instructors")
    hidden = ("user_id", "first_name", "last_name", "email")
    assert got and not any(k in ci for ci in got for k in hidden)
    assert {"id", "course_id", "course_name", "enrollment_count"} <= set(got[0])
    # the user_id filter still finds an instructor's links
    links = twin_truth["course_instructors"]
    uid = links[0]["user_id"]
    mine = fetch_all(http, "/course_instructors", "course_instructors", {"user_id": uid})
    assert sorted(ci["id"] for ci in mine) == sorted(ci["id"] for ci in links if ci["user_id"] == uid)


def busiest_session(truth) -> dict:
    counts = {}
    for a in truth["session_attendance"]:
        counts[a["session_id"]] = counts.get(a["session_id"], 0) + 1
    sid = max(counts, key=counts.get)
    assert counts[sid] > 7, "a session needs more registrants than a page holds"
    return next(s for s in truth["sessions"] if s["session_id"] == sid)


def test_attendance_is_served_on_the_sample_path_only_and_paged(http, truth):
    s = busiest_session(truth)
    sid = s["session_id"]
    method = http.get(f"/sessions/{sid}/attendance")
    assert method.status_code == 404 and method.json() == INVALID
    pages, page = [], 1
    while True:
        r = http.get(f"/live-learnings/sessions/{sid}/attendance", params={"page": page})
        assert r.status_code == 200
        assert r.headers["LU-Current-Page"] == str(page) and r.headers["LU-Records-Per-Page"] == "7"
        body = r.json()
        assert isinstance(body, list) and len(body) == 1 and len(body[0]) <= 7  # the sample's [[...]]
        pages.append(body[0])
        if r.headers["LU-Has-Next-Page"] != "true":
            break
        page += 1
    assert len(pages) > 1 and len(pages[0]) == 7
    expected = [{k: v for k, v in a.items() if k != "session_id"} for a in truth["session_attendance"] if a["session_id"] == sid]
    assert [rec for chunk in pages for rec in chunk] == expected


def test_an_unknown_session_answers_the_invalid_parameter_404(http):
    r = http.get("/live-learnings/sessions/1/attendance")
    assert r.status_code == 404 and r.json() == INVALID


@pytest.mark.parametrize("setting,answers", [("method", (200, 404)), ("sample", (404, 200)), ("both", (200, 200))])
def test_attendance_path_setting(setting, answers):
    with SimulatedPortal(PortalConfig(strict=True, attendance_path=setting, **SHAPE)) as p, \
            httpx.Client(base_url=p.base_url, auth=AUTH) as c:
        sid = p.ground_truth()["sessions"][0]["session_id"]
        got = (c.get(f"/sessions/{sid}/attendance").status_code,
               c.get(f"/live-learnings/sessions/{sid}/attendance").status_code)
        assert got == answers
        assert p.calls["GET /sessions/{session_id}/attendance"] == 1  # a 404 counts as a request


def test_default_mode_serves_both_attendance_paths(twin_http, twin_truth):
    sid = twin_truth["sessions"][0]["session_id"]
    a = twin_http.get(f"/sessions/{sid}/attendance")
    b = twin_http.get(f"/live-learnings/sessions/{sid}/attendance")
    assert a.status_code == b.status_code == 200 and a.json() == b.json()


def test_learning_paths_never_list_archived_ones(http, twin_http, truth, twin_truth):
    statuses = {p["id"]: p["published_status_id"] for p in twin_truth["learning_paths"]}
    assert "archived" in statuses.values() and truth["archived_learning_path_ids"] == [
        i for i, s in statuses.items() if s == "archived"]
    with_drafts = fetch_all(http, "/learning_paths", "learning_paths", {"include_draft": "true", "include_courses": "true"})
    assert with_drafts == truth["learning_paths"]
    assert {p["published_status_id"] for p in with_drafts} <= {"published", "draft"}
    assert {p["id"] for p in with_drafts} == {i for i, s in statuses.items() if s != "archived"}
    plain = fetch_all(http, "/learning_paths", "learning_paths")
    assert {p["id"] for p in plain} == {i for i, s in statuses.items() if s == "published"}
    for archived in truth["archived_learning_path_ids"]:
        assert http.get("/learning_paths", params={"id": archived, "include_draft": "true"}).json()["learning_paths"] == []
        # its enrollments stay searchable by path
        assert http.get("/learning_path_enrollments/search", params={"lp_id": archived}).status_code == 200
    # the default reading lists them
    assert {p["id"] for p in fetch_all(twin_http, "/learning_paths", "learning_paths", {"include_draft": "true"})} == set(statuses)


def test_live_learning_modules_repeat_once_per_session(http, twin_http, truth):
    sessions = {s["session_id"]: s for s in truth["sessions"]}
    live = [m for m in truth["course_modules"] if m["component_type"] == "ilt session"]
    course_id = live[0]["course_id"]
    rows = fetch_all(http, "/modules", "modules", {"course_id": course_id})
    assert rows == [{k: v for k, v in m.items() if k != "course_id"} for m in truth["course_modules"]
                    if m["course_id"] == course_id]
    ilt = [r for r in rows if r["component_type"] == "ilt session"]
    assert len(ilt) >= 2 and len({r["id"] for r in ilt}) == 1, "one module, a row per session"
    assert len({r["session_id"] for r in ilt}) == len(ilt)
    for r in ilt:
        s = sessions[r["session_id"]]
        assert r["training_id"] == s["event_id"] and r["location_id"] == s["location_id"]
        assert r["max_capacity"] == s["max_capacity"] and r["number_enrolled_on_session"] == s["number_of_attendees"]
    others = [r for r in rows if r["component_type"] != "ilt session"]
    assert others and all(r["session_id"] is None and r["training_id"] is None for r in others)
    # the default reading: one row per module, no session fields
    plain = fetch_all(twin_http, "/modules", "modules", {"course_id": course_id})
    assert len(plain) == len(others) + 1 and all("session_id" not in r for r in plain)


@pytest.mark.parametrize("setting,status,everything", [(None, 200, False), ("empty", 200, False), ("400", 400, False),
                                                    ("all", 200, True)])
def test_an_empty_course_name_pattern(setting, status, everything):
    with SimulatedPortal(PortalConfig(strict=True, empty_name_search=setting, **SHAPE)) as p, \
            httpx.Client(base_url=p.base_url, auth=AUTH) as c:
        every = {"name": "", "include_all_versions": "true", "include_draft": "true", "include_licensed_courses": "true"}
        r = c.get("/courses", params=every)
        assert r.status_code == status
        if status == 200:
            found = fetch_all(c, "/courses", "courses", every)
            assert len(found) == (len(p.ground_truth()["courses"]) if everything else 0)
        # the plain listing is not a name search: current versions, as always
        plain = fetch_all(c, "/courses", "courses")
        assert plain and {x["published_status_id"] for x in plain} <= {"published", "under_revision"}


def test_an_empty_course_name_pattern_matches_everything_by_default(twin_http, twin_truth):
    every = {"name": "", "include_all_versions": "true", "include_draft": "true", "include_licensed_courses": "true"}
    assert len(fetch_all(twin_http, "/courses", "courses", every)) == len(twin_truth["courses"])


def test_surveys_are_anonymous(http, truth):
    surveys = [e["exam_id"] for e in truth["exams"] if e["is_survey"]]
    exams = [e["exam_id"] for e in truth["exams"] if not e["is_survey"]]
    assert surveys and exams
    for exam_id in surveys:
        for ee in fetch_all(http, f"/exams/{exam_id}/enrollments", "exam_enrollments"):
            assert "user_id" not in ee and "portal_membership_id" not in ee
    graded = fetch_all(http, f"/exams/{exams[0]}/enrollments", "exam_enrollments")
    assert graded and all("user_id" in ee for ee in graded)
    assert [e for e in truth["exam_enrollments"] if e["exam_id"] == exams[0]] == graded


def test_bad_strict_settings_are_refused():
    with pytest.raises(ValueError, match="attendance_path"):
        PortalConfig(attendance_path="neither")
    with pytest.raises(ValueError, match="empty_name_search"):
        PortalConfig(empty_name_search="some")
