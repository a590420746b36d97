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


def _person(portal: Any, out: Path, exclude: set[int] = frozenset(), among: set[int] | None = None,  # type: ignore[assignment]
            others_too: list[Any] = ()) -> Person:  # type: ignore[assignment]
    """The user who appears in the most rows, among those whose email, username and full name no other user's
    value contains (so a byte search for them means them); `others_too`: users of other portals to tell apart."""
    users = list(portal.state.users.values())
    enrolled = {uid: len(enrollments) for uid, enrollments in portal.state.enr_by_user.items()}
    best = None
    for user in users:
        if user.id in exclude or (among is not None and user.id not in among):
            continue
        others = [v.lower() for u in [*users, *others_too] if u is not user for v in _values(u)]
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
    assert f"Erased user id(s) {person.id} of portal " in erased.stdout and email not in erased.stdout + erased.stderr
    assert files_holding(out, person.needles) == {}
    assert _mart_counts(out) == counts  # the facts stay under the id: every count is the same
    # the person's facts stay, their personal data is a keyed pseudonym or gone
    rows = query(out, "select email, first_name, locale from learnupon.users where id = ?", [person.id])
    assert rows and all(r["email"] == pseudonym(KEY.encode(), email) for r in rows)
    assert query(out, "select count(*) as n from learnupon.enrollments where user_id = ?", [person.id])[0]["n"] > 0
    # the record: the id, when, what was changed, and no value
    record = query(out, "select * from learnupon.erasures")
    portal_name = query(out, "select distinct portal from learnupon.users")[0]["portal"]
    assert [(r["portal"], r["user_id"], r["reason"]) for r in record] == [(portal_name, person.id, "request")]
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


def test_retention_erases_users_deleted_upstream_longer_than_the_setting(
    portal_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two users deleted upstream: one 40 days ago (its versions' validity end moved back, as if the run that saw
    the deletion were 40 days old), one just now. With 30 days, the next run erases the first alone."""
    import duckdb

    from pipelines.run.summary import erased_line
    from pipelines.simulator.domains.users import delete_user

    monkeypatch.setenv("LMS_PSEUDONYM_KEY", KEY)
    portal = portal_factory(users=30)
    assert run_pipeline(portal, tmp_path).status == "succeeded"
    old = _person(portal, tmp_path)
    recent = _person(portal, tmp_path, exclude={old.id})
    with portal.lock:
        for person in (old, recent):
            delete_user(portal.state, portal.state.users[person.id])
        portal.api.invalidate()
    # off by default: the deleted users' history keeps their values
    assert "erased" not in run_pipeline(portal, tmp_path).extra
    deleted = "select id from learnupon.users group by id having count(*) filter (where _dlt_valid_to is null) = 0"
    assert {r["id"] for r in query(tmp_path, deleted)} >= {old.id, recent.id}
    assert "warehouse.duckdb" in files_holding(tmp_path, old.needles)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("update learnupon.users set _dlt_valid_to = _dlt_valid_to - interval 40 day where id = ?", [old.id])

    summary = run_pipeline(portal, tmp_path, options=ExtractOptions(workers=4, retain_deleted_days=30))
    assert summary.status == "succeeded" and summary.extra["erased"] == [old.id]
    assert f"user ids {old.id})" in (erased_line(summary) or "")
    assert files_holding(tmp_path, old.needles) == {}
    assert "warehouse.duckdb" in files_holding(tmp_path, recent.needles)  # deleted 0 days ago: kept
    record = query(tmp_path, "select portal, user_id, reason from learnupon.erasures")
    assert record == [{"portal": summary.portal, "user_id": old.id, "reason": "retention"}]
    # the erased user's facts stay under the id
    assert query(tmp_path, "select count(*) as n from learnupon.users where id = ?", [old.id])[0]["n"] >= 1
    # a later run erases nobody again
    assert "erased" not in run_pipeline(portal, tmp_path, options=ExtractOptions(workers=4, retain_deleted_days=30)).extra


def test_erase_in_a_realm_erases_the_named_portals_person_only(
    portal_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two portals of one warehouse share user ids: erase needs --portal, and erases that portal's person alone;
    later runs of both portals keep it so."""
    from pipelines.learnupon.context import ExtractContext
    from pipelines.run.portals import pipeline_name, run_portals
    from pipelines.run.runner import Warehouse

    from tests.conftest import settings_for

    monkeypatch.setenv("LMS_PSEUDONYM_KEY", KEY)
    portals = {"north": portal_factory(users=30, seed=7), "south": portal_factory(users=30, seed=8)}

    def run_both() -> None:
        contexts = []
        for name, portal in portals.items():
            settings = settings_for(portal)
            context = ExtractContext(client_factory=settings.client, portal=name, options=ExtractOptions(workers=4))
            contexts.append((context, pipeline_name(name, single=False)))
        outcomes = run_portals(contexts, Warehouse(out_dir=out))
        assert [(o.portal, o.failed) for o in outcomes] == [("north", False), ("south", False)], outcomes

    out = tmp_path / "out"
    run_both()
    north, south = portals["north"], portals["south"]
    shared = set(north.state.users) & set(south.state.users)
    person = _person(north, out, among=shared, others_too=list(south.state.users.values()))
    twin = _person(south, out, among={person.id}, others_too=list(north.state.users.values()))  # same id, south's
    assert twin.id == person.id and not person.needles & twin.needles

    done = cli("erase", "--out", str(out), "--user-id", str(person.id), env={"LMS_PSEUDONYM_KEY": KEY}, cwd=out)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--portal" in done.stderr, done.stderr
    assert "north, south" in done.stderr
    done = cli("erase", "--out", str(out), "--portal", "east", "--user-id", "1", env={"LMS_PSEUDONYM_KEY": KEY}, cwd=out)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "east" in done.stderr, done.stderr

    erased = _erase(out, "--portal", "north", "--email", north.state.users[person.id].email)  # resolved within north
    assert f"Erased user id(s) {person.id} of portal north:" in erased.stdout
    assert files_holding(out, person.needles) == {}
    assert "warehouse.duckdb" in files_holding(out, twin.needles)  # south's user of the same id is untouched
    south_email = south.state.users[person.id].email
    current = "select portal, email from learnupon.users where id = ? and _dlt_valid_to is null order by portal"
    assert query(out, current, [person.id]) == [
        {"portal": "north", "email": pseudonym(KEY.encode(), north.state.users[person.id].email)},
        {"portal": "south", "email": south_email},
    ]
    record = query(out, "select portal, user_id, reason from learnupon.erasures")
    assert record == [{"portal": "north", "user_id": person.id, "reason": "request"}]

    # both portals run again: north's person stays erased, south's stays in clear
    for portal in portals.values():
        portal.churn(days=1, share=0.0)
    run_both()
    assert files_holding(out, person.needles) == {}
    assert query(out, current, [person.id])[1] == {"portal": "south", "email": south_email}
    assert query(out, current, [person.id])[0]["email"] == pseudonym(KEY.encode(), north.state.users[person.id].email)


def _pg_dump(database: Any) -> bytes:
    """Every row of the PostgreSQL database, as pg_dump writes it."""
    import subprocess

    from pipelines.destinations.postgres_server import find_binaries

    bin_dir = find_binaries()
    assert bin_dir is not None
    dump = subprocess.run([str(bin_dir / "pg_dump"), "--data-only", database.dsn], capture_output=True, timeout=300)
    assert dump.returncode == 0, dump.stderr
    return dump.stdout


# each takes minutes (two loads, an erasure, a load, on a slower destination): run with -m slow
@pytest.mark.slow
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
