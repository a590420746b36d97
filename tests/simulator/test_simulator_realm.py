"""The simulated realm (pipelines/simulator/realm.py, domains/portals.py): a top-level portal lists its
sub-portals on GET /portals; each sub-portal is a portal of its own (keys, data with overlapping ids, rate
limit); a sub-portal answers GET /portals 403; generate_keys replaces a sub-portal's keys; churn moves
members and licences."""

from __future__ import annotations

import httpx
import pytest

from pipelines.simulator import PortalConfig, SimulatedPortal, SimulatedRealm

from tests.support.simulator_http import AUTH, CLOCK, RATE_WINDOW_SECONDS, fetch_all, within_one_rate_window

ATTRIBUTES = {"id", "title", "subdomain", "created_at", "updated_at", "allow_course_authoring", "number_of_members",
              "number_licenses_purchased", "number_licenses_used", "logo_image_url", "header_color", "navigation_color"}
SUBS = ("emea", "apac", "partners")


def sub_config(i: int, name: str, **extra) -> PortalConfig:
    return PortalConfig(users=30 + 10 * i, seed=20 + i, clock=CLOCK, username=f"{name}-user",
                        password=f"{name}-secret", **extra)


def make_realm(quirks: str = "default", **sub_extra) -> SimulatedRealm:
    subs = {name: sub_config(i, name, **sub_extra) for i, name in enumerate(SUBS)}
    return SimulatedRealm(PortalConfig(users=50, seed=19, clock=CLOCK, page_size=2, quirks=quirks), subs)


@pytest.fixture(scope="module")
def realm():
    with make_realm() as r:
        yield r


@pytest.fixture(scope="module")
def top(realm):
    with httpx.Client(base_url=realm.top.base_url, auth=AUTH, timeout=10) as c:
        yield c


def test_top_level_lists_its_sub_portals_page_by_page(realm, top):
    listed = fetch_all(top, "/portals", "portals", records_per_page="2")
    assert [p["subdomain"] for p in listed] == list(SUBS)  # sub-portals only, over two pages
    assert all(set(p) == ATTRIBUTES for p in listed)
    assert listed == realm.top.ground_truth()["portals"]
    for p, (name, sub) in zip(listed, realm.subs.items()):
        users = sub.ground_truth()["users"]
        assert p["number_of_members"] == len(users)
        assert p["number_licenses_used"] == sum(1 for u in users if u["enabled"])
        assert isinstance(p["number_licenses_purchased"], int) and isinstance(p["allow_course_authoring"], bool)
    assert len({p["id"] for p in listed}) == len(SUBS)


def test_title_search_is_a_case_insensitive_pattern(top):
    found = top.get("/portals", params={"title": "ARTNER"}).json()["portals"]
    assert [p["subdomain"] for p in found] == ["partners"]
    assert top.get("/portals", params={"title": "no such portal"}).json()["portals"] == []


def test_each_sub_portal_has_its_own_keys_data_and_overlapping_ids(realm):
    emea, apac = realm.subs["emea"], realm.subs["apac"]
    with httpx.Client(base_url=emea.base_url, timeout=10) as c:
        assert c.get("/users", auth=AUTH).status_code == 401  # the top-level portal's keys are not emea's
        emea_users = fetch_all(httpx.Client(base_url=emea.base_url, auth=("emea-user", "emea-secret")), "/users", "user")
    apac_users = fetch_all(httpx.Client(base_url=apac.base_url, auth=("apac-user", "apac-secret")), "/users", "user")
    shared = {u["id"] for u in emea_users} & {u["id"] for u in apac_users}
    assert shared  # the same ids in two portals ...
    by_id = {u["id"]: u for u in apac_users}
    assert any(u["email"] != by_id[u["id"]]["email"] for u in emea_users if u["id"] in shared)  # ... other people


