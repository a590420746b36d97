"""The pseudonymised reporting schema: every mart again, people's names, emails and usernames replaced by
keyed pseudonyms (HMAC-SHA256, stable across runs and engines), free text dropped; the report rendered from
it; on PostgreSQL a role that may read it and nothing else. docs/personal-data.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pyarrow as pa
import pytest

from pipelines.models import build_models
from pipelines.privacy.pseudonyms import pads, pseudonym
from pipelines.run.runner import Warehouse

from tests.conftest import CLOCK, cli, query, run_pipeline
from tests.support.people import columns_holding, person_values

KEY = "a-test-key-for-pseudonyms-0123456789"


def _relations(con: Any, schema: str) -> set[str]:
    return {r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()}


def _no_secret_in_files(folder: Path) -> None:
    """Neither the key nor its HMAC pads in any file the build wrote (dbt's logs, compiled SQL, the warehouse)."""
    needles = [KEY.encode(), *(p.encode() for p in pads(KEY.encode()))]
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(n in data for n in needles), f"the pseudonyms' key is in {path}"


def test_every_mart_pseudonymised_holds_no_name_email_or_username(portal_factory: Any, tmp_path: Path) -> None:
    portal = portal_factory(users=40)
    assert run_pipeline(portal, tmp_path).status == "succeeded"
    as_of = CLOCK.date().isoformat()
    plain = build_models(Warehouse(out_dir=tmp_path), as_of=CLOCK.date(), export_parquet=False)
    done = cli("report", "--out", str(tmp_path), "--as-of", as_of, "--pseudonymised", env={"LMS_PSEUDONYM_KEY": KEY}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "reporting_pseudonymised.compliance_status" in done.stdout
    people = person_values(portal)

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert _relations(con, "reporting_pseudonymised") == _relations(con, "reporting") == set(plain.marts)
        # the scan finds people in the plain marts: it would find them in the pseudonymised ones
        assert {"compliance_status.user_email", "compliance_status.user_full_name", "audit_log.impacted_user_email"} <= set(
            columns_holding(con, "reporting", people)
        )
        assert columns_holding(con, "reporting_pseudonymised", people) == {}
        # the same figures: every mart has the same rows, but for the people's columns
        for mart in plain.marts:
            counts = [con.execute(f"select count(*) from {s}.{mart}").fetchone()[0] for s in ("reporting", "reporting_pseudonymised")]
            assert counts[0] == counts[1], mart
        states = "select compliance_state, count(*) from {}.compliance_status group by 1 order by 1"
        assert con.execute(states.format("reporting")).fetchall() == con.execute(states.format("reporting_pseudonymised")).fetchall()
        # a keyed hash of the (trimmed, lower-cased) value: Python's HMAC gives the SQL's, so it joins across runs
        pairs = con.execute(
            "select plain.user_email, hashed.user_email from reporting.learner_activity as plain"
            " join reporting_pseudonymised.learner_activity as hashed using (user_id) where plain.user_email is not null"
        ).fetchall()
        assert pairs and all(hashed == pseudonym(KEY.encode(), email) for email, hashed in pairs)
        assert all(len(hashed) == 64 for _, hashed in pairs)
        # free text is dropped: the audit events' descriptions hold nothing
        assert con.execute("select count(impacted_data) from staging_pseudonymised.stg_audit_trails").fetchone()[0] == 0

    # the marts as Parquet files a BI tool can be pointed at alone, and the report, hold no one either
    with duckdb.connect() as con:
        con.execute("create schema scan")
        for folder in (tmp_path / "reporting_pseudonymised").iterdir():
            con.execute(f"create table scan.{folder.name} as select * from read_parquet('{folder}/data.parquet')")
        assert _relations(con, "scan") == set(plain.marts)
        assert columns_holding(con, "scan", people) == {}
    report = tmp_path / "compliance_report_pseudonymised.html"
    pages = [report, *(tmp_path / "compliance_report_pseudonymised_files").iterdir()]
    text = "\n".join(p.read_text(encoding="utf-8").lower() for p in pages)
    assert "overdue" in text and re.search(r"\b[0-9a-f]{64}\b", text)  # learners appear as pseudonyms
    assert not [v for u in portal.state.users.values() for v in (u.email, u.username) if v and v.lower() in text]
    _no_secret_in_files(tmp_path)


def test_pseudonymised_reporting_without_a_key_is_one_line_exit_2(tmp_path: Path) -> None:
    for args, env in (
        (["models", "--pseudonymised"], {}),
        (["report", "--pseudonymised"], {}),
        (["models"], {"LMS_PSEUDONYMISED_REPORTING": "true"}),
    ):
        done = cli(*args, "--out", str(tmp_path), env=env, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and "LMS_PSEUDONYM_KEY not set" in done.stderr, done.stderr
    done = cli("models", "--pseudonymised", "--out", str(tmp_path), env={"LMS_PSEUDONYM_KEY": "short"}, cwd=tmp_path)
    assert done.returncode == 2 and "too short" in done.stderr and "short" not in done.stderr.replace("too short", "")
    # readers are PostgreSQL roles: on DuckDB the Parquet folder is what BI is pointed at
    env = {"LMS_PSEUDONYM_KEY": KEY, "LMS_PSEUDONYMISED_READERS": "bi_reader"}
    done = cli("models", "--pseudonymised", "--out", str(tmp_path), env=env, cwd=tmp_path)
    assert done.returncode == 2 and "grants PostgreSQL roles" in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_a_postgres_role_reads_the_pseudonymised_marts_and_nothing_else(
    portal_factory: Any, tmp_path: Path, postgres_database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = postgres_database
    portal = portal_factory(users=30)
    assert run_pipeline(portal, tmp_path, destination="postgres", credentials=db.dsn).status == "succeeded"
    with psycopg2.connect(db.dsn) as con, con.cursor() as cur:
        cur.execute("create role bi_reader login password 'bi-reader-password'")
    monkeypatch.setenv("LMS_PSEUDONYM_KEY", KEY)
    monkeypatch.setenv("LMS_PSEUDONYMISED_READERS", "bi_reader")
    warehouse = Warehouse(destination="postgres", out_dir=tmp_path, postgres_credentials=db.dsn)
    plain = build_models(warehouse, as_of=CLOCK.date(), export_parquet=False)
    hashed = build_models(warehouse, as_of=CLOCK.date(), pseudonymised=True)
    assert sorted(hashed.marts) == sorted(plain.marts) and not hashed.failed_tests
    # PostgreSQL's SQL HMAC equals Python's: the same pseudonyms as on DuckDB
    pairs = query(
        db,
        "select p.user_email as email, h.user_email as hashed from reporting.learner_activity p"
        " join reporting_pseudonymised.learner_activity h using (user_id) where p.user_email is not null",
    )
    assert pairs and all(r["hashed"] == pseudonym(KEY.encode(), r["email"]) for r in pairs)

    reader = f"postgresql://bi_reader:bi-reader-password@{db.server.host}:{db.server.port}/{db.name}"
    con = psycopg2.connect(reader)
    try:
        con.autocommit = True  # each refused statement on its own
        with con.cursor() as cur:
            for mart in hashed.marts:
                cur.execute(f"select count(*) from reporting_pseudonymised.{mart}")
                assert cur.fetchone()[0] == query(db, f"select count(*) as n from reporting.{mart}")[0]["n"]
            for relation in ("reporting.compliance_status", "learnupon.users", "staging_pseudonymised.stg_users",
                             "intermediate_pseudonymised.int_required_training", "staging.stg_users"):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(f"select 1 from {relation} limit 1")
    finally:
        con.close()
    # and the people are not in what the role reads
    with duckdb.connect() as scan:
        scan.execute("create schema scan")
        for mart in hashed.marts:
            rows = query(db, f"select * from reporting_pseudonymised.{mart}")
            if rows:
                scan.register("rows", pa.Table.from_pylist([{k: (str(v) if isinstance(v, list) else v) for k, v in r.items()} for r in rows]))
                scan.execute(f"create table scan.{mart} as select * from rows")
                scan.unregister("rows")
        assert columns_holding(scan, "scan", person_values(portal)) == {}
