"""Several portals in one warehouse: three simulated portals whose ids overlap, loaded side by side in one run.

Each portal's rows equal its own ground truth after the full run and after churn plus an incremental run, in
both simulator modes; a churn in one portal changes no row of the others; a portal with refused keys fails
alone (the others load and commit, the command exits 2 and names it); the portals' configuration is checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.learnupon.tables import USERS
from pipelines.run.portals import PortalOutcome, run_portals
from pipelines.run.runner import Warehouse
from pipelines.simulator import PortalConfig, SimulatedPortal
from tests.conftest import CLOCK, PORTAL_MODES, cli, modes_once, query
from tests.support.realm_runs import portal_contexts, portal_rows, unknown_problems

NAMES = ("north", "south", "east")  # south is the one that churns
# seeds whose portals both simulator modes load whole (a strict portal of seed 12, 7 or 17 lists an archived course
# family the extractor misses, on a single portal too: reported, not this test's subject)
SEEDS = {"north": 11, "south": 14, "east": 13}


@dataclass
class Realm:
    mode: str
    portals: dict[str, SimulatedPortal]
    out: Path
    full: list[PortalOutcome]
    full_problems: dict[str, dict[str, list[str]]]
    others_before: dict[str, list[tuple]]
    churned: dict[str, int]
    incremental: list[PortalOutcome]
    incremental_problems: dict[str, dict[str, list[str]]]
    others_after: dict[str, list[tuple]]


# the default suite runs the realm in the default mode; strict realms are extracted by tests/extract/test_realm_portals.py
@pytest.fixture(scope="module", params=modes_once("default"))
def realm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    mode = request.param
    portals = {
        name: SimulatedPortal(PortalConfig(users=40, seed=SEEDS[name], page_size=37, clock=CLOCK, **PORTAL_MODES[mode]))
        for name in NAMES
    }
    for portal in portals.values():
        portal.start()
    try:
        out = tmp_path_factory.mktemp(f"realm-{mode}")
        warehouse = Warehouse(out_dir=out)
        full = run_portals(portal_contexts(portals), warehouse)
        full_problems = {name: unknown_problems(out, portals[name], name, mode, "full") for name in NAMES}
        others = ("north", "east")
        before = portal_rows(out, others)
        churned = portals["south"].churn(days=1, share=0.05)
        incremental = run_portals(portal_contexts(portals), warehouse)
        incremental_problems = {name: unknown_problems(out, portals[name], name, mode, "incremental") for name in NAMES}
        yield Realm(mode, portals, out, full, full_problems, before, churned, incremental, incremental_problems,
                    portal_rows(out, others))
    finally:
        for portal in portals.values():
            portal.stop()


def test_the_portals_ids_overlap_and_each_portal_loads_its_own_rows(realm: Realm) -> None:
    assert [o.portal for o in realm.full] == list(NAMES)
    assert all(not o.failed for o in realm.full), [(o.portal, o.error) for o in realm.full]
    ids = {name: {r["id"] for r in query(realm.out, f"select id from learnupon.{USERS} where portal = ?", [name])} for name in NAMES}
    assert ids["north"] & ids["south"] & ids["east"], "the simulated portals start at the same id base: ids repeat"
    for name in NAMES:
        assert len(ids[name]) == len(realm.portals[name].ground_truth()["users"])


def test_each_portal_equals_its_own_ground_truth_after_the_full_run(realm: Realm) -> None:
    assert realm.full_problems == {name: {} for name in NAMES}


def test_each_portal_equals_its_own_ground_truth_after_churn_and_an_incremental_run(realm: Realm) -> None:
    assert all(not o.failed for o in realm.incremental), [(o.portal, o.error) for o in realm.incremental]
    assert realm.churned, "churn should change something"
    assert realm.incremental_problems == {name: {} for name in NAMES}


def test_a_churn_in_one_portal_changes_no_row_of_the_others(realm: Realm) -> None:
    changed = [t for t in realm.others_before if realm.others_before[t] != realm.others_after[t]]
    assert not changed, f"tables whose rows of unchanged portals changed: {changed}"
    assert sum(len(rows) for rows in realm.others_after.values()) > 1000


def test_each_portal_records_its_runs_with_its_own_api_figures(realm: Realm) -> None:
    runs = query(realm.out, "select portal, status, api_calls, http_429 from learnupon.pipeline_runs order by started_at")
    assert sorted(r["portal"] for r in runs) == sorted(NAMES * 2)
    assert all(r["status"] == "succeeded" and r["api_calls"] > 0 for r in runs)
    for outcome in realm.incremental:  # each portal's own client: its calls are those its portal served
        assert outcome.summary is not None and outcome.summary.portal == outcome.portal
        assert outcome.summary.api["calls"] < realm.full[NAMES.index(outcome.portal)].summary.api["calls"]


def _portal_env(portals: dict[str, SimulatedPortal], wrong: str | None = None) -> dict[str, str]:
    env = {}
    for name, portal in portals.items():
        prefix = f"SOURCES__LEARNUPON__PORTALS__{name.upper()}__"
        env[prefix + "BASE_URL"] = portal.base_url
        env[prefix + "USERNAME"] = portal.config.username
        env[prefix + "PASSWORD"] = "not-the-key" if name == wrong else portal.config.password
    return env


def test_a_portal_with_refused_keys_fails_alone(portal_factory: Any, tmp_path: Path) -> None:
    portals = {name: portal_factory(users=15, seed=SEEDS[name]) for name in NAMES}
    out = tmp_path / "out"
    result = cli("run", "--out", str(out), "--resources", "users,courses", env=_portal_env(portals, wrong="east"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    failures = [line for line in result.stderr.splitlines() if line.startswith("lms-warehouse: portal")]
    assert len(failures) == 1 and failures[0].startswith("lms-warehouse: portal east failed and was not loaded:"), result.stderr
    assert "not-the-key" not in result.stderr + result.stdout
    for name in ("north", "south"):
        assert re.search(rf"portal {name}: run \w+ succeeded in .*API calls \(429s: 0", result.stdout), result.stdout
    loaded = query(out, "select portal, count(*) n from learnupon.users where _dlt_valid_to is null group by 1 order by 1")
    assert loaded == [{"portal": "north", "n": 15}, {"portal": "south", "n": 15}]
    runs = query(out, "select portal, status from learnupon.pipeline_runs order by portal")
    assert runs == [{"portal": "east", "status": "failed"}, {"portal": "north", "status": "succeeded"},
                    {"portal": "south", "status": "succeeded"}]
    # --portals chooses: the two good ones alone succeed
    again = cli("run", "--out", str(out), "--resources", "users", "--portals", "north,south",
                env=_portal_env(portals, wrong="east"), cwd=tmp_path)
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize(
    ("env", "args", "says"),
    [
        ({}, ("--portals", "west"), "--portals west: no such portal; configured: north"),
        ({"SOURCES__LEARNUPON__PORTALS__BAD.NAME__USERNAME": "u"}, (), "portal name 'bad.name'"),
        ({"SOURCES__LEARNUPON__PORTALS__SOUTH__SUBDOMAIN": "south"}, (), "portal south: username and password not set"),
        ({"SOURCES__LEARNUPON__PORTALS__NORTH__REGION": "eu"}, (), "no such portal key"),
        ({"LEARNUPON_SUBDOMAIN": "acme"}, (), "LEARNUPON_SUBDOMAIN set as well as [sources.learnupon.portals.<name>]"),
    ],
)
def test_a_portal_configuration_mistake_is_one_line_and_exit_2(tmp_path: Path, env: dict[str, str], args: tuple[str, ...], says: str) -> None:
    base = {
        "SOURCES__LEARNUPON__PORTALS__NORTH__SUBDOMAIN": "north",
        "SOURCES__LEARNUPON__PORTALS__NORTH__USERNAME": "u",
        "SOURCES__LEARNUPON__PORTALS__NORTH__PASSWORD": "secret-value",
    }
    result = cli("run", "--out", str(tmp_path / "out"), *args, env={**base, **env}, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert "secret-value" not in result.stderr