def test_a_sub_portal_answers_get_portals_403_and_a_lone_portal_lists_none(realm):
    answer = httpx.get(realm.subs["apac"].base_url + "/portals", auth=("apac-user", "apac-secret"))
    assert answer.status_code == 403 and "top-level" in answer.json()["message"]
    assert realm.subs["apac"].ground_truth()["portals"] == []
    with SimulatedPortal(PortalConfig(users=5, clock=CLOCK)) as alone:
        answer = httpx.get(alone.base_url + "/portals", auth=AUTH)
        assert answer.status_code == 200 and answer.json() == {"portals": []}


def test_rate_limits_are_per_portal():
    def calls() -> tuple[list[int], httpx.Response, int]:
        # every sub-portal: 3 calls a "minute" (an hour long: what a window does, not its length)
        with make_realm(rate_per_minute=3, rate_window_seconds=RATE_WINDOW_SECONDS) as realm:
            emea = httpx.Client(base_url=realm.subs["emea"].base_url, auth=("emea-user", "emea-secret"))
            statuses = [emea.get("/groups").status_code for _ in range(4)]
            apac = httpx.Client(base_url=realm.subs["apac"].base_url, auth=("apac-user", "apac-secret"))
            return statuses, apac.get("/groups"), httpx.get(realm.top.base_url + "/groups", auth=AUTH).status_code

    statuses, answer, top_status = within_one_rate_window(calls)
    assert statuses == [200, 200, 200, 429]
    assert answer.status_code == 200 and answer.headers["X-LU-Rate-Limit-Remaining-Minute"] == "2"
    assert top_status == 200  # no limit on the top


def test_alternative_readings_bare_array_and_the_top_level_listed_too():
    with make_realm(quirks="alt") as realm:
        body = httpx.get(realm.top.base_url + "/portals", params={"page": 1}, auth=AUTH).json()
        rest = httpx.get(realm.top.base_url + "/portals", params={"page": 2}, auth=AUTH).json()
        assert isinstance(body, list)
        assert [p["subdomain"] for p in body + rest] == ["realm-hq", *SUBS]
        assert body + rest == realm.top.ground_truth()["portals"]


def test_churn_changes_licences_and_members():
    with make_realm() as realm:
        before = {p["subdomain"]: p for p in realm.top.ground_truth()["portals"]}
        realm.churn(days=1, share=0.2)
        after = {p["subdomain"]: p for p in realm.top.ground_truth()["portals"]}
        bought = after["emea"]["number_licenses_purchased"] - before["emea"]["number_licenses_purchased"]
        assert bought >= 5 and after["emea"]["updated_at"] > before["emea"]["updated_at"]
        assert after["apac"]["number_licenses_purchased"] == before["apac"]["number_licenses_purchased"]
        assert any(after[s]["number_of_members"] != before[s]["number_of_members"]
                   or after[s]["number_licenses_used"] != before[s]["number_licenses_used"] for s in SUBS)
        listed = httpx.get(realm.top.base_url + "/portals", params={"page": 1}, auth=AUTH).json()["portals"]
        assert listed[0] == after["emea"]


def test_generate_keys_replaces_the_sub_portals_keys():
    with make_realm() as realm:
        emea = realm.entry("emea")
        assert realm.generate_keys_calls() == 0
        answer = httpx.get(f"{realm.top.base_url}/portals/{emea.id}/generate_keys", auth=AUTH).json()
        assert answer["id"] == emea.id and answer["username"] != "emea-user"
        sub = realm.subs["emea"].base_url + "/groups"
        assert httpx.get(sub, auth=("emea-user", "emea-secret")).status_code == 401  # the old pair is dead
        assert httpx.get(sub, auth=(answer["username"], answer["password"])).status_code == 200
        assert realm.generate_keys_calls() == 1
        top_id = realm.entry("realm-hq").id
        assert httpx.get(f"{realm.top.base_url}/portals/{top_id}/generate_keys", auth=AUTH).status_code == 404
