"""Erasure (`lms-warehouse erase`) and retention (LMS_RETAIN_DELETED_DAYS): after an erasure no file under the
output folder holds the person's email, username, full name or custom values as bytes; the marts' counts are the
same; later loads keep the person erased; `erasures` records it without the values. docs/personal-data.md."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from pipelines.learnupon.settings import ExtractOptions
from pipelines.privacy.pseudonyms import pseudonym

from tests.conftest import CLOCK, cli, query, run_pipeline

KEY = "a-test-key-for-erasure-0123456789"
AS_OF = CLOCK.date().isoformat()


@dataclass
class Person:
    id: int
    needles: set[str]  # what a byte search looks for: email, username, full name, custom values only they have


def _values(user: Any) -> list[str]:
    custom = []
    for value in (user.custom or {}).values():
        custom += [str(v) for v in (value if isinstance(value, list) else [value]) if v is not None]
    return [v for v in (user.email, user.username, user.name) if v] + custom


def _person(portal: Any, out: Path) -> Person:
    """The user who appears in the most rows, among those whose email, username and full name no other user's
    value contains (so a byte search for them means them)."""
    users = list(portal.state.users.values())
    enrolled = {uid: len(enrollments) for uid, enrollments in portal.state.enr_by_user.items()}
    best = None
    for user in users:
        others = [v.lower() for u in users if u.id != user.id for v in _values(u)]
        own = [v for v in (user.email, user.username, user.name) if v]
        if not user.email or any(v.lower() in o for v in own for o in others):
            continue
        # a custom value a byte search can mean: text of 5 characters or more that no other user has (not a number)
        custom = {v for v in _values(user)[len(own):] if len(v) >= 5 and any(c.isalpha() for c in v)
                  and not any(v.lower() in o for o in others)}
        score = enrolled.get(user.id, 0) * 10 + len(custom)
        if best is None or score > best[0]:
            best = (score, Person(user.id, set(own) | custom))
    assert best is not None and best[0] > 0
    return best[1]


def _contents(path: Path) -> bytes:
    """A file's bytes, and what they hold once decompressed: a gzipped file (dlt's packages) unzipped, a Parquet
    file's values (its pages are compressed) as text."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data += gzip.decompress(data)
    if data[:4] == b"PAR1":
        data += repr(pq.read_table(path).to_pylist()).encode()
    return data


def files_holding(folder: Path, values: set[str]) -> dict[str, list[str]]:
    """Every file under `folder` that holds one of `values` as bytes (as written, or lower case), with those values."""
    found = {}
    for path in folder.rglob("*"):
        if path.is_file():
            data = _contents(path)
            hits = [v for v in values if v.encode() in data or v.lower().encode() in data]
            if hits:
                found[str(path.relative_to(folder))] = sorted(hits)
    return found


def _mart_counts(out: Path) -> dict[str, Any]:
    marts = [r["table_name"] for r in query(out, "select table_name from information_schema.tables where table_schema = 'reporting'")]
    counts: dict[str, Any] = {m: query(out, f"select count(*) as n from reporting.{m}")[0]["n"] for m in marts}
    counts["states"] = query(out, "select compliance_state, count(*) as n from reporting.compliance_status group by 1 order by 1")
    return counts


def _erase(out: Path, *args: str) -> Any:
    done = cli("erase", "--out", str(out), *args, env={"LMS_PSEUDONYM_KEY": KEY}, cwd=out)
    assert done.returncode == 0, done.stderr
    return done


