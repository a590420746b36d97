"""`lms-warehouse sync` as a user runs it: the documented mapping is the default, bad input is one
line and exit 2, the README's worked example gives what the docs say, and neither the API keys nor
a generated password ever reach the output, the logs, dlt's files, the CSV or the warehouse."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from pipelines.learnupon.errors import ConfigError
from pipelines.sync.mapping import Mapping, load_mapping, mapping_from_dict

from tests.conftest import cli, query
from tests.support.sync_roster import new_hire, people, portal_env, run_command, write_roster

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "docs" / "examples"
SECRET = "pw-Zq8u-very-secret-7731"


def test_the_documented_mapping_is_the_default() -> None:
    documented = load_mapping(EXAMPLES / "sync-mapping.toml")
    for field in fields(Mapping):
        if field.name not in ("source", "explicit"):
            assert getattr(documented, field.name) == getattr(Mapping(), field.name), field.name


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"policy": {"leavers": "archive"}}, "leavers must be one of disable, delete"),
        ({"policy": {"placeholder_domain": "example.com"}}, "reserved .invalid domain"),
        ({"safety": {"max_leaver_share": 5}}, "max_leaver_share must be between 0 and 1"),
        ({"policy": {"invite_expiry_days": "soon"}}, "invite_expiry_days must be a int"),
        ({"fields": {"dept": 3}}, "fields.dept must be a str"),
        ({"groups": [{"colum": "location"}]}, "needs a column"),
        ({"roster": {"employee": "id"}}, "unknown key roster.employee"),
        ({"polcy": {}}, "unknown key polcy"),
    ],
)
def test_a_bad_mapping_names_the_key(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        mapping_from_dict(data, "mapping.toml")


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    roster = write_roster(tmp_path / "roster.csv", [new_hire(1)])
    empty = write_roster(tmp_path / "empty.csv", [])
    no_ids = write_roster(tmp_path / "no_ids.csv", [new_hire(1)], ["email", "first_name"])
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[policy\nleavers = 'x'")
    wrong_policy = tmp_path / "policy.toml"
    wrong_policy.write_text('[policy]\nemail_conflicts = "ignore"\n')
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('[fields]\ncost_centre = "cost centre"\n')
    cases = [
        (["--roster", str(tmp_path / "missing.csv")], "does not exist"),
        (["--roster", str(empty)], "has no rows: nothing was planned"),
        (["--roster", str(tmp_path / "bad.toml")], "must be .csv or .parquet"),
        (["--roster", str(no_ids)], "no employee_id column"),
        (["--roster", str(roster), "--mapping", str(bad_toml)], "is not valid TOML"),
        (["--roster", str(roster), "--mapping", str(wrong_policy)], "email_conflicts must be one of"),
        (["--roster", str(roster), "--mapping", str(explicit)], "no cost_centre column"),
        (["--roster", str(roster), "--leavers", "archive"], "invalid choice"),
        (["--roster", str(roster), "--roster-sql", "select 1"], "not allowed with argument"),
        ([], "one of the arguments --roster --roster-sql is required"),
    ]
    for args, fragment in cases:
        code, out, err = run_command(monkeypatch, capsys, "sync", "plan", "--no-extract", "--out", str(tmp_path / "out"), *args)
        lines = err.strip().splitlines()
        assert code == 2, (args, out, err)
        assert len(lines) == 1 and fragment in lines[0], (args, err)
        assert "Traceback" not in err + out
    # the installed command: apply needs the portal's keys, the usual one line
    result = cli("sync", "apply", "--roster", str(roster), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "LEARNUPON_SUBDOMAIN" in result.stderr


def test_the_worked_example_does_what_the_docs_say(portal_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: Any) -> None:
    """docs/user-sync.md: `lms-warehouse simulate --users 40 --seed 7` and docs/examples/roster.csv."""
    portal = portal_factory(users=40, seed=7, page_size=500, clock=None)
    env = portal_env(portal)
    roster = str(EXAMPLES / "roster.csv")

    def sync(mode: str) -> str:
        code, out, err = run_command(monkeypatch, capsys, "sync", mode, "--roster", roster, "--out", str(tmp_path), env=env)
        assert code == 0, err[-2000:]
        return out

    applied = sync("apply")  # prints the plan, as `sync plan` does, then what was applied
    counts = {row["action"]: row["n"] for row in query(tmp_path, "select action, count(*) as n from sync.sync_plan group by 1")}
    assert counts == {"release_email": 1, "create": 3, "update": 5, "join_group": 2, "leave_group": 2, "disable": 2,
                      "invalid_row": 5, "email_conflict": 1, "missing_group": 1}
    docs = (REPO / "docs" / "user-sync.md").read_text()
    shown = [line for line in applied.splitlines() if line.startswith("  ")]
    assert len(shown) == 9 + 18  # a line per action and up to three examples, each as the docs show it
    for line in shown:
        assert line in docs, line
    assert "Applied: 15 succeeded" in applied
    assert "Nothing to write" in sync("plan")
    assert (tmp_path / "sync_plan.csv").read_text().count("\n") == 1 + 5 + 1 + 1  # header and the reports left


def test_keys_and_generated_passwords_never_leak(portal_factory: Any, tmp_path: Path) -> None:
    portal = portal_factory(users=30, password=SECRET)
    rows = people(portal)
    roster = write_roster(tmp_path / "roster.csv", rows + [new_hire(i, location="Sales") for i in range(1, 4)])
    out = tmp_path / "out"
    results = [cli("-v", "sync", "apply", "--roster", str(roster), "--out", str(out), env=portal_env(portal, SECRET))]
    assert results[0].returncode == 0, results[0].stderr[-2000:]
    passwords = [s["password"] for s in portal.state.passwords.values()]
    assert len(passwords) == 3 and all(len(p) >= 20 for p in passwords)
    assert all(s["change_password_on_first_login"] for s in portal.state.passwords.values())
    secrets = [SECRET, *passwords]
    printed = "".join(r.stdout + r.stderr for r in results)
    assert "sync" in printed and not any(s in printed for s in secrets)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "warehouse.duckdb" for p in files) and any(".dlt" in p.parts for p in files)
    assert any(p.name == "sync_plan.csv" for p in files)
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"a secret in {path}"
    for table in ("sync_actions", "sync_runs", "sync_plan"):
        assert not any(s in repr(query(out, f"select * from sync.{table}")) for s in secrets)
