"""The user sync against the simulated portal (real HTTP, real dlt, real DuckDB).

A roster exercising every case gives the exact expected plan; apply, extract again, plan again:
no writes left; an apply killed mid-way is resumed with no duplicate user and every action once in
sync.sync_actions; lost replies create nothing twice; the safety cap; users without an external id
are never touched; email conflicts under each policy; invitations recorded; the weekly reserve.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.run.runner import Warehouse
from pipelines.sync.mapping import Mapping
from pipelines.sync.plan import build_plan
from pipelines.sync.roster import read_roster
from pipelines.sync.run import run_sync
from pipelines.simulator.domains import invites as sim_invites

from tests.conftest import query, settings_for
from tests.support.events import held_answer, wait_until
from tests.support.sync_roster import (
    COLUMNS,
    ID_FIELD,
    by_external_id,
    client_for,
    new_hire,
    people,
    portal_env,
    portal_users,
    run_command,
    write_roster,
)

WRITE_ENDPOINTS = ("POST /users", "PUT /users/{id}", "DELETE /users/{id}", "POST /group_memberships",
                   "DELETE /group_memberships/{id}", "POST /portal_invite")


def sync(portal: Any, out: Path, roster: Path, mode: str = "plan", mapping: Mapping | None = None, **options: Any):
    settings = settings_for(portal, **options.pop("settings", {}))
    with settings.client() as client:
        return run_sync(mode, Warehouse(out_dir=out), read_roster(roster), mapping or Mapping(), client, **options)


def writes_made(portal: Any) -> int:
    return sum(portal.calls[e] for e in WRITE_ENDPOINTS)


def plan_rows(out: Path) -> list[dict[str, Any]]:
    return query(out, "select * from sync.sync_plan order by step, action_key")


def summary(rows: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """What each plan row says, minus its wording: (action, step, external id, user, group, changed fields)."""
    out = set()
    for row in rows:
        changes = json.loads(row["changes"]) if row["changes"] else {}
        out.add((row["action"], row["step"], row["external_id"], row["learnupon_user_id"], row["group_title"],
                 tuple(sorted((k, v["to"]) for k, v in changes.items()))))
    return out


def pick(rows: list[dict[str, Any]], taken: set[str], test: Any) -> dict[str, Any]:
    for row in rows:
        if row["employee_id"] not in taken and test(row):
            taken.add(row["employee_id"])
            return row
    raise AssertionError("the simulated portal has no user for this case")


class Scenario:
    """Every case on a 120-user portal; `expected` is the exact plan (see summary())."""

    def __init__(self, portal: Any, out: Path) -> None:
        self.portal, self.out = portal, out
        users = portal_users(portal)
        with client_for(portal) as client:
            rows = people(portal)
            taken: set[str] = set()
            # two LearnUpon users share an external id (X takes Y's): neither is touched
            self.dup_y = pick(rows, taken, lambda r: r["active"] == "true")
            self.dup_x = pick(rows, taken, lambda r: r["active"] == "true")
            client.send("PUT", f"/users/{self.dup_x['_user']['id']}",
                        {"User": {"email": self.dup_x["email"], "CustomData": {ID_FIELD: self.dup_y["employee_id"]}}})
            # a disabled managed user HR lists as active: enabled again
            self.revived = pick(rows, taken, lambda r: r["active"] == "true")
            client.send("PUT", f"/users/{self.revived['_user']['id']}", {"User": {"email": self.revived["email"], "enabled": False}})
        self.unmanaged = next(u for u in users.values() if not u["custom"].get(ID_FIELD))
        active = lambda r: r["active"] == "true"  # noqa: E731
        one_group = lambda r: active(r) and len(r["_user"]["groups"]) == 1  # noqa: E731
        self.renamed = pick(rows, taken, active)
        self.moved_dept = pick(rows, taken, lambda r: active(r) and r["department"] and r["job_title"])
        self.new_email = pick(rows, taken, active)
        self.inactive = pick(rows, taken, active)
        self.gone = pick(rows, taken, active)
        self.typo = pick(rows, taken, active)
        self.mover = pick(rows, taken, one_group)
        group_a = next(iter(self.mover["_user"]["groups"]))
        self.anchor = pick(rows, taken, lambda r: one_group(r) and r["_user"]["groups"] == {group_a})
        self.extra = pick(rows, taken, lambda r: one_group(r) and group_a not in r["_user"]["groups"])
        group_c = next(iter(self.extra["_user"]["groups"]))
        all_groups = {"Engineering", "Sales", "Support", "Finance", "Operations"}
        self.group_a, self.group_c = group_a, group_c
        self.group_b = sorted(all_groups - {group_a, group_c})[0]

        self.renamed["first_name"] = "Renamed"
        self.moved_dept["department"] = "Legal" if self.moved_dept["department"] != "Legal" else "Finance"
        self.moved_dept["job_title"] = "Director" if self.moved_dept["job_title"] != "Director" else "Analyst"
        self.new_email["email"] = "changed.address@example.org"
        self.inactive["active"] = "false"
        self.revived["active"] = "true"
        self.typo["email"] = "not an email"
        self.mover["location"] = self.group_b
        self.anchor["location"] = group_a
        self.extra["location"] = self.group_b
        self.hire_b = new_hire(1, location=self.group_b)
        self.hire_nowhere = new_hire(2, location="Atlantis")
        self.hire_leavers_email = new_hire(3, email=self.gone["email"])
        self.hire_taken_email = new_hire(4, email=self.unmanaged["email"])
        invalid = [
            new_hire(5, employee_id=""),
            new_hire(6, email="no-at-sign"),
            new_hire(7, employee_id="D0001"),
            new_hire(8, employee_id="D0001"),
            new_hire(9, active="maybe"),
            new_hire(10, job_title="Astronaut"),
        ]
        roster = [r for r in rows if r is not self.gone and r is not self.dup_x]
        roster += [self.hire_b, self.hire_nowhere, self.hire_leavers_email, self.hire_taken_email, *invalid]
        self.roster = write_roster(out / "roster.csv", roster)
        self.invalid_numbers = [len(roster) - len(invalid) + i for i in range(1, len(invalid) + 1)] + [roster.index(self.typo) + 1]

        def uid(row: dict[str, Any]) -> int:
            return row["_user"]["id"]

        placeholder = f"lu-{uid(self.gone)}-released@lms-warehouse.invalid"
        self.placeholder = placeholder
        self.expected = {
            ("update", 2, self.renamed["employee_id"], uid(self.renamed), None, (("first_name", "Renamed"),)),
            ("update", 2, self.moved_dept["employee_id"], uid(self.moved_dept), None,
             (("CustomData.department", self.moved_dept["department"]), ("CustomData.position", self.moved_dept["job_title"]))),
            ("update", 2, self.new_email["employee_id"], uid(self.new_email), None, (("email", "changed.address@example.org"),)),
            ("update", 2, self.revived["employee_id"], uid(self.revived), None, (("enabled", "true"),)),
            ("disable", 5, self.inactive["employee_id"], uid(self.inactive), None, (("enabled", "false"),)),
            ("disable", 5, self.gone["employee_id"], uid(self.gone), None, (("enabled", "false"),)),
            ("release_email", 1, self.gone["employee_id"], uid(self.gone), None, (("email", placeholder),)),
            ("create", 2, "N0001", None, None, ()),
            ("join_group", 4, "N0001", None, self.group_b, ()),
            ("create", 2, "N0002", None, None, ()),
            ("missing_group", 0, None, None, "Atlantis", ()),
            ("create", 3, "N0003", None, None, ()),
            ("join_group", 4, self.mover["employee_id"], uid(self.mover), self.group_b, ()),
            ("leave_group", 4, self.mover["employee_id"], uid(self.mover), group_a, ()),
            ("join_group", 4, self.extra["employee_id"], uid(self.extra), self.group_b, ()),
            ("email_conflict", 0, "N0004", None, None, ()),
            ("duplicate_external_id", 0, self.dup_y["employee_id"], uid(self.dup_x), None, ()),
            ("duplicate_external_id", 0, self.dup_y["employee_id"], uid(self.dup_y), None, ()),
            *{("invalid_row", 0, r.get("employee_id") or None, None, None, ()) for r in [*invalid, self.typo]},
        }


@pytest.fixture
def scenario(portal: Any, tmp_path: Path) -> Scenario:
    return Scenario(portal, tmp_path)


def test_a_roster_with_every_case_gives_the_exact_plan(scenario: Scenario) -> None:
    writes_before = writes_made(scenario.portal)
    outcome = sync(scenario.portal, scenario.out, scenario.roster, "plan")
    assert writes_made(scenario.portal) == writes_before  # a dry run writes nothing
    rows = plan_rows(scenario.out)
    assert summary(rows) == scenario.expected
    assert len(rows) == len(scenario.expected) + 1  # the two D0001 rows are two invalid_row entries
    by_key = {r["action_key"]: r for r in rows}
    reasons = {r["roster_row"]: r["reason"] for r in rows if r["action"] == "invalid_row"}
    assert sorted(reasons) == sorted(scenario.invalid_numbers)
    assert any("no external id" in r for r in reasons.values())
    assert any("not a valid address" in r for r in reasons.values())
    assert sum("external id D0001 is on 2 rows" in r for r in reasons.values()) == 2
    assert any("active must be true or false, not maybe" in r for r in reasons.values())
    assert any("Astronaut is not a valid value for LearnUpon field position" in r for r in reasons.values())
    conflict = by_key["email_conflict:N0004"]["reason"]
    assert f"belongs to LearnUpon user {scenario.unmanaged['id']}" in conflict and "no external id" in conflict
    assert "inactive in the roster" in by_key[f"disable:{scenario.inactive['employee_id']}"]["reason"]
    assert "not in the roster" in by_key[f"disable:{scenario.gone['employee_id']}"]["reason"]
    # a new user is created with the mapped fields and the external id, and no password anywhere in the plan
    created = {item["label"]: item["value"] for item in json.loads(by_key["create:N0001"]["custom_data"])}
    assert created == {"department": "Sales", "position": "Engineer", ID_FIELD: "N0001"}
    assert not any("password" in json.dumps(r, default=str).lower() for r in rows)
    # the plan's CSV and the printed counts
    assert outcome.csv_path == scenario.out / "sync_plan.csv"
    assert len(outcome.csv_path.read_text().strip().splitlines()) == len(rows) + 1
    assert outcome.plan.counts["create"] == 3 and outcome.plan.leavers == 2
    assert query(scenario.out, "select status, mode from sync.sync_runs") == [{"status": "planned", "mode": "plan"}]
    assert query(scenario.out, "select count(*) as n from sync.sync_actions") == [{"n": 0}]
    # the plan is the dbt model sync_plan: its data tests ran with it; its unit tests (the seed 001
    # rules, sql/models/sync/_sync_unit_tests.yml) pass on this warehouse, and the rebuilt plan is the same
    built = build_plan(Warehouse(out_dir=scenario.out), Mapping(), outcome.run_id, COLUMNS, unit_tests=True)
    assert {"sync_plan", "sync_roster", "sync_users"} <= set(built)
    outcomes = {t.name: t.status for t in built.tests}
    assert set(outcomes.values()) == {"pass"}, outcomes
    assert {"sync_matches_on_the_external_id_only_and_an_email_is_released_by_placeholder",
            "sync_reports_an_email_conflict_under_the_skip_policy", "unique_grain_sync_plan_action_key"} <= set(outcomes)
    assert plan_rows(scenario.out) == rows


def test_apply_then_extract_and_plan_again_leaves_nothing_to_do(scenario: Scenario) -> None:
    portal, out = scenario.portal, scenario.out
    unmanaged_before = portal_users(portal)[scenario.unmanaged["id"]]
    outcome = sync(portal, out, scenario.roster, "apply")
    assert outcome.status == "succeeded", outcome.applied
    journal = query(out, "select * from sync.sync_actions order by step, action_key")
    writes = [r for r in plan_rows(out) if r["is_write"]]
    assert sorted(r["action_key"] for r in journal) == sorted(r["action_key"] for r in writes)
    assert {r["status"] for r in journal} == {"succeeded"}
    assert all("password" not in json.dumps(r, default=str).lower() for r in journal)

    users = portal_users(portal)
    found = by_external_id(portal)
    hire = found["N0001"][0]
    assert (hire["email"], hire["first_name"], hire["last_name"]) == ("new.hire.1@example.org", "New", "Hire1")
    assert hire["custom"]["department"] == "Sales" and hire["custom"]["position"] == "Engineer"
    assert hire["groups"] == {scenario.group_b}
    assert portal.state.passwords[hire["id"]]["change_password_on_first_login"] is True
    assert len(portal.state.passwords[hire["id"]]["password"]) >= 6
    # process_enrollments (LearnUpon's default): the joiner is enrolled in the group's courses
    group_b_id = next(gid for gid, g in portal.state.groups.items() if g["title"] == scenario.group_b)
    courses = portal.state.courses
    required = {gc["source_id"] for gc in portal.state.group_courses.values()
                if gc["group_id"] == group_b_id and courses[gc["source_id"]].family.live_version(courses) is not None}
    enrolled = {portal.state.courses[portal.state.enrollments[e].course_id].family.source_id
                for e in portal.state.enr_by_user.get(hire["id"], [])}
    assert required and required <= enrolled
    gone = users[scenario.gone["_user"]["id"]]
    assert gone["email"] == scenario.placeholder and gone["enabled"] is False
    assert found["N0003"][0]["email"] == scenario.gone["email"]
    assert users[scenario.inactive["_user"]["id"]]["enabled"] is False
    assert users[scenario.revived["_user"]["id"]]["enabled"] is True
    assert users[scenario.mover["_user"]["id"]]["groups"] == {scenario.group_b}
    assert users[scenario.extra["_user"]["id"]]["groups"] == {scenario.group_b, scenario.group_c}
    assert users[scenario.renamed["_user"]["id"]]["first_name"] == "Renamed"
    assert users[scenario.new_email["_user"]["id"]]["email"] == "changed.address@example.org"
    assert users[scenario.typo["_user"]["id"]]["enabled"] is True  # an invalid row is never a leaver
    # never touched: the user without an external id, and both users sharing one
    assert users[scenario.unmanaged["id"]] == unmanaged_before
    assert "N0004" not in found
    assert {u["id"] for u in found[scenario.dup_y["employee_id"]]} == {scenario.dup_x["_user"]["id"], scenario.dup_y["_user"]["id"]}

    # extract again and plan again: only the problems the roster still has, no writes
    writes_before = writes_made(portal)
    again = sync(portal, out, scenario.roster, "apply")
    assert again.status == "succeeded" and again.plan.writes == []
    assert writes_made(portal) == writes_before
    assert set(again.plan.counts) == {"invalid_row", "email_conflict", "duplicate_external_id", "missing_group"}
    runs = query(out, "select mode, status from sync.sync_runs order by started_at")
    assert runs == [{"mode": "apply", "status": "succeeded"}] * 2


@pytest.mark.parametrize("policy", ["placeholder", "skip"])
def test_an_email_conflict_is_resolved_by_each_policy(portal: Any, tmp_path: Path, policy: str) -> None:
    rows = people(portal)
    leaver = next(r for r in rows if r["active"] == "true")
    rehire = new_hire(1, email=leaver["email"].upper())  # emails match in any case
    roster = write_roster(tmp_path / "roster.csv", [r for r in rows if r is not leaver] + [rehire])
    outcome = sync(portal, tmp_path, roster, "apply", Mapping(email_conflicts=policy))
    assert outcome.status == "succeeded"
    counts = outcome.plan.counts
    users = portal_users(portal)
    old = users[leaver["_user"]["id"]]
    assert old["enabled"] is False  # the leaver is disabled either way
    if policy == "placeholder":
        assert counts == {"release_email": 1, "create": 1, "disable": 1}
        assert old["email"] == f"lu-{old['id']}-released@lms-warehouse.invalid"
        assert by_external_id(portal)["N0001"][0]["email"].lower() == leaver["email"].lower()
        released = query(tmp_path, "select changes, status from sync.sync_actions where action = 'release_email'")
        assert released[0]["status"] == "succeeded"
        assert json.loads(released[0]["changes"])["email"] == {"from": leaver["email"], "to": old["email"]}
    else:
        assert counts == {"email_conflict": 1, "disable": 1}
        assert old["email"] == leaver["email"] and "N0001" not in by_external_id(portal)
        reason = query(tmp_path, "select reason from sync.sync_plan where action = 'email_conflict'")[0]["reason"]
        assert f"external id {leaver['employee_id']}" in reason and "skip" in reason


def test_a_killed_apply_is_resumed_without_duplicates(portal_factory: Any, tmp_path: Path) -> None:
    portal = portal_factory()
    hires = [new_hire(i) for i in range(1, 21)]
    roster = write_roster(tmp_path / "roster.csv", people(portal) + hires)
    command = [str(Path(sys.executable).parent / "lms-warehouse"), "sync", "apply", "--roster", str(roster), "--out", str(tmp_path)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEARNUPON_")}
    # the kill lands after the portal created the 5th user and before the apply heard so: mid-apply,
    # with one create in doubt, however fast or slow the machine
    with held_answer(portal, "POST /users", 5) as fifth_created:
        process = subprocess.Popen(command, env={**environment, **portal_env(portal)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_until(fifth_created.is_set, "the 5th user created", process)
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)  # the process we started, by its own id
            process.wait()
    created_before = portal.calls["POST /users"]
    assert created_before == 5
    interrupted = query(tmp_path, "select run_id, status from sync.sync_runs")
    assert [r["status"] for r in interrupted] == ["running"]

    outcome = sync(portal, tmp_path, roster, "apply")
    assert outcome.resumed and outcome.run_id == interrupted[0]["run_id"]
    assert outcome.status == "succeeded"
    found = by_external_id(portal)
    assert all(len(found[h["employee_id"]]) == 1 for h in hires), "a user was created twice"
    assert len(portal.state.users) == 120 + 20
    journal = query(tmp_path, "select action_key, status, attempts from sync.sync_actions where run_id = ?", [outcome.run_id])
    assert sorted(r["action_key"] for r in journal) == sorted(f"create:{h['employee_id']}" for h in hires)
    assert {r["status"] for r in journal} == {"succeeded"}
    assert portal.calls["POST /users"] == 20  # the resumed apply re-read the users first: nothing was sent twice
    assert query(tmp_path, "select status from sync.sync_runs") == [{"status": "succeeded"}]


def test_an_action_in_doubt_is_looked_at_before_it_is_sent_again(portal: Any, tmp_path: Path) -> None:
    import duckdb

    from pipelines.sync import journal

    roster = write_roster(tmp_path / "roster.csv", people(portal) + [new_hire(1)])
    planned = sync(portal, tmp_path, roster, "plan")
    assert planned.plan.counts == {"create": 1}
    # what an apply killed right after sending the create leaves: the user exists, the journal says started
    with client_for(portal) as client:
        made = client.send("POST", "/users", {"User": {"email": "new.hire.1@example.org", "password": "123456",
                                                        "CustomData": {ID_FIELD: "N0001"}}})["id"]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        journal.start_run(con, "killed000001", "apply", str(roster), resumed=False)
        journal.record_plan(con, "killed000001", planned.plan.writes)
        journal.mark(con, "killed000001", "create:N0001", "started")
    posts = portal.calls["POST /users"]
    # resumed against the warehouse as it was (it does not show the new user): look first, do not send again
    outcome = sync(portal, tmp_path, roster, "apply", extract=False)
    assert outcome.resumed and outcome.run_id == "killed000001" and outcome.status == "succeeded"
    assert portal.calls["POST /users"] == posts
    row = query(tmp_path, "select status, learnupon_user_id, detail, attempts from sync.sync_actions")[0]
    assert row == {"status": "succeeded", "learnupon_user_id": made, "attempts": 2,
                   "detail": "in doubt when the apply stopped; found applied"}
    assert len(by_external_id(portal)["N0001"]) == 1


def test_lost_replies_never_create_a_user_twice(portal: Any, tmp_path: Path) -> None:
    rows = people(portal)
    hires = [new_hire(i, location="Sales") for i in range(1, 9)]
    roster = write_roster(tmp_path / "roster.csv", rows + hires)
    assert sync(portal, tmp_path, roster, "plan").plan.counts == {"create": 8, "join_group": 8}
    # the apply's calls go one after another, so the seeded faults fall on the same calls every time
    portal.set_faults(0.4, ("lost", "truncated", "500", "drop"))
    outcome = sync(portal, tmp_path, roster, "apply", extract=False)
    portal.set_faults(0.0)
    assert portal.faults.injected["lost"] + portal.faults.injected["truncated"] > 0
    assert outcome.status == "succeeded", outcome.applied
    found = by_external_id(portal)
    assert all(len(found[h["employee_id"]]) == 1 and found[h["employee_id"]][0]["groups"] == {"Sales"} for h in hires)
    assert portal.calls["POST /users"] == 8  # each user created once...
    assert outcome.api["endpoints"]["POST /users"]["calls"] > 8  # ...though some were sent again after a look
    details = [r["detail"] for r in query(tmp_path, "select detail from sync.sync_actions where detail is not null")]
    assert any("reply lost; the user was found" in d for d in details)  # a create applied, its reply lost
    assert any(d == "reply lost; found applied" for d in details)  # a membership likewise
    again = sync(portal, tmp_path, roster, "plan")
    assert again.plan.writes == []


def test_the_safety_cap_refuses_without_force(portal: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    rows = people(portal)
    roster = write_roster(tmp_path / "roster.csv", rows[10:])  # ten managed users gone: over 5% of 120
    code, out, err = run_command(monkeypatch, capsys, "sync", "apply", "--roster", str(roster), "--out", str(tmp_path),
                                 env=portal_env(portal))
    assert code == 1, err[-2000:]
    assert "Refused" in out and "over the cap of 5%" in out
    assert writes_made(portal) == 0
    assert query(tmp_path, "select status from sync.sync_runs") == [{"status": "refused"}]
    assert query(tmp_path, "select count(*) as n from sync.sync_actions") == [{"n": 0}]

    # after checking, --force; the delete policy deletes every leaver: gone from the roster, or inactive in it
    code, out, err = run_command(monkeypatch, capsys, "sync", "apply", "--roster", str(roster), "--out", str(tmp_path),
                                 "--force", "--no-extract", "--leavers", "delete", env=portal_env(portal))
    assert code == 0, out + err[-2000:]
    leavers = {r["_user"]["id"] for r in rows[:10]} | {r["_user"]["id"] for r in rows[10:] if r["active"] == "false"}
    assert portal.calls["DELETE /users/{id}"] == len(leavers) == writes_made(portal)
    assert not leavers & set(portal.state.users) and len(portal.state.users) == 120 - len(leavers)
    journal = query(tmp_path, "select status, count(*) as n from sync.sync_actions group by 1")
    assert journal == [{"status": "succeeded", "n": len(leavers)}]


def test_invitations_are_recorded_and_never_sent_twice(portal: Any, tmp_path: Path) -> None:
    rows = people(portal)
    hires = [new_hire(1, location="Sales"), new_hire(2)]
    roster = write_roster(tmp_path / "roster.csv", rows + hires)
    mapping = Mapping(new_users="invite")
    first = sync(portal, tmp_path, roster, "apply", mapping)
    assert first.plan.counts == {"invite": 2}
    invites = portal.state.invites
    assert sorted(i["invite_email_address"] for i in invites.values()) == ["new.hire.1@example.org", "new.hire.2@example.org"]
    details = query(tmp_path, "select detail from sync.sync_actions where action = 'invite'")
    assert all(d["detail"].startswith("invite ") for d in details)

    pending = sync(portal, tmp_path, roster, "apply", mapping, extract=False)
    assert pending.plan.counts == {"invite_pending": 2} and len(invites) == 2

    with portal.lock:
        sim_invites.accept_invites(portal.api)
    accepted = sync(portal, tmp_path, roster, "apply", mapping)
    assert accepted.plan.counts == {"join_group": 1}  # matched by the external id the invitation carried
    assert by_external_id(portal)["N0001"][0]["groups"] == {"Sales"}


def test_the_weekly_reserve_stops_an_apply_and_the_next_one_finishes_it(portal_factory: Any, tmp_path: Path) -> None:
    portal = portal_factory(rate_per_week=1000)
    hires = [new_hire(i) for i in range(1, 17)]
    rows = people(portal)  # reads the portal through the API too: the reserve is set from what is left
    roster = write_roster(tmp_path / "roster.csv", rows + hires)
    left = portal.limiter.peek()[1]
    stopped = sync(portal, tmp_path, roster, "apply", settings={"weekly_reserve": left - 24})
    assert stopped.status == "stopped" and "reserve" in (stopped.applied.stopped or "")
    done_first = len(by_external_id(portal).keys() & {h["employee_id"] for h in hires})
    assert 0 < done_first < 16
    assert query(tmp_path, "select status from sync.sync_runs") == [{"status": "stopped"}]

    portal.set_rate_limits(rate_per_week=None)
    # a stopped apply is finished by the next one, under the same run; what it did is not repeated
    finished = sync(portal, tmp_path, roster, "apply")
    assert finished.status == "succeeded" and finished.resumed and finished.run_id == stopped.run_id
    assert finished.plan.counts == {"create": 16 - done_first}
    assert all(len(v) == 1 for v in by_external_id(portal).values())
    journal = query(tmp_path, "select status, count(*) as n from sync.sync_actions group by status")
    assert journal == [{"status": "succeeded", "n": 16}]
    assert query(tmp_path, "select status from sync.sync_runs") == [{"status": "succeeded"}]


def test_parquet_and_sql_rosters_plan_like_the_csv(portal: Any, tmp_path: Path) -> None:
    import duckdb

    rows = people(portal)
    rows[0]["department"] = "Legal"
    csv_path = write_roster(tmp_path / "roster.csv", rows + [new_hire(1)])
    from_csv = sync(portal, tmp_path, csv_path, "plan")
    parquet_path = tmp_path / "roster.parquet"
    with duckdb.connect() as con:
        con.execute(f"copy (select * from read_csv('{csv_path}', all_varchar = true)) to '{parquet_path}' (format parquet)")
        con.execute(f"attach '{tmp_path / 'warehouse.duckdb'}' as w")
        con.execute(f"create table w.main.hr_export as select * from read_csv('{csv_path}', all_varchar = true)")
    with settings_for(portal).client() as client:
        from_parquet = run_sync("plan", Warehouse(out_dir=tmp_path), read_roster(parquet_path), Mapping(), client, extract=False)
    from_sql = run_sync("plan", Warehouse(out_dir=tmp_path),
                        read_roster(query="select * from main.hr_export", warehouse_path=tmp_path / "warehouse.duckdb"),
                        Mapping(), None, extract=False)
    assert from_csv.plan.counts == {"create": 1, "update": 1}
    strip = lambda plan: [{k: v for k, v in r.items()} for r in plan.rows]  # noqa: E731
    assert strip(from_parquet.plan) == strip(from_csv.plan) == strip(from_sql.plan)
    loads = query(tmp_path, "select run_id, source, rows from hr.roster_loads order by loaded_at")
    assert [r["rows"] for r in loads] == [len(rows) + 1] * 3
    assert loads[2]["source"] == "sql: select * from main.hr_export"


def test_custom_data_by_definition_id_and_a_mapping_file(portal: Any, tmp_path: Path) -> None:
    rows = [r for r in people(portal) if r["active"] == "true"]  # no active column: HR lists who works there
    target = rows[0]
    roster_rows = [{"Staff Number": r["employee_id"], "Mail": r["email"], "Dept": r["department"]} for r in rows]
    next(r for r in roster_rows if r["Staff Number"] == target["employee_id"])["Dept"] = "Legal"
    mapping_file = tmp_path / "mapping.toml"
    mapping_file.write_text(
        'external_id_field = "Employee ID"\n'
        '[roster]\nexternal_id = "Staff Number"\nemail = "Mail"\n'
        '[fields]\nDept = "Department"\n'
        '[policy]\ncustom_data_keys = "definition_id"\n'
    )
    roster = write_roster(tmp_path / "roster.csv", roster_rows, ["Staff Number", "Mail", "Dept"])
    from pipelines.sync.mapping import load_mapping

    mapping = load_mapping(mapping_file)
    outcome = sync(portal, tmp_path, roster, "apply", mapping)
    assert outcome.plan.counts == {"update": 1}, outcome.plan.counts
    assert portal_users(portal)[target["_user"]["id"]]["custom"]["department"] == "Legal"
    # the payload keyed CustomData by definition id, as "use_definition_ids" asks
    from pipelines.sync.apply import Executor

    payload = Executor(None, None, outcome.run_id, mapping).user_update(outcome.plan.writes[0])  # type: ignore[arg-type]
    assert payload == {"User": {"email": target["email"], "CustomData": {"use_definition_ids": 1, "231": "Legal"}}}


def test_a_username_portal_creates_users_by_username(portal: Any, tmp_path: Path) -> None:
    """identify_by = "username": new users are created with a username (and no email when the roster has
    none), matching stays on the external id, and a username another user holds is reported."""
    holder = next(u for u in portal_users(portal).values() if not u["custom"].get(ID_FIELD))
    if not holder.get("username"):
        with client_for(portal) as client:
            client.send("PUT", f"/users/{holder['id']}", {"User": {"email": holder["email"], "username": "taken.name"}})
    unmanaged = portal_users(portal)[holder["id"]]
    rows = people(portal)
    for row in rows:  # every person needs a username on such a portal; those without one get it from the sync
        row["username"] = row["_user"].get("username") or f"user.{row['employee_id'].lower()}"
    needs_username = {r["employee_id"] for r in rows if not r["_user"].get("username") and r["active"] == "true"}
    hires = [
        new_hire(1, email="", username="hire.one"),  # no email at all
        new_hire(2, username="hire.two", location="Sales"),
        new_hire(3, email="", username=unmanaged["username"].upper()),  # usernames compare in any case
        new_hire(4, email="", username=""),
        new_hire(5, email="", username="no spaces allowed"),
    ]
    columns = ["employee_id", "username", "email", "first_name", "last_name", "department", "job_title", "location", "active"]
    roster = write_roster(tmp_path / "roster.csv", rows + hires, columns)
    mapping = Mapping(identify_by="username")

    outcome = sync(portal, tmp_path, roster, "apply", mapping)
    assert outcome.status == "succeeded", outcome.applied
    assert outcome.plan.counts == {"create": 2, "update": len(needs_username), "join_group": 1,
                                   "username_conflict": 1, "invalid_row": 2}
    by_key = {r["action_key"]: r for r in outcome.plan.rows}
    assert f"username {unmanaged['username'].upper()} belongs to LearnUpon user {unmanaged['id']}" in by_key["username_conflict:N0003"]["reason"]
    reasons = sorted(r["reason"] for r in outcome.plan.rows if r["action"] == "invalid_row")
    assert reasons == ["no username (username)", "username no spaces allowed is not a valid username"]
    assert all(set(json.loads(r["changes"])) == {"username"} for r in outcome.plan.rows if r["action"] == "update")

    found = by_external_id(portal)
    one, two = found["N0001"][0], found["N0002"][0]
    assert (one["username"], one["email"]) == ("hire.one", "")  # created with the username only
    assert (two["username"], two["email"], two["groups"]) == ("hire.two", "new.hire.2@example.org", {"Sales"})
    assert portal.state.passwords[one["id"]]["change_password_on_first_login"] is True
    assert all(u["username"] == f"user.{e.lower()}" for e in needs_username for u in found[e])
    assert "N0003" not in found and portal_users(portal)[unmanaged["id"]] == unmanaged  # the holder is never touched

    again = sync(portal, tmp_path, roster, "plan", mapping)
    assert again.plan.writes == []
    assert set(again.plan.counts) == {"username_conflict", "invalid_row"}


def test_a_username_portal_still_needs_the_email_to_invite(portal: Any, tmp_path: Path) -> None:
    rows = [{**r, "username": r["_user"].get("username") or f"user.{r['employee_id'].lower()}"} for r in people(portal)]
    roster = write_roster(tmp_path / "roster.csv", rows + [new_hire(1, username="hire.one"), new_hire(2, email="", username="hire.two")],
                          ["employee_id", "username", "email", "first_name", "last_name", "active"])
    outcome = sync(portal, tmp_path, roster, "plan", Mapping(identify_by="username", new_users="invite"))
    invites = [r for r in outcome.plan.rows if r["action"] == "invite"]
    assert [(r["external_id"], r["username"], r["email"]) for r in invites] == [("N0001", "hire.one", "new.hire.1@example.org")]
    invalid = [r for r in outcome.plan.rows if r["action"] == "invalid_row"]
    assert [(r["external_id"], r["reason"]) for r in invalid] == [
        ("N0002", "no email (new_users = invite sends invitations by email)")]


def test_managers_are_checked_and_can_go_to_a_custom_field(portal: Any, tmp_path: Path) -> None:
    """manager_employee_id: a manager no roster row has is reported (the row still applies); mapped to a
    custom user field under [fields], LearnUpon keeps it."""
    with portal.lock:  # the portal's admin adds the field (LearnUpon's API has no endpoint for that)
        portal.state.custom_fields.append({"id": 2199, "type_id": 1, "label": "manager id", "predefined_values": None})
        portal.api.invalidate()
    rows = [r for r in people(portal) if r["active"] == "true"]
    boss, report, stray = rows[0], rows[1], rows[2]
    report["manager_employee_id"] = boss["employee_id"]
    stray["manager_employee_id"] = "E404"
    stray["department"] = "Legal" if stray["department"] != "Legal" else "Finance"
    roster = write_roster(tmp_path / "roster.csv", rows)

    plain = sync(portal, tmp_path, roster, "plan")
    unknown = [r for r in plain.plan.rows if r["action"] == "unknown_manager"]
    assert [(r["external_id"], r["reason"]) for r in unknown] == [(stray["employee_id"], "manager E404 is not on the roster")]
    assert f"update:{stray['employee_id']}" in {r["action_key"] for r in plain.plan.writes}  # the row itself applies

    mapping = Mapping(fields={**Mapping().fields, "manager_employee_id": "manager id"})
    outcome = sync(portal, tmp_path, roster, "apply", mapping)
    assert outcome.status == "succeeded", outcome.applied
    users = portal_users(portal)
    assert users[report["_user"]["id"]]["custom"]["manager id"] == boss["employee_id"]
    assert users[stray["_user"]["id"]]["custom"]["manager id"] == "E404"
    assert "manager id" not in users[boss["_user"]["id"]]["custom"]
    again = sync(portal, tmp_path, roster, "plan", mapping)
    assert again.plan.writes == [] and set(again.plan.counts) == {"unknown_manager"}


def test_a_portal_that_never_filled_groups_or_custom_data_still_gets_a_plan(portal: Any, tmp_path: Path) -> None:
    """Those raw tables are read only if present (meta.optional_sources): the plan is built without them."""
    import duckdb

    roster = write_roster(tmp_path / "roster.csv", [new_hire(1, location="Sales")])
    sync(portal, tmp_path, roster, "plan")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        for table in ("groups", "group_memberships", "user_custom_data"):
            con.execute(f"drop table learnupon.{table}")
    outcome = sync(portal, tmp_path, roster, "plan", extract=False)
    # nobody carries an external id any more, so nobody is managed: no leavers; Sales is no group
    assert outcome.plan.counts == {"create": 1, "missing_group": 1}
    assert (outcome.plan.users, outcome.plan.managed_users) == (120, 0)