def test_erase_leaves_no_byte_of_the_person_and_later_loads_keep_it_so(
    portal_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LMS_PSEUDONYM_KEY", KEY)
    portal = portal_factory(users=40)
    out = tmp_path / "out"
    assert run_pipeline(portal, out).status == "succeeded"
    done = cli("report", "--out", str(out), "--as-of", AS_OF, cwd=out)
    assert done.returncode == 0, done.stderr
    person = _person(portal, out)
    email = portal.state.users[person.id].email
    # the search finds the person where they are stored: the warehouse, the snapshot, dlt's packages, the report
    before = files_holding(out, person.needles)
    assert {"warehouse.duckdb", "snapshot.duckdb", "compliance_report.html"} <= set(before), before
    assert any(path.startswith(".dlt/") for path in before) and any(path.startswith("reporting/") for path in before)
    counts = _mart_counts(out)

    erased = _erase(out, "--email", email.upper())  # resolved to the id through the users table, case ignored
    assert f"Erased user id(s) {person.id}:" in erased.stdout and email not in erased.stdout + erased.stderr
    assert files_holding(out, person.needles) == {}
    assert _mart_counts(out) == counts  # the facts stay under the id: every count is the same
    # the person's facts stay, their personal data is a keyed pseudonym or gone
    rows = query(out, "select email, first_name, locale from learnupon.users where id = ?", [person.id])
    assert rows and all(r["email"] == pseudonym(KEY.encode(), email) for r in rows)
    assert query(out, "select count(*) as n from learnupon.enrollments where user_id = ?", [person.id])[0]["n"] > 0
    # the record: the id, when, what was changed, and no value
    record = query(out, "select * from learnupon.erasures")
    assert [(r["user_id"], r["reason"]) for r in record] == [(person.id, "request")]
    tables = orjson.loads(record[0]["tables"])
    assert tables["learnupon.users"] >= 1 and tables["learnupon.enrollments"] >= 1
    assert pseudonym(KEY.encode(), email) in orjson.loads(record[0]["identifiers"])
    assert not any(v.lower() in orjson.dumps(record[0], default=str).decode().lower() for v in person.needles)

    # the portal still serves the person: an incremental run and a reconciliation load them pseudonymised
    portal.churn(days=1, share=0.0)
    assert run_pipeline(portal, out).status == "succeeded"
    assert run_pipeline(portal, out, options=ExtractOptions(workers=4, reconcile=True)).status == "succeeded"
    assert files_holding(out, person.needles) == {}
    current = query(out, "select email, username from learnupon.users where id = ? and _dlt_valid_to is null", [person.id])
    assert current == [{"email": pseudonym(KEY.encode(), email), "username": pseudonym(KEY.encode(), portal.state.users[person.id].username)}]
    # and everyone else is loaded as before
    other = next(u for u in portal.state.users.values() if u.id != person.id)
    assert query(out, "select email from learnupon.users where id = ? and _dlt_valid_to is null", [other.id]) == [{"email": other.email}]


def test_erase_without_a_key_or_a_person_is_one_line_exit_2(tmp_path: Path) -> None:
    done = cli("erase", "--out", str(tmp_path), "--user-id", "5", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "LMS_PSEUDONYM_KEY" in done.stderr, done.stderr
    done = cli("erase", "--out", str(tmp_path), env={"LMS_PSEUDONYM_KEY": KEY}, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--user-id" in done.stderr, done.stderr


def test_retention_erases_users_deleted_upstream(portal_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.simulator.domains.users import delete_user

    monkeypatch.setenv("LMS_PSEUDONYM_KEY", KEY)
    portal = portal_factory(users=30)
    assert run_pipeline(portal, tmp_path).status == "succeeded"
    person = _person(portal, tmp_path)
    with portal.lock:
        delete_user(portal.state, portal.state.users[person.id])
        portal.api.invalidate()
    # off by default: the deleted user's history keeps their values
    assert run_pipeline(portal, tmp_path).status == "succeeded"
    assert query(tmp_path, "select count(*) as n from learnupon.users where id = ? and _dlt_valid_to is null", [person.id])[0]["n"] == 0
    assert "warehouse.duckdb" in files_holding(tmp_path, person.needles)
    # retained zero days: erased after the next run
    summary = run_pipeline(portal, tmp_path, options=ExtractOptions(workers=4, retain_deleted_days=0))
    assert summary.status == "succeeded" and summary.extra["erased"] == [person.id]
    assert files_holding(tmp_path, person.needles) == {}
    record = query(tmp_path, "select user_id, reason from learnupon.erasures")
    assert record == [{"user_id": person.id, "reason": "retention"}]
    # a later run erases nobody again
    assert "erased" not in run_pipeline(portal, tmp_path, options=ExtractOptions(workers=4, retain_deleted_days=0)).extra


def _pg_dump(database: Any) -> bytes:
    """Every row of the PostgreSQL database, as pg_dump writes it."""
    import subprocess

    from pipelines.destinations.postgres_server import find_binaries

    bin_dir = find_binaries()
    assert bin_dir is not None
    dump = subprocess.run([str(bin_dir / "pg_dump"), "--data-only", database.dsn], capture_output=True, timeout=300)
    assert dump.returncode == 0, dump.stderr
    return dump.stdout


@pytest.mark.parametrize("destination", ["parquet", "delta", "postgres"])
def test_erase_on_every_destination(
    destination: str, portal_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Parquet's current and history folders, Delta tables with their older versions, PostgreSQL (VACUUM FULL, a
    pg_dump) and dlt's working folder under the output folder hold none of the person's values after `erase`."""
    monkeypatch.setenv("LMS_PSEUDONYM_KEY", KEY)
    env: dict[str, str] = {}
    database = None
    if destination == "postgres":
        database = request.getfixturevalue("postgres_database")
        env["DESTINATION__POSTGRES__CREDENTIALS"] = database.dsn
    portal = portal_factory(users=25)
    out = tmp_path / "out"
    assert run_pipeline(portal, out, destination=destination, credentials=database.dsn if database else None).status == "succeeded"
    portal.churn(days=1, share=0.2)  # new versions: history, older Delta file versions, dead PostgreSQL rows
    assert run_pipeline(portal, out, destination=destination, credentials=database.dsn if database else None).status == "succeeded"
    probe = {"delta": tmp_path / "out" / "delta", "parquet": tmp_path / "out" / "parquet"}.get(destination)
    person = _person(portal, out)
    assert (probe is None or files_holding(probe, person.needles)) and files_holding(out / ".dlt", person.needles)
    if database is not None:
        assert portal.state.users[person.id].email.encode() in _pg_dump(database)

    done = cli("erase", "--out", str(out), "--destination", destination, "--user-id", str(person.id),
               env={"LMS_PSEUDONYM_KEY": KEY, **env}, cwd=out)
    assert done.returncode == 0, done.stderr
    assert files_holding(out, person.needles) == {}
    if database is not None:
        dump = _pg_dump(database)
        assert not [v for v in person.needles if v.encode() in dump or v.lower().encode() in dump]
        assert b"erasures" in dump

    # the next run loads the person, still served by the portal, pseudonymised
    assert run_pipeline(portal, out, destination=destination, credentials=database.dsn if database else None).status == "succeeded"
    assert files_holding(out, person.needles) == {}
    if database is not None:
        dump = _pg_dump(database)
        assert not [v for v in person.needles if v.encode() in dump or v.lower().encode() in dump]
