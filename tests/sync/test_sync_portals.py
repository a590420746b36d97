"""The user sync in a warehouse of two portals whose user, group and field ids overlap: a roster is for
one portal, and its plan reads that portal's users, fields, custom data and groups only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.learnupon.context import ExtractContext
from pipelines.learnupon.errors import ConfigError
from pipelines.learnupon.settings import ExtractOptions
from pipelines.run.portals import pipeline_name, run_portals
from pipelines.run.runner import Warehouse
from pipelines.sync.mapping import Mapping
from pipelines.sync.roster import read_roster
from pipelines.sync.run import SYNC_RESOURCES, run_sync

from tests.conftest import query, settings_for
from tests.support.sync_roster import people, portal_users, write_roster


@pytest.fixture
def realm(portal_factory: Any, tmp_path: Path) -> tuple[dict[str, Any], Path]:
    portals = {"north": portal_factory(users=60, seed=11), "south": portal_factory(users=40, seed=12)}
    contexts = []
    for name, portal in portals.items():
        settings = settings_for(portal)
        contexts.append((ExtractContext(client_factory=settings.client, portal=name, options=ExtractOptions()), pipeline_name(name, single=False)))
    outcomes = run_portals(contexts, Warehouse(out_dir=tmp_path), list(SYNC_RESOURCES))
    assert not any(o.failed for o in outcomes), outcomes
    return portals, tmp_path


def test_a_roster_is_planned_against_its_portals_users_only(realm: tuple[dict[str, Any], Path]) -> None:
    portals, out = realm
    south = portals["south"]
    rows = people(south)
    gone = rows[0]
    roster = write_roster(out / "roster.csv", rows[1:])
    with settings_for(south).client() as client:
        outcome = run_sync("plan", Warehouse(out_dir=out), read_roster(roster), Mapping(), client,
                           portal="south", pipeline_name=pipeline_name("south", single=False))
    # south's users alone (north's share their ids), and the one south user the roster no longer lists leaves
    assert outcome.plan.users == len(portal_users(south)) < len(portal_users(portals["north"]))
    plan = query(out, "select action, external_id, learnupon_user_id from sync.sync_plan where is_write")
    assert plan == [{"action": "disable", "external_id": gone["employee_id"], "learnupon_user_id": gone["_user"]["id"]}]
    # the sync's load was south's: north's rows are as its own run left them
    assert query(out, "select portal, count(*) as n from learnupon.users where _dlt_valid_to is null group by 1 order by 1") == [
        {"portal": "north", "n": len(portal_users(portals["north"]))}, {"portal": "south", "n": len(portal_users(south))},
    ]


def test_a_warehouse_of_several_portals_needs_the_rosters_portal(realm: tuple[dict[str, Any], Path]) -> None:
    portals, out = realm
    roster = write_roster(out / "roster.csv", people(portals["north"]))
    with pytest.raises(ConfigError, match=r"several portals \(north, south\): name the roster's with --portal"):
        run_sync("plan", Warehouse(out_dir=out), read_roster(roster), Mapping(), None, extract=False)
    with pytest.raises(ConfigError, match=r"no users of portal 'east' \(its portals: north, south\)"):
        run_sync("plan", Warehouse(out_dir=out), read_roster(roster), Mapping(), None, extract=False, portal="east")


def test_an_interrupted_apply_is_resumed_by_its_own_portals_apply_only(realm: tuple[dict[str, Any], Path]) -> None:
    """An apply of north left unfinished (killed: still `running`) is not resumed by an apply of south, whose user
    ids and action keys overlap north's; the next apply of north resumes it."""
    from pipelines.sync import journal
    from pipelines.sync.run import begin, connect

    portals, out = realm
    warehouse = Warehouse(out_dir=out)
    with connect(warehouse) as con:
        journal.ensure_tables(con)
        journal.start_run(con, "north-apply", "apply", "north.csv", resumed=False, portal="north")

    roster = write_roster(out / "roster.csv", people(portals["south"]))
    with settings_for(portals["south"]).client() as client:
        outcome = run_sync("apply", warehouse, read_roster(roster), Mapping(), client,
                           portal="south", pipeline_name=pipeline_name("south", single=False))
    assert outcome.status == "succeeded" and not outcome.resumed and outcome.run_id != "north-apply"
    runs = query(out, "select run_id, portal, status from sync.sync_runs where mode = 'apply' order by portal")
    assert runs == [{"run_id": "north-apply", "portal": "north", "status": "running"},
                    {"run_id": outcome.run_id, "portal": "south", "status": "succeeded"}]
    assert begin(warehouse, "apply", "north.csv", portal="north") == ("north-apply", True)
