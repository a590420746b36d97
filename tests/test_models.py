"""The SQL models on hand-written raw tables (see test_models_data.py for the story), as of 2026-06-15."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.learnupon.errors import ConfigError
from pipelines.models import SQL_DIR, build_models, discover_models, references
from pipelines.runner import Warehouse
from tests.test_models_data import make_duckdb_warehouse, make_parquet_warehouse

AS_OF = date(2026, 6, 15)
MARTS = (
    "audit_log",
    "certifications_expiring",
    "compliance_status",
    "completion_by_course",
    "completion_by_group",
    "exam_question_analysis",
    "exam_results",
    "leaderboard_history",
    "learner_activity",
    "overdue_training",
    "session_attendance",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("duck")
    make_duckdb_warehouse(out)
    result = build_models(Warehouse(out_dir=out), as_of=AS_OF)
    return out, result


def rows(out: Path, sql: str, database: str = "warehouse.duckdb") -> list[tuple[Any, ...]]:
    with duckdb.connect(str(out / database), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_mart_is_built_with_the_as_of_date(built: tuple[Path, dict[str, int]]) -> None:
    out, result = built
    assert set(MARTS) <= set(result)
    for mart in MARTS:
        assert rows(out, f"select distinct as_of_date from reporting.{mart}") == [(AS_OF,)], mart
    # the exam question tables were not loaded in this warehouse: only their staging models skip
    assert set(result.skipped) == {"stg_exam_questions", "stg_exam_question_options"}


def test_compliance_status(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    got = rows(
        out,
        """
        select user_id, course_family_id, is_user_deleted, is_required_by_group, required_by_groups,
            has_due_date, latest_status, latest_course_version, completed_course_version, completed_date,
            due_date, is_overdue, days_overdue, certificate_expires_date, compliance_state
        from reporting.compliance_status order by user_id, course_family_id
        """,
    )
    d = date
    assert got == [
        # in a group whose required course is past due and not completed: overdue
        (1, 100, False, True, "Warehouse", True, "in_progress", 2, None, None, d(2026, 6, 1), True, 14, None, "overdue"),
        # passed the OLDER version (v1) and now on v2, not started: compliant for the family
        (2, 100, False, True, "Warehouse", True, "not_started", 2, 1, d(2026, 1, 10), d(2026, 7, 1), False, None, d(2027, 1, 10), "compliant"),
        # not group-required, but enrolled with a due date in 10 days
        (2, 200, False, False, None, True, "in_progress", 1, None, None, d(2026, 6, 25), False, None, None, "due_soon"),
        (3, 100, False, True, "Warehouse", False, "completed", 2, 2, d(2026, 3, 1), None, False, None, d(2026, 7, 5), "compliant"),
        # deleted user: history kept, flagged
        (4, 200, True, False, None, True, "not_started", 1, None, None, d(2026, 5, 20), True, 26, None, "overdue"),
        (5, 100, False, True, "Warehouse", False, "not_enrolled", None, None, None, None, False, None, None, "not_started"),
        (5, 200, False, True, "Office", False, "passed", 1, 1, d(2025, 6, 1), None, False, None, d(2026, 6, 1), "expired"),
    ]


def test_deleted_user_keeps_history_and_is_flagged(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    deleted_at = datetime(2026, 5, 1, tzinfo=timezone.utc)
    assert rows(out, "select user_id, full_name, is_deleted, deleted_at from staging.stg_users where user_id = 4") == [
        (4, "Dan Deleted", True, deleted_at)
    ]
    assert rows(out, "select count(*) from staging.stg_users where not is_deleted") == [(4,)]
    assert rows(out, "select enrollment_id from staging.stg_enrollments where user_id = 4") == [(6,)]
    # nobody chases a deleted account
    assert rows(out, "select count(*) from reporting.overdue_training where user_id = 4") == [(0,)]
    assert rows(out, "select is_deleted, deleted_at, is_inactive_with_open_training from reporting.learner_activity where user_id = 4") == [
        (True, deleted_at, False)
    ]


def test_overdue_training(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    assert rows(
        out,
        "select user_id, user_email, course_family_id, course_family_name, required_by_groups, latest_status,"
        " due_date, days_overdue, overdue_bucket from reporting.overdue_training",
    ) == [(1, "ada@example.com", 100, "Forklift Safety 2026", "Warehouse", "in_progress", date(2026, 6, 1), 14, "1-30")]


def test_certifications_expiring(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    # Ben's certificate runs to 2027 (outside 90 days); Dan is deleted
    assert rows(
        out,
        "select user_id, course_family_id, certificate_name, certificate_expires_date, days_to_expiry,"
        " expiry_bucket, expiry_month from reporting.certifications_expiring order by user_id",
    ) == [
        (3, 100, "Forklift operator", date(2026, 7, 5), 20, "0-30", "2026-07"),
        (5, 200, "Fire warden", date(2026, 6, 1), -14, "expired", "2026-06"),
    ]


def test_completion_by_group(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    assert rows(out, "select * exclude (as_of_date) from reporting.completion_by_group order by group_id") == [
        (10, "Warehouse", 100, "Forklift Safety 2026", 4, 3, 2, 2, 0, 1, 0, 1, 0.5),
        (20, "Office", 200, "Fire Safety", 1, 1, 1, 0, 0, 0, 1, 0, 0.0),
    ]


def test_completion_by_course_rolls_up_versions(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    assert rows(out, "select * exclude (as_of_date) from reporting.completion_by_course order by course_family_id") == [
        (100, "Forklift Safety 2026", 2, 101, 2, 4, 3, 1, 1, 0, 0, 2, 0.6667, 4, 2, 0, 1, 0, 1, 0.5),
        (200, "Fire Safety", 1, 200, 1, 2, 2, 0, 1, 0, 0, 1, 0.5, 2, 0, 1, 0, 1, 0, 0.0),
    ]


def test_exam_results(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    # the survey is left out; without a status the score is compared with the pass percentage
    assert rows(
        out,
        "select exam_enrollment_id, user_id, status, score, pass_percentage, is_passed, attempts_used, attempts_allowed"
        " from reporting.exam_results order by exam_enrollment_id",
    ) == [
        (9001, 1, "failed", 40.0, 75.0, False, 2, 3),
        (9002, 2, "passed", 90.0, 75.0, True, 1, 3),
        (9003, 3, "passed", 80.0, 75.0, True, 1, 3),
        (9005, 5, None, 70.0, 75.0, False, 1, 3),
    ]


def test_exam_question_analysis(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    assert rows(
        out,
        "select * exclude (as_of_date, exam_name) from reporting.exam_question_analysis order by share_correct_rank",
    ) == [
        # the question most people fail: lowest share correct, and its most common wrong answer
        (500, 12, "Tilt angle?", 4, 1, 3, 0, 0.25, "A", "B", 2, 1),
        (500, 11, "Max load?", 4, 4, 0, 0, 1.0, "1 t", None, 0, 2),
        (500, 13, "Horn?", 3, 3, 0, 1, 1.0, "Yes", None, 0, 3),
    ]


def test_session_attendance(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    assert rows(
        out,
        "select session_id, user_id, session_status_code, session_status, is_registered, is_present, is_absent,"
        " is_no_show, attendance_state, minutes_attended from reporting.session_attendance order by user_id",
    ) == [
        (700, 1, 20, "completed", True, True, False, False, "present", 180.0),
        (700, 2, 40, "no_show", True, False, False, True, "no_show", None),
        (700, 3, 10, "not_started", True, False, True, False, "absent", None),
        (700, 5, -10, "not_registered", False, False, False, False, "not_registered", None),
    ]


def test_learner_activity(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    assert rows(
        out,
        "select user_id, sign_in_count, last_active_date, enrollments_count, completed_count,"
        " enrolled_last_30_days_count, required_count, open_required_count, overdue_required_count,"
        " days_since_last_active, is_inactive, is_inactive_with_open_training"
        " from reporting.learner_activity order by user_id",
    ) == [
        (1, 40, date(2026, 6, 14), 1, 0, 0, 1, 1, 1, 1, False, False),
        (2, 12, date(2026, 6, 1), 3, 1, 2, 2, 1, 0, 14, False, False),
        (3, 3, date(2026, 3, 1), 1, 1, 0, 1, 0, 0, 106, True, False),
        (4, 1, None, 1, 0, 0, 1, 1, 1, None, True, False),
        # never signed in, with required training open: the one to chase
        (5, 0, None, 1, 1, 0, 2, 2, 0, None, True, True),
    ]


def test_audit_log_decodes_actions(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    # e4 happened after the as-of date
    assert rows(
        out,
        "select event_key, action_code, action_name, is_automated, initiated_by_name, initiated_by_user_id,"
        " impacted_user_name, impacted_user_id, impacted_data, summary from reporting.audit_log order by occurred_at",
    ) == [
        ("e1", 3, "User deleted", False, "Ada Active", 1, "Dan Deleted", 4, None, "Ada Active - User deleted - Dan Deleted"),
        ("e2", 2, "User unenrolled", True, "automated", None, "Ben Builder", 2, "Fire Safety", "automated - User unenrolled - Ben Builder (Fire Safety)"),
        ("e3", 99, "Unknown action 99", False, "Ada Active", 1, None, None, None, "Ada Active - Unknown action 99"),
    ]


def test_leaderboard_history(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    # the day's last snapshot wins; the 2026-06-16 snapshot is after the as-of date
    assert rows(
        out,
        "select snapshot_date, user_id, leaderboard_position, total_points, points_gained, position_change"
        " from reporting.leaderboard_history order by snapshot_date, user_id",
    ) == [
        (date(2026, 6, 13), 1, 2, 100, None, None),
        (date(2026, 6, 13), 2, 1, 150, None, None),
        (date(2026, 6, 14), 1, 1, 160, 60, 1),
        (date(2026, 6, 14), 2, 2, 150, 0, -1),
    ]


def test_as_of_moves_the_states(tmp_path: Path) -> None:
    make_duckdb_warehouse(tmp_path)
    build_models(Warehouse(out_dir=tmp_path), as_of=date(2026, 5, 15), select=None)
    # a month earlier Ada was not yet overdue but due soon, and Eve's certificate was still valid
    assert rows(tmp_path, "select user_id, course_family_id, compliance_state from reporting.compliance_status where user_id in (1, 5) order by all") == [
        (1, 100, "due_soon"),
        (5, 100, "not_started"),
        (5, 200, "compliant"),
    ]


def test_parquet_layout_gives_the_same_marts(tmp_path: Path, built: tuple[Path, dict[str, int]]) -> None:
    duck_out, duck_result = built
    make_parquet_warehouse(tmp_path)
    result = build_models(Warehouse(out_dir=tmp_path, destination="parquet"), as_of=AS_OF)
    for mart in MARTS:
        assert result[mart] == duck_result[mart], mart
        expected = rows(duck_out, f"select * from reporting.{mart} order by all")
        assert rows(tmp_path, f"select * from reporting.{mart} order by all", "reports.duckdb") == expected, mart
        # and the Parquet copy a BI tool reads
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            copy = con.execute(f"select * from '{tmp_path / 'reporting' / mart / 'data.parquet'}' order by all").fetchall()
        assert copy == expected, mart
    # newest load wins per key; the killed load 3 is ignored; SCD2 history rebuilt from the loads
    assert rows(tmp_path, "select status from learnupon.enrollments where id = 1", "reports.duckdb") == [("in_progress",)]
    assert rows(tmp_path, "select count(*) from learnupon.users where _dlt_valid_to is null", "reports.duckdb") == [(4,)]
    assert not list((tmp_path / "reporting").glob(".tmp-*"))


def test_parquet_rebuild_replaces_the_files(tmp_path: Path) -> None:
    make_parquet_warehouse(tmp_path)
    warehouse = Warehouse(out_dir=tmp_path, destination="parquet")
    build_models(warehouse, as_of=AS_OF)
    build_models(warehouse, as_of=date(2026, 5, 15))
    with duckdb.connect() as con:
        got = con.execute(f"select distinct as_of_date from '{tmp_path}/reporting/compliance_status/data.parquet'").fetchall()
    assert got == [(date(2026, 5, 15),)]


def test_missing_raw_table_skips_only_the_models_that_need_it(tmp_path: Path) -> None:
    make_duckdb_warehouse(tmp_path, skip=("group_courses",))
    result = build_models(Warehouse(out_dir=tmp_path), as_of=AS_OF)
    assert result.skipped["stg_group_courses"] == "raw table learnupon.group_courses missing (not loaded yet?)"
    assert result.skipped["compliance_status"] == "needs staging.stg_group_courses, which was skipped"
    for downstream in ("overdue_training", "completion_by_group", "completion_by_course", "learner_activity"):
        assert downstream in result.skipped
    for unaffected in ("stg_users", "certifications_expiring", "exam_question_analysis", "session_attendance", "audit_log"):
        assert unaffected in result


def test_select_builds_only_the_chosen_models(built: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    make_duckdb_warehouse(tmp_path)
    result = build_models(Warehouse(out_dir=tmp_path), as_of=AS_OF, select=["stg_users", "stg_audit_trails", "audit_log"])
    assert set(result) == {"stg_users", "stg_audit_trails", "audit_log"}
    alone = build_models(Warehouse(out_dir=tmp_path), as_of=AS_OF, select=["overdue_training"])
    assert alone.skipped == {"overdue_training": "needs reporting.compliance_status, which has not been built"}
    with pytest.raises(ConfigError, match="unknown model"):
        build_models(Warehouse(out_dir=tmp_path), select=["no_such_model"])


def test_no_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no warehouse"):
        build_models(Warehouse(out_dir=tmp_path))
    with pytest.raises(ConfigError, match="no Parquet warehouse"):
        build_models(Warehouse(out_dir=tmp_path, destination="parquet"))


def test_discover_models_reads_dependencies_from_the_sql() -> None:
    models = {m.name: m for m in discover_models()}
    assert models["stg_users"].layer == "staging" and models["stg_users"].sources == ("users",)
    assert models["stg_enrollments"].depends_on == ("stg_courses",)
    assert models["overdue_training"].depends_on == ("compliance_status",)
    assert models["compliance_status"].layer == "reporting"
    assert "stg_group_courses" in models["compliance_status"].depends_on
    assert set(MARTS) <= {n for n, m in models.items() if m.layer == "reporting"}
    order = [m.name for m in discover_models()]
    for model in models.values():
        for dep in model.depends_on:
            assert order.index(dep) < order.index(model.name)
        assert model.sql.rstrip().rstrip(";").endswith("select * from final"), model.name
        assert model.sql.startswith(f"-- {model.name}:"), model.name


def test_references_ignore_comments_and_strings() -> None:
    sql = "-- reads learnupon.ghost\nselect 'staging.nope' from learnupon.users join staging.stg_courses on true"
    assert references(sql) == [("learnupon", "users"), ("staging", "stg_courses")]


def test_discover_models_on_a_folder(tmp_path: Path) -> None:
    (tmp_path / "staging").mkdir()
    (tmp_path / "marts").mkdir()
    (tmp_path / "staging" / "stg_a.sql").write_text("select * from learnupon.a")
    (tmp_path / "marts" / "m2.sql").write_text("select * from reporting.m1")
    (tmp_path / "marts" / "m1.sql").write_text("select * from staging.stg_a")
    assert [m.name for m in discover_models(tmp_path)] == ["stg_a", "m1", "m2"]
    (tmp_path / "marts" / "m3.sql").write_text("select * from staging.missing")
    with pytest.raises(ValueError, match="missing"):
        discover_models(tmp_path)
    assert SQL_DIR.is_dir()
