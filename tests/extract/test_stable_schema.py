"""A stable schema: after the first run every raw table the README documents exists, with its documented
columns and types, empty when the portal has none of its rows; staging and marts build on such a portal.

A portal without live learning and gamification has no sessions, attendance, legacy ILTs or awards; one
with a single user and no enrollments has none of several more kinds (memberships, enrollments, exam
enrollments and answers, assignments, mark-completes, leaderboard...).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from dlt.common.normalizers.naming.snake_case import NamingConvention

from pipelines.learnupon import schema
from pipelines.learnupon.tables import TABLES
from pipelines.models.build_records import MODEL_BUILDS, MODEL_BUILDS_COLUMNS
from pipelines.models.manifest import project_manifest
from pipelines.models.project import ON_DEMAND_TAGS, PROJECT
from pipelines.run.runner import PIPELINE_RUNS
from tests.conftest import cli, query, run_pipeline

README = Path(__file__).resolve().parents[2] / "README.md"

NO_LIVE_LEARNING = {"live_learning": False, "gamification": False}
NEARLY_EMPTY = {"users": 1, "enrollments_per_user": 0, "live_learning": False, "gamification": False}

NAMING = NamingConvention()

# how each kind of the column specs lands, as DuckDB names the type
DUCKDB_TYPES = {
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "text": "VARCHAR",
    "json": "VARCHAR",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
}


def documented_tables() -> set[str]:
    """Every table named in the first column of the README's "What lands" table."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## What lands") : text.index("### Current rows")]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`(\w+)`", line.split("|")[1]))
    return names


def documented_columns() -> dict[str, dict[str, str]]:
    """Each table's column spec, as the code declares it."""
    return {
        **{name: table.columns for name, table in TABLES.items()},
        "pipeline_runs": PIPELINE_RUNS,
        "data_issues": {**schema.DATA_ISSUES, "run_id": "text"},
        "contract_drift": schema.CONTRACT_DRIFT,
        MODEL_BUILDS: MODEL_BUILDS_COLUMNS,  # written from the first model build on
    }


def loaded_tables() -> dict[str, dict[str, str]]:
    """The tables a first run (without a model build) writes."""
    return {name: spec for name, spec in documented_columns().items() if name != MODEL_BUILDS}


def test_every_documented_table_has_a_column_spec() -> None:
    assert documented_tables() == set(documented_columns())


def warehouse_columns(out: Path) -> dict[str, dict[str, str]]:
    rows = query(
        out,
        "select table_name, column_name, data_type from information_schema.columns where table_schema = 'learnupon'",
    )
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        found.setdefault(row["table_name"], {})[row["column_name"]] = row["data_type"]
    return found


def assert_documented_schema(out: Path, specs: dict[str, dict[str, str]]) -> dict[str, int]:
    """Every table of `specs` with every documented column of its documented type; rows per table."""
    found = warehouse_columns(out)
    assert sorted(set(specs) - set(found)) == []
    for table, spec in specs.items():
        # as dlt names them in the warehouse (customDataFieldValues: custom_data_field_values)
        expected = {NAMING.normalize_identifier(column): DUCKDB_TYPES[kind] for column, kind in spec.items()}
        assert {c: found[table].get(c) for c in expected} == expected, table
        assert "_dlt_load_id" in found[table], table
    return {t: query(out, f"select count(*) as n from learnupon.{t}")[0]["n"] for t in specs}


@pytest.mark.parametrize("kind", [NO_LIVE_LEARNING, NEARLY_EMPTY], ids=["no-live-learning", "nearly-empty"])
def test_first_run_creates_every_documented_table_empty_where_the_portal_has_no_rows(
    portal_factory: Any, tmp_path: Path, kind: dict[str, Any]
) -> None:
    portal = portal_factory(**kind)
    assert run_pipeline(portal, tmp_path).status == "succeeded"
    rows = assert_documented_schema(tmp_path, loaded_tables())
    empty = {"sessions", "session_instructors", "session_attendance", "session_attendance_parts",
             "session_attendance_enrollments", "ilt_sessions", "user_awards", "audit_gaps"}
    if kind is NEARLY_EMPTY:
        empty |= {"enrollments", "exam_enrollments", "exam_answers", "exam_answer_fetches", "assignment_answers",
                  "markcompletes", "group_memberships", "learning_path_enrollments", "leaderboard_snapshots"}
    assert {t for t in empty if rows[t]} == set()
    assert rows["users"] > 0 and rows["courses"] > 0  # the portal's other kinds loaded as usual
    # SCD2 tables created empty carry dlt's validity columns, as one created with rows does
    for table in ("session_instructors", "user_awards"):
        assert {"_dlt_valid_from", "_dlt_valid_to"} <= set(warehouse_columns(tmp_path)[table])

    # a later run leaves them as they are (the empty tables are written once, never "retired")
    assert run_pipeline(portal, tmp_path).status == "succeeded"
    assert assert_documented_schema(tmp_path, loaded_tables())["sessions"] == 0


def test_models_build_every_staging_model_and_mart_on_a_nearly_empty_portal(portal_factory: Any, tmp_path: Path) -> None:
    portal = portal_factory(**NEARLY_EMPTY)
    assert run_pipeline(portal, tmp_path).status == "succeeded"
    result = cli("models", "--out", str(tmp_path), "--as-of", "2026-11-02")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "skipped" not in (result.stdout + result.stderr).lower()

    expected = {
        (node["schema"], node["name"])
        for node in project_manifest()["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == PROJECT
        and not set(node["tags"]) & set(ON_DEMAND_TAGS)
    }
    assert {s for s, _ in expected} == {"staging", "intermediate", "reporting"}
    built = {
        (r["table_schema"], r["table_name"])
        for r in query(tmp_path, "select table_schema, table_name from information_schema.tables")
    }
    assert sorted(expected - built) == []
    counts = {m: query(tmp_path, f"select count(*) as n from {s}.{m}")[0]["n"] for s, m in expected}
    # no live learning, no enrollments: these show nothing, and say so with no rows rather than an error
    for model in ("stg_sessions", "stg_session_attendance", "session_attendance", "exam_results", "overdue_training",
                  "compliance_status", "stg_enrollments", "leaderboard_history"):
        assert counts[model] == 0, model
    assert counts["stg_users"] == 1 and counts["stg_courses"] > 0
    # and the build's own run record, with every model it built
    recorded = assert_documented_schema(tmp_path, documented_columns())[MODEL_BUILDS]
    assert recorded == len(expected)


def test_parquet_destination_publishes_a_folder_for_every_table_empty_or_not(portal_factory: Any, tmp_path: Path) -> None:
    portal = portal_factory(**NO_LIVE_LEARNING)
    assert run_pipeline(portal, tmp_path, destination="parquet").status == "succeeded"
    for table, spec in loaded_tables().items():
        rows = query(tmp_path, f"select * from learnupon.{table} limit 0", destination="parquet")
        assert rows == [], table
        columns = query(tmp_path, f"describe learnupon.{table}", destination="parquet")
        found = {c["column_name"]: c["column_type"] for c in columns}
        expected = {NAMING.normalize_identifier(c): DUCKDB_TYPES[kind] for c, kind in spec.items()}
        assert {c: found.get(c) for c in expected} == expected, table
    assert query(tmp_path, "select count(*) as n from learnupon.sessions", destination="parquet") == [{"n": 0}]
