"""The user sync's validation as docs/user-sync.md promises it, on every documented reading of the portal's users:
custom data by definition id, by label or both, and choice fields' predefined_values as a JSON list or as
comma-separated text (the reference types it "string"). Driven through the command's own entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import modes_once, query
from tests.support.sync_roster import COLUMNS, new_hire, people, portal_env, run_command, write_roster

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "roster.csv"

# (custom_data_shapes, predefined_values): the portal readings the sync must plan against; the default suite
# plans each shape and each form of the choices once, the slow suite every pair
READINGS = [("both", "list"), ("values", "text"), ("labels", "text"), pytest.param("both", "text", marks=pytest.mark.slow)]


def plan(monkeypatch: pytest.MonkeyPatch, capsys: Any, portal: Any, out: Path, roster: Path, *args: str) -> tuple[int, str, str]:
    return run_command(monkeypatch, capsys, "sync", "plan", "--roster", str(roster), "--out", str(out), *args,
                       env=portal_env(portal))


def actions(out: Path) -> dict[str, int]:
    return {r["action"]: r["n"] for r in query(out, "select action, count(*) as n from sync.sync_plan group by 1")}


@pytest.mark.parametrize(("shapes", "choices"), READINGS)
def test_the_example_roster_plans_as_documented_on_every_reading(
    portal_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, shapes: str, choices: str
) -> None:
    """docs/examples/roster.csv on the portal it was written for (40 users, seed 7), whatever shapes it serves."""
    portal = portal_factory(users=40, seed=7, page_size=500, clock=None, custom_data_shapes=shapes, predefined_values=choices)
    code, out, err = plan(monkeypatch, capsys, portal, tmp_path, EXAMPLE)
    assert code == 0, err[-2000:]
    assert actions(tmp_path) == {"release_email": 1, "create": 3, "update": 5, "join_group": 2, "leave_group": 2,
                                 "disable": 2, "invalid_row": 5, "email_conflict": 1, "missing_group": 1}
    reasons = {r["reason"] for r in query(tmp_path, "select reason from sync.sync_plan where action = 'invalid_row'")}
    # the choice field's values are read from either shape of predefined_values and named in the reason
    assert "job_title Astronaut is not a valid value for LearnUpon field position (one of Account Manager, Engineer," \
           " Analyst, Team Lead, Director, Associate, Specialist, Coordinator, Technician, Consultant)" in reasons
    assert {"no external id (employee_id)", "email ada.lovelace(at)example.org is not a valid address",
            "external id E900007 is on 2 rows"} <= reasons
    # the plan's own grain: one row per action key, and one current custom value per user and field under it
    assert query(tmp_path, "select action_key from sync.sync_plan group by 1 having count(*) > 1") == []
    assert query(tmp_path, "select user_id, field_key from sync.sync_user_values group by all having count(*) > 1") == []


@pytest.mark.parametrize("portal_factory", modes_once(), indirect=True)
def test_invalid_rows_are_reported_and_never_applied(portal_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: Any) -> None:
    portal = portal_factory(users=40)
    rows = people(portal)
    kept, twice, bad_email, bad_choice, bad_number, bad_active = rows[:-5], *rows[-5:]
    roster = kept + [
        twice, {**twice, "email": "someone.else@example.org"},  # one employee id on two rows
        {**bad_email, "email": bad_email["email"].replace("@", " at ")},
        {**bad_choice, "job_title": "Astronaut"},
        {**bad_number, "employee_id": ""},  # no external id: the person it was is not a leaver either
        {**bad_active, "active": "maybe"},
        new_hire(1), {**new_hire(2), "email": new_hire(1)["email"]},  # one email on two rows
    ]
    path = write_roster(tmp_path / "roster.csv", roster)
    code, out, err = plan(monkeypatch, capsys, portal, tmp_path / "out", path)
    assert code == 0, err[-2000:]
    plan_rows = query(tmp_path / "out", "select action, external_id, reason, is_write from sync.sync_plan")
    invalid = {(r["external_id"], r["reason"]) for r in plan_rows if r["action"] == "invalid_row"}
    assert invalid == {
        (twice["employee_id"], f"external id {twice['employee_id']} is on 2 rows"),
        (bad_email["employee_id"], f"email {bad_email['email'].replace('@', ' at ')} is not a valid address"),
        (bad_choice["employee_id"], "job_title Astronaut is not a valid value for LearnUpon field position (one of Account"
                                    " Manager, Engineer, Analyst, Team Lead, Director, Associate, Specialist, Coordinator,"
                                    " Technician, Consultant)"),
        (None, "no external id (employee_id)"),
        (bad_active["employee_id"], "active must be true or false, not maybe"),
        ("N0001", f"email {new_hire(1)['email']} is on 2 rows"),
        ("N0002", f"email {new_hire(1)['email']} is on 2 rows"),
    }
    # nothing is written for an invalid row, and a person whose row HR got wrong is never a leaver
    wrong = {twice["employee_id"], bad_email["employee_id"], bad_choice["employee_id"], bad_active["employee_id"], "N0001", "N0002"}
    assert not any(r["is_write"] and r["external_id"] in wrong for r in plan_rows)
    leavers = {r["external_id"] for r in plan_rows if r["action"] in ("disable", "delete")}
    assert leavers == {bad_number["employee_id"]}, "only the person whose id is missing from every row leaves"
    shown = next(line.split() for line in out.splitlines() if line.strip().startswith("invalid_row"))
    assert shown[1] == "8", out  # a row each: the two rows of the doubled id are two


@pytest.mark.parametrize("portal_factory", modes_once(), indirect=True)
def test_missing_columns_stop_or_are_noted_as_documented(portal_factory: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    portal = portal_factory(users=40)
    rows = people(portal)
    # the identity columns are required: one line, exit 2, nothing planned
    for column in ("employee_id", "email"):
        path = write_roster(tmp_path / f"no_{column}.csv", rows, [c for c in COLUMNS if c != column])
        code, out, err = plan(monkeypatch, capsys, portal, tmp_path / f"out_{column}", path)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1, (column, err)
        assert f"the roster has no {column} column" in lines[0] and "Traceback" not in out + err
    # a column only the default mapping names may be missing: that part is skipped, with a note, and the rest is planned
    path = write_roster(tmp_path / "lean.csv", rows, ["employee_id", "email", "first_name", "last_name"])
    code, out, err = plan(monkeypatch, capsys, portal, tmp_path / "out_lean", path)
    assert code == 0, err[-2000:]
    for note in ("no active column: every row counts as active", "no manager_employee_id column: managers are not checked",
                 "no department column: the default mapping's use of it is skipped",
                 "no job_title column: the default mapping's use of it is skipped",
                 "no location column: the default mapping's use of it is skipped"):
        assert f"note: {note}" in out, (note, out)
    # the roster is in step with LearnUpon but for `active`: users disabled there are enabled again
    disabled = {r["employee_id"] for r in rows if r["active"] == "false"}
    planned = {(r["action"], r["external_id"]) for r in query(tmp_path / "out_lean", "select * from sync.sync_plan")}
    assert planned == {("update", e) for e in disabled}


@pytest.mark.parametrize("portal_factory", modes_once(), indirect=True)
def test_typed_and_choice_fields_refuse_what_learnupon_would(portal_factory: Any, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """Numbers, dates and the integer and decimal choice fields, whose choices come as a JSON list (default) or as
    comma-separated text (strict: "1, 2, 3, 4, 5"): a value LearnUpon would refuse makes its row invalid."""
    portal = portal_factory(users=40)
    rows = [r for r in people(portal) if r["active"] == "true"]  # no active column: the roster lists who works there
    columns = ["employee_id", "email", "age", "hired", "sector", "average_points"]
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[fields]\nage = "age"\nhired = "hire date"\nsector = "sector"\naverage_points = "average points"\n')
    current = {r["employee_id"]: r["_user"]["custom"] for r in rows}
    fine, old, unhired, off_scale, off_choice = rows[:5]
    cells = {
        # the values each field has now, written as HR would: accepted, nothing to change
        fine["employee_id"]: {"age": str(current[fine["employee_id"]].get("age", "")),
                              "sector": str(current[fine["employee_id"]].get("sector", "")),
                              "average_points": str(current[fine["employee_id"]].get("average points", ""))},
        old["employee_id"]: {"age": "old"},
        unhired["employee_id"]: {"hired": "2024-13-45"},
        off_scale["employee_id"]: {"sector": "7"},
        off_choice["employee_id"]: {"average_points": "12.5"},
    }
    roster = [{**r, **cells.get(r["employee_id"], {})} for r in rows]
    path = write_roster(tmp_path / "roster.csv", roster, columns)
    code, out, err = plan(monkeypatch, capsys, portal, tmp_path / "out", path, "--mapping", str(mapping))
    assert code == 0, err[-2000:]
    plan_rows = query(tmp_path / "out", "select action, external_id, reason from sync.sync_plan")
    assert {(r["external_id"], r["reason"]) for r in plan_rows if r["action"] == "invalid_row"} == {
        (old["employee_id"], "age old is not a valid value for LearnUpon field age"),
        (unhired["employee_id"], "hired 2024-13-45 is not a valid value for LearnUpon field hire date"),
        (off_scale["employee_id"], "sector 7 is not a valid value for LearnUpon field sector (one of 1, 2, 3, 4, 5)"),
        (off_choice["employee_id"], "average_points 12.5 is not a valid value for LearnUpon field average points"
                                    " (one of 8.0, 16.0, 32.0, 64.0)"),
    }
    assert not [r for r in plan_rows if r["action"] != "invalid_row"], "the other rows are in step with LearnUpon"
