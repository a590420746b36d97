"""The same dbt models on PostgreSQL (dbt-postgres) give the same marts as on DuckDB, row for row.

One simulated portal is loaded into a DuckDB warehouse and into a PostgreSQL database; the
models are built on both for the same as-of date, with their data tests (and, on PostgreSQL,
the unit tests); every reporting table is then compared whole, after normalising what the
engines spell differently (numerics, timestamps with time zone, arrays).
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.models import build_models
from pipelines.report import write_report
from pipelines.run.runner import Warehouse

from tests.conftest import CLOCK, query, run_pipeline


# when the pipeline read a record (the portal's clock at the call), not what it says: the two
# warehouses were loaded a few seconds apart
READ_AT_COLUMNS = {"taken_at"}


def normalise(value: Any) -> Any:
    """One spelling per value: integral numbers as int, others to 9 significant digits, instants in UTC, lists as tuples."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)):
        number = float(value)
        if number.is_integer():
            return int(number)
        return float(f"{number:.9g}") if math.isfinite(number) else number
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value.tzinfo else value
    if isinstance(value, (list, tuple)):
        return tuple(normalise(v) for v in value)
    return value


def rows_of(cursor_rows: list[dict[str, Any]]) -> tuple[list[str], Counter]:
    columns = list(cursor_rows[0]) if cursor_rows else []
    kept = [c for c in columns if c not in READ_AT_COLUMNS]
    return columns, Counter(tuple(normalise(row[c]) for c in kept) for row in cursor_rows)


def duckdb_rows(path: Path, relation: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(f"select * from {relation}")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def _sortable(row: tuple) -> tuple:
    return tuple((v is None, str(v)) for v in row)


REALM_MARTS = {"licence_use", "licence_use_trend"}


def test_marts_on_postgres_equal_duckdb_row_for_row(portal, tmp_path: Path, postgres_database) -> None:
    db = postgres_database
    as_of = CLOCK.date()
    assert run_pipeline(portal, tmp_path / "duckdb").status == "succeeded"
    assert run_pipeline(portal, tmp_path / "postgres", destination="postgres", credentials=db.dsn).status == "succeeded"

    on_duckdb = build_models(Warehouse(out_dir=tmp_path / "duckdb"), as_of=as_of, export_parquet=False)
    postgres = Warehouse(destination="postgres", out_dir=tmp_path / "postgres", postgres_credentials=db.dsn)
    on_postgres = build_models(postgres, as_of=as_of, unit_tests=True)

    assert not on_postgres.skipped and not on_postgres.failed_tests, (on_postgres.skipped, on_postgres.failed_tests)
    unit_tests = [t for t in on_postgres.tests if t.unique_id.startswith("unit_test.")]
    data_tests = [t for t in on_postgres.tests if t.unique_id.startswith("test.")]
    assert unit_tests and all(t.passed for t in unit_tests), "the unit tests run on PostgreSQL too"
    # the warn-level test counts the portal's verdicts against the pass threshold: as many as on DuckDB
    warned = {t.name: t.failures for t in data_tests if t.status == "warn"}
    assert warned == {t.name: t.failures for t in on_duckdb.tests if t.status == "warn"}
    assert len(data_tests) > 20 and all(t.passed or t.status == "warn" for t in data_tests)
    assert sorted(on_postgres.marts) == sorted(on_duckdb.marts) and len(on_duckdb.marts) >= 14

    differences = {}
    for mart in on_duckdb.marts:
        relation = on_duckdb.relation(mart)
        d_columns, d_rows = rows_of(duckdb_rows(on_duckdb.database, relation))
        p_columns, p_rows = rows_of(query(db, f"select * from {relation}"))
        # a portal that is not a realm's top-level one has no licence figures (tests/models/test_licence_use.py)
        assert d_rows or mart in REALM_MARTS, f"{relation} is empty on DuckDB: the comparison would prove nothing"
        assert p_columns == d_columns, f"{relation}: columns differ"
        if p_rows != d_rows:
            only_duckdb = sorted(d_rows - p_rows, key=_sortable)[:3]
            only_postgres = sorted(p_rows - d_rows, key=_sortable)[:3]
            differences[relation] = {"columns": d_columns, "only_duckdb": only_duckdb, "only_postgres": only_postgres}
    assert not differences, differences

    # the Parquet copy of the marts and the HTML report read PostgreSQL's marts
    for mart in on_postgres.marts:
        assert (tmp_path / "postgres" / "reporting" / mart / "data.parquet").is_file()
    report = write_report(postgres, tmp_path / "postgres" / "report.html", as_of=as_of, build=False)
    reference = write_report(Warehouse(out_dir=tmp_path / "duckdb"), tmp_path / "duckdb" / "report.html", as_of=as_of, build=False)
    assert _body(report) == _body(reference)
    assert "overdue" in _body(report) and len(_body(report)) > 10_000


def _body(path: Path) -> str:
    """The report without the lines that name when loads ran (the two warehouses were loaded a moment apart)."""
    return "\n".join(line for line in path.read_text().splitlines() if "UTC" not in line and "ago" not in line)


@pytest.mark.slow
def test_models_cli_builds_and_reports_on_postgres(portal, tmp_path: Path, postgres_database) -> None:
    from tests.conftest import cli

    run_pipeline(portal, tmp_path, destination="postgres", credentials=postgres_database.dsn)
    env = {"DESTINATION__POSTGRES__CREDENTIALS": postgres_database.dsn}
    done = cli("report", "--destination", "postgres", "--out", str(tmp_path), "--as-of", CLOCK.date().isoformat(), env=env)
    assert done.returncode == 0, done.stderr
    assert postgres_database.server.password not in done.stdout + done.stderr
    assert "reporting.compliance_status" in done.stdout and (tmp_path / "compliance_report.html").is_file()
    profile = (tmp_path / ".dbt" / "profiles.yml").read_text()
    assert postgres_database.server.password not in profile
    assert query(postgres_database, "select count(*) as n from reporting.compliance_status")[0]["n"] > 0
