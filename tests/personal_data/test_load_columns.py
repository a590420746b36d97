"""Columns never stored: LMS_BLOCK_COLUMNS drops a column's values before anything sees them (raw table,
history, dlt's load packages, data_issues), LMS_HASH_COLUMNS stores keyed pseudonyms in their place.
docs/personal-data.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.learnupon.tables import PERSONAL_DATA
from pipelines.privacy.pseudonyms import pseudonym

from tests.conftest import cli, query, run_pipeline

KEY = "a-test-key-for-hashed-columns-42"
# every column that holds an email, from the registry (the modules' and instructors' untyped fields included);
# a leaderboard's login is the email on a portal that identifies users by email
EMAIL_COLUMNS = sorted(f"{t}.{c}" for t, columns in PERSONAL_DATA.items() for c in columns if c.endswith("email"))
EMAIL_COLUMNS.append("leaderboard_snapshots.login")


def _emails(portal: Any) -> set[str]:
    return {u.email for u in portal.state.users.values() if u.email}


def _files_holding(folder: Path, values: set[str]) -> dict[str, int]:
    """Every file under `folder` (the warehouse, the readers' snapshot, dlt's load packages and state): how many
    of `values` it holds as bytes."""
    found = {}
    needles = [v.encode() for v in values] + [v.lower().encode() for v in values]
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits = sum(n in data for n in needles)
            if hits:
                found[str(path.relative_to(folder))] = hits
    return found


def _load_twice(portal: Any, out: Path) -> None:
    """A first load, then changes on the portal (new versions of users) and an incremental one."""
    assert run_pipeline(portal, out).status == "succeeded"
    changes = portal.churn(days=1, share=0.2)
    assert changes
    assert run_pipeline(portal, out).status == "succeeded"


def test_blocked_columns_are_never_stored(portal_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    portal = portal_factory(users=30)
    assert {"users.email", "enrollments.email", "audit_trails.impacted_user_email", "modules.creator_email"} <= set(EMAIL_COLUMNS)
    # the byte search finds emails where they are stored
    assert run_pipeline(portal, tmp_path / "plain").status == "succeeded"
    assert "warehouse.duckdb" in _files_holding(tmp_path / "plain", _emails(portal))

    monkeypatch.setenv("LMS_BLOCK_COLUMNS", ",".join(EMAIL_COLUMNS))
    out = tmp_path / "blocked"
    _load_twice(portal, out)
    assert _files_holding(out, _emails(portal)) == {}
    # a blocked column of the spec stays, always NULL, in current rows and history alike (the models still build)
    versions = query(out, "select count(*) as n, count(email) as emails, count(_dlt_valid_to) as retired from learnupon.users")[0]
    assert versions["n"] > 30 and versions["retired"] > 0 and versions["emails"] == 0
    assert query(out, "select count(email) as n from learnupon.enrollments")[0]["n"] == 0
    # an untyped field blocked is not created at all
    columns = {r["column_name"] for r in query(out, "select column_name from information_schema.columns where table_name = 'modules'")}
    assert "creator_email" not in columns and "creator_first_name" in columns
    # what does not hold personal data is loaded as before
    assert query(out, "select count(*) as n from learnupon.users where first_name is not null")[0]["n"] > 30


def test_hashed_columns_hold_keyed_pseudonyms(portal_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    portal = portal_factory(users=30)
    monkeypatch.setenv("LMS_HASH_COLUMNS", ",".join(EMAIL_COLUMNS))
    monkeypatch.setenv("LMS_PSEUDONYM_KEY", KEY)
    _load_twice(portal, tmp_path)
    assert _files_holding(tmp_path, _emails(portal)) == {}
    assert KEY.encode() not in (tmp_path / "warehouse.duckdb").read_bytes()
    # every version of every user holds a pseudonym, the current one that of the user's email now: the same
    # across loads and tables, so it joins
    truth = {u.id: u.email for u in portal.state.users.values()}
    rows = query(tmp_path, "select id, email, _dlt_valid_to from learnupon.users")
    assert any(r["_dlt_valid_to"] is not None for r in rows)
    assert all(len(r["email"]) == 64 and int(r["email"], 16) >= 0 for r in rows)
    current = [r for r in rows if r["_dlt_valid_to"] is None]
    assert current and all(r["email"] == pseudonym(KEY.encode(), truth[r["id"]]) for r in current)
    joined = query(
        tmp_path,
        "select count(*) as n from learnupon.enrollments e join learnupon.users u on u.id = e.user_id and u.email = e.email",
    )[0]["n"]
    assert joined > 0


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("LMS_BLOCK_COLUMNS", "users.enabled", "holds no personal data"),
        ("LMS_BLOCK_COLUMNS", "users.nickname", "has no column 'nickname'"),
        ("LMS_BLOCK_COLUMNS", "people.email", "is not table.column of a raw table"),
        ("LMS_BLOCK_COLUMNS", "enrollments.user_id", "keys the table's rows"),
        ("LMS_HASH_COLUMNS", "users.email", "LMS_PSEUDONYM_KEY not set"),
    ],
)
def test_a_wrong_column_setting_is_one_line_exit_2(tmp_path: Path, setting: str, value: str, message: str) -> None:
    env = {"LEARNUPON_USERNAME": "u", "LEARNUPON_PASSWORD": "p", "LEARNUPON_BASE_URL": "http://127.0.0.1:9", setting: value}
    done = cli("run", "--out", str(tmp_path), env=env, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


def test_a_blocked_or_hashed_value_never_reaches_data_issues() -> None:
    """Values a resource reports (a record dropped for lack of its key, a disagreement) pass the same policy."""
    from pipelines.learnupon.arrow import IssueLog
    from pipelines.learnupon.tables import to_table
    from pipelines.privacy.load_columns import ColumnPolicy, applied

    policy = ColumnPolicy(
        blocked={"user_custom_data": frozenset({"value"}), "users": frozenset({"username"})},
        hashed={"users": frozenset({"email"})},
        key=KEY.encode(),
    )
    log = IssueLog()
    with applied(policy):
        log.add("user_custom_data", "1,2", "value", "Employee 12345", "CustomData disagrees")
        log.add("users", "1", "first_name", "Ann", "not a valid text")
        table = to_table("users", [{"id": 1, "email": "Ann@X.com", "username": "ann.x"}, {"email": "bo@x.com", "username": "bo.x"}], log)
    assert [i.raw_value for i in log.issues[:2]] == [None, "Ann"]
    dropped = log.issues[2].raw_value  # the record without its id, as the load saw it
    assert "record without its primary key" in log.issues[2].problem
    assert "bo@x.com" not in dropped and "bo.x" not in dropped and pseudonym(KEY.encode(), "bo@x.com") in dropped
    assert table.column("email").to_pylist() == [pseudonym(KEY.encode(), "ann@x.com")]
    assert table.column("username").to_pylist() == [None]
    # outside a run's policy nothing changes
    assert to_table("users", [{"id": 1, "email": "Ann@X.com"}], IssueLog()).column("email").to_pylist() == ["Ann@X.com"]
