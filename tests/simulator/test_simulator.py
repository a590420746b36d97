"""The simulated LearnUpon portal: HTTP contract, determinism, churn, faults, limits."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from pipelines.simulator import PortalConfig, SimulatedPortal

from tests.support.simulator_http import AUTH, CLOCK, RATE_WINDOW_SECONDS, fetch_all, within_one_rate_window



def client(portal: SimulatedPortal, **kw) -> httpx.Client:
    return httpx.Client(base_url=portal.base_url, auth=AUTH, timeout=10, **kw)




@pytest.fixture(scope="module")
def portal():
    with SimulatedPortal(PortalConfig(users=300, seed=11, page_size=37, clock=CLOCK)) as p:
        yield p


@pytest.fixture(scope="module")
def http(portal):
    with client(portal) as c:
        yield c


# --- pagination, auth, shapes --------------------------------------------------------

def test_users_pagination_with_odd_page_size(portal, http):
    users = fetch_all(http, "/users", "user", {"version_id": "1.2"})
    truth = portal.ground_truth()["users"]
    assert users == truth
    assert len(users) == 300
    r = http.get("/users", params={"page": 1})
    assert r.headers["LU-Records-Per-Page"] == "37"
    assert len(r.json()["user"]) == 37
    assert "customDataFieldDefinitions" in r.json()
    assert "updated_at" not in r.json()["user"][0]


def test_page_beyond_end_is_empty(http):
    r = http.get("/users", params={"page": 999})
    assert r.status_code == 200
    assert r.json()["user"] == []
    assert r.headers["LU-Has-Next-Page"] == "false"


def test_user_versions_add_fields(http):
    v11 = http.get("/users", params={"version_id": "1.1"}).json()["user"][0]
    v12 = http.get("/users", params={"version_id": "1.2"}).json()["user"][0]
    assert "updated_at" in v11 and "timezone_id" not in v11
    assert "updated_at" in v12 and "timezone_id" in v12


def test_login_enabled_filter(portal, http):
    enabled = fetch_all(http, "/users", "user", {"login_enabled": "true"})
    disabled = fetch_all(http, "/users", "user", {"login_enabled": "false"})
    assert all(u["enabled"] for u in enabled) and not any(u["enabled"] for u in disabled)
    assert len(enabled) + len(disabled) == 300 and disabled


def test_auth_required(portal):
    for auth in (None, ("sim-user", "wrong"), ("nobody", "sim-secret-password")):
        with httpx.Client(base_url=portal.base_url, auth=auth) as c:
            r = c.get("/users")
        assert r.status_code == 401
        assert r.json()["response_type"] == "ERROR" and r.json()["response_code"] == 401


def test_user_lookup_and_search(portal, http):
    u = portal.ground_truth()["users"][5]
    one = http.get(f"/users/{u['id']}").json()
    assert one["user"][0]["id"] == u["id"]
    assert "awards" in one["user"][0]
    by_email = http.get("/users/search", params={"email": u["email"].upper()}).json()["user"]
    assert [x["id"] for x in by_email] == [u["id"]]
    assert http.get("/users/search").status_code == 400
    assert http.get("/users/search", params={"email": "nobody@nowhere"}).status_code == 404
    assert http.get("/users/1").status_code == 404
    defs = http.get("/users/customuserdata").json()["customDataFieldDefinitions"]
    assert {d["label"] for d in defs} >= {"department", "position"}


def test_courses_versions_and_filters(portal, http):
    truth = portal.ground_truth()["courses"]
    default = fetch_all(http, "/courses", "courses")
    assert {c["published_status_id"] for c in default} <= {"published", "under_revision"}
    everything = fetch_all(http, "/courses", "courses", {"name": "", "include_all_versions": "true",
                                                         "include_draft": "true", "include_licensed_courses": "true"})
    assert sorted(c["id"] for c in everything) == sorted(c["id"] for c in truth)
    assert {c["published_status_id"] for c in truth} >= {"published", "archived", "draft"}
    multi = [c for c in truth if c["version"] > 1]
    assert multi and all(any(o["id"] == c["source_id"] and o["version"] == 1 for o in truth) for c in multi)
    # include_all_versions works with name only (default reading)
    assert len(fetch_all(http, "/courses", "courses", {"include_all_versions": "true"})) == len(default)
    one = http.get("/courses", params={"course_id": default[0]["id"]}).json()["courses"]
    assert [c["id"] for c in one] == [default[0]["id"]]
    word = default[0]["name"].split()[0].lower()
    assert all(word in c["name"].lower() for c in http.get("/courses", params={"name": word}).json()["courses"])


def test_course_counters_match_enrollments(portal):
    truth = portal.ground_truth()
    for c in truth["courses"]:
        mine = [e for e in truth["enrollments"] if e["course_id"] == c["id"]]
        assert c["num_enrolled"] == len(mine)
        assert c["num_passed"] == sum(e["status"] == "passed" for e in mine)


def test_enrollment_search_validation_and_filters(portal, http):
    assert http.get("/enrollments/search").status_code == 400
    assert http.get("/enrollments/search", params={"user_id": 1}).status_code == 404
    assert http.get("/enrollments/search", params={"course_id": 50001, "date_from": "14/03/2025"}).status_code == 400
    truth = portal.ground_truth()["enrollments"]
    course_id = max({e["course_id"] for e in truth}, key=lambda cid: sum(e["course_id"] == cid for e in truth))
    mine = [e for e in truth if e["course_id"] == course_id]
    got = fetch_all(http, "/enrollments/search", "enrollments", {"course_id": course_id})
    assert got == mine
    day = sorted(e["updated_at"][:10] for e in mine)[len(mine) // 2]
    filtered = fetch_all(http, "/enrollments/search", "enrollments",
                         {"course_id": course_id, "date_from": day, "date_to": day})
    assert filtered == [e for e in mine if e["updated_at"][:10] == day]
    since = fetch_all(http, "/enrollments/search", "enrollments", {"course_id": course_id, "date_from": day})
    assert since == [e for e in mine if e["updated_at"][:10] >= day]
    e = mine[0]
    assert http.get(f"/enrollments/{e['id']}").json()["enrollments"] == [e]
    assert http.get("/enrollments/search", params={"email": e["email"]}).json()["enrollments"]
    assert http.get("/enrollments/99").status_code == 404


def test_enrollment_data_is_realistic(portal):
    truth = portal.ground_truth()
    enr = truth["enrollments"]
    assert {e["status"] for e in enr} == {"not_started", "in_progress", "completed", "passed", "failed", "pending_review"}
    now = CLOCK.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert any(e["is_overdue"] for e in enr)
    assert all(e["due_date"] < now for e in enr if e["is_overdue"])
    certs = [e["cert_expires_at"] for e in enr if e["cert_expires_at"]]
    assert any(c < now for c in certs) and any(c > now for c in certs)
    assert any(e["version"] > 1 for e in enr) and any(e["version"] == 1 and e["course_source_id"] is None for e in enr)
    assert all(e["date_enrolled"] <= now and e["updated_at"] <= now for e in enr)


def test_determinism():
    cfg = PortalConfig(users=150, seed=3, clock=CLOCK)
    a = json.dumps(SimulatedPortal(cfg).ground_truth(), sort_keys=True)
    b = json.dumps(SimulatedPortal(cfg).ground_truth(), sort_keys=True)
    assert a == b
    c = json.dumps(SimulatedPortal(PortalConfig(users=150, seed=4, clock=CLOCK)).ground_truth(), sort_keys=True)
    assert a != c


def test_alt_quirks_switch_readings():
    with SimulatedPortal(PortalConfig(users=60, seed=2, clock=CLOCK, quirks="alt")) as p, client(p) as c:
        body = c.get("/users", params={"version_id": "1.2"}).json()
        assert "users" in body and "customDataFieldDefintions" in body
        assert "CustomData" in body["users"][0] and "updated_at" not in body["users"][0]
        uid = p.ground_truth()["enrollments"][0]["user_id"]
        assert isinstance(c.get("/enrollments/search", params={"user_id": uid}).json(), list)


# --- churn --------------------------------------------------------------------------------

def test_churn_changes_what_it_says():
    with SimulatedPortal(PortalConfig(users=400, seed=5, clock=CLOCK)) as p, client(p) as c:
        before = p.ground_truth()
        t_before = p.now()
        summary = p.churn(days=1, share=0.05)
        after = p.ground_truth()
        assert p.now() - t_before >= timedelta(days=1)
        assert summary["users_created"] > 0 and summary["users_deleted"] > 0
        assert len(after["users"]) == len(before["users"]) + summary["users_created"] - summary["users_deleted"]
        gone = set(after["deleted_user_ids"])
        assert len(gone) == summary["users_deleted"]
        assert not gone & {u["id"] for u in after["users"]}
        assert not gone & {e["user_id"] for e in after["enrollments"]}
        for uid in gone:
            assert c.get("/enrollments/search", params={"user_id": uid}).status_code == 404
        old = {e["id"]: e for e in before["enrollments"]}
        changed = [e for e in after["enrollments"] if e["id"] in old and e != old[e["id"]]]
        assert changed and all(e["updated_at"] > old[e["id"]]["updated_at"] for e in changed)
        new = [e for e in after["enrollments"] if e["id"] not in old]
        # a new enrollment may be unenrolled again within the same churn
        assert summary["enrollments_created"] - summary["enrollments_deleted"] <= len(new) <= summary["enrollments_created"]
        # incremental fetch by date_from finds every change
        day = t_before.strftime("%Y-%m-%d")
        seen = set()
        for cid in {e["course_id"] for e in after["enrollments"]}:
            seen |= {e["id"] for e in fetch_all(c, "/enrollments/search", "enrollments",
                                                {"course_id": cid, "date_from": day})}
        assert {e["id"] for e in changed + new} <= seen
        # sign-ins do not bump updated_at
        prev_users = {u["id"]: u for u in before["users"]}
        signed = [u for u in after["users"] if u["id"] in prev_users
                  and u["sign_in_count"] != prev_users[u["id"]]["sign_in_count"]
                  and u["email"] == prev_users[u["id"]]["email"]
                  and u["last_name"] == prev_users[u["id"]]["last_name"]]
        assert signed and all(u["updated_at"] == prev_users[u["id"]]["updated_at"] for u in signed)


# --- rate limits and faults ------------------------------------------------------------------

def test_minute_rate_limit_gives_429():
    # the reference's calendar minute made an hour long (rate_window_seconds): what a window does, not its length
    config = PortalConfig(users=30, clock=CLOCK, rate_per_minute=5, rate_per_week=100, rate_window_seconds=RATE_WINDOW_SECONDS)

    def seven_calls() -> tuple[list[int], list[int], httpx.Response, int]:
        with SimulatedPortal(config) as p, client(p) as c:
            statuses, remaining = [], []
            for _ in range(7):
                r = c.get("/courses")
                statuses.append(r.status_code)
                remaining.append(int(r.headers["X-LU-Rate-Limit-Remaining-Minute"]))
                assert "X-LU-Rate-Limit-Remaining-Week" in r.headers
                assert "Retry-After" not in r.headers
            assert httpx.post(p.root_url + "/_sim/advance?days=0").status_code == 200  # control: no limit
            return statuses, remaining, r, p.calls["GET /courses"]

    statuses, remaining, r, served = within_one_rate_window(seven_calls)
    assert statuses == [200] * 5 + [429] * 2
    assert remaining == [4, 3, 2, 1, 0, 0, 0]
    assert r.json() == {"response_type": "ERROR", "response_code": 429, "message": "exceeded limit on API requests"}
    assert r.headers["X-LU-Rate-Limit-Remaining-Week"] == "95"  # 429s count toward nothing
    assert served == 5


def test_week_limit_rolls_with_simulated_clock():
    with SimulatedPortal(PortalConfig(users=30, clock=CLOCK, rate_per_week=3)) as p, client(p) as c:
        assert [c.get("/courses").status_code for _ in range(4)] == [200, 200, 200, 429]
        p.advance(days=7.01)
        assert c.get("/courses").status_code == 200


def test_faults_at_configured_rate_and_change_nothing():
    with SimulatedPortal(PortalConfig(users=50, clock=CLOCK, fault_rate=0.3,
                                      fault_kinds=("500", "503", "truncated", "drop"))) as p:
        truth = json.dumps(p.ground_truth(), sort_keys=True)
        outcomes = {"ok": 0, "500": 0, "503": 0, "truncated": 0, "drop": 0}
        with client(p) as c:
            for _ in range(300):
                try:
                    r = c.get("/courses")
                except httpx.TransportError:
                    outcomes["drop"] += 1
                    continue
                if r.status_code in (500, 503):
                    outcomes[str(r.status_code)] += 1
                    assert r.json()["response_code"] == r.status_code
                    continue
                assert r.status_code == 200
                assert len(r.content) == int(r.headers["Content-Length"])
                try:
                    json.loads(r.content)
                    outcomes["ok"] += 1
                except ValueError:
                    outcomes["truncated"] += 1
        faulted = 300 - outcomes["ok"]
        assert 50 <= faulted <= 130, outcomes
        assert all(outcomes[k] > 0 for k in outcomes), outcomes
        assert p.calls["GET /courses"] == outcomes["ok"] + outcomes["truncated"]
        assert sum(p.faults.injected.values()) == faulted
        assert json.dumps(p.ground_truth(), sort_keys=True) == truth
        p.set_faults(fault_rate=0.0)
        with client(p) as c:
            assert all(c.get("/courses").status_code == 200 for _ in range(20))


def test_control_endpoints(portal):
    root = portal.root_url
    # make the call this test counts itself: under pytest-xdist no other test need have run first
    httpx.get(portal.base_url + "/users", auth=(portal.config.username, portal.config.password))
    calls = httpx.get(root + "/_sim/calls").json()
    assert calls.get("GET /users", 0) >= 1
    truth = httpx.get(root + "/_sim/truth", timeout=30).json()
    assert set(truth) >= {"users", "courses", "enrollments", "deleted_user_ids"}
    r = httpx.post(root + "/_sim/faults", params={"rate": "0"})
    assert r.status_code == 200


def test_concurrent_keep_alive_clients(portal):
    import concurrent.futures as cf

    with client(portal, limits=httpx.Limits(max_connections=8)) as c:
        with cf.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda i: c.get("/users", params={"page": i % 9 + 1}).status_code, range(200)))
    assert codes == [200] * 200


def test_stop_joins_threads():
    p = SimulatedPortal(PortalConfig(users=20, clock=CLOCK)).start()
    with client(p) as c:
        assert c.get("/courses").status_code == 200
        p.stop()
        with pytest.raises(httpx.TransportError):
            c.get("/courses")
