"""The dbt project on hand-written raw tables (see test_models_data.py for the story), as of 2026-06-15.

Every case is an exact-row comparison of a mart built by the real `dbt build` (dbtRunner) on a
real DuckDB file; the dbt unit tests in sql/models/*/_*.yml pin the compliance rules too.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import re
import shutil

import duckdb
import pytest

from pipelines.learnupon.errors import ConfigError
from pipelines.models import PROJECT_DIR, build_models
from pipelines.models.parsing import parse
from pipelines.models.project import Graph
from pipelines.run.runner import Warehouse
from tests.models.test_models_data import LOAD_1_AT, LOAD_2_AT, make_duckdb_warehouse

AS_OF = date(2026, 6, 15)
MARTS = (
    "audit_log",
    "certifications_expiring",
    "compliance_status",
    "compliance_trend",
    "group_compliance",
    "manager_compliance",
    "completion_by_course",
    "completion_by_group",
    "exam_question_analysis",
    "exam_results",
    "leaderboard_history",
    "licence_use",
    "licence_use_trend",
    "learner_activity",
    "overdue_training",
    "session_attendance",
)

# the marts with a row per person that leave users deleted on the portal out (the data dictionary says so)
PEOPLE_MARTS = (
    "compliance_status",
    "overdue_training",
    "certifications_expiring",
    "group_compliance",
    "manager_compliance",
    "exam_results",
    "session_attendance",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("duck")
    make_duckdb_warehouse(out)
    result = build_models(Warehouse(out_dir=out), as_of=AS_OF, unit_tests=True)
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
        select user_id, course_family_id, is_required_by_group, required_by_groups,
            has_due_date, latest_status, latest_course_version, completed_course_version, completed_date,
            due_date, is_overdue, days_overdue, certificate_expires_date, compliance_state
        from reporting.compliance_status order by user_id, course_family_id
        """,
    )
    d = date
    assert got == [
        # in a group whose required course is past due and not completed: overdue (no portal flag: by the due date)
        (1, 100, True, "Warehouse", True, "in_progress", 2, None, None, d(2026, 6, 1), True, 14, None, "overdue"),
        # passed the OLDER version (v1) and now on v2, not started: compliant for the family
        (2, 100, True, "Warehouse", True, "not_started", 2, 1, d(2026, 1, 10), d(2026, 7, 1), False, None, d(2027, 1, 10), "compliant"),
        # not group-required, but enrolled with a due date in 10 days
        (2, 200, False, None, True, "in_progress", 1, None, None, d(2026, 6, 25), False, None, None, "due_soon"),
        (3, 100, True, "Warehouse", False, "completed", 2, 2, d(2026, 3, 1), None, False, None, d(2026, 7, 5), "compliant"),
        # Dan (4), deleted on the portal, has no rows although his enrollment is still current
        (5, 100, True, "Warehouse", False, "not_enrolled", None, None, None, None, False, None, None, "not_started"),
        (5, 200, True, "Office", False, "passed", 1, 1, d(2025, 6, 1), None, False, None, d(2026, 6, 1), "expired"),
    ]


def test_deleted_user_is_flagged_in_staging_and_absent_from_the_lists(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    deleted_at = datetime(2026, 5, 1, tzinfo=timezone.utc)
    assert rows(out, "select user_id, full_name, is_deleted, deleted_at from staging.stg_users where user_id = 4") == [
        (4, "Dan Deleted", True, deleted_at)
    ]
    assert rows(out, "select count(*) from staging.stg_users where not is_deleted") == [(4,)]
    assert rows(out, "select enrollment_id from staging.stg_enrollments where user_id = 4") == [(6,)]
    # nobody chases a deleted account: the marts of people leave him out (learner_activity flags him)
    for mart in PEOPLE_MARTS:
        assert rows(out, f"select count(*) from reporting.{mart} where user_id = 4") == [(0,)], mart
    assert rows(out, "select is_deleted, deleted_at, is_inactive_with_open_training from reporting.learner_activity where user_id = 4") == [
        (True, deleted_at, False)
    ]


def test_the_dictionary_names_the_marts_that_leave_deleted_users_out() -> None:
    """The overview's list is the list checked above (Dan, deleted, is absent from each)."""
    overview = (PROJECT_DIR / "models" / "overview.md").read_text()
    paragraph = " ".join(overview[overview.index("**Deleted users.**") :].split("\n\n")[0].split())
    named = paragraph[paragraph.index("no row of theirs in") : paragraph.index("- and so do")]
    assert set(re.findall(r"`(\w+)`", named)) == set(PEOPLE_MARTS)


def test_columns_described_as_never_null_have_no_null(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    assert_never_null_as_described(out / "warehouse.duckdb")


def assert_never_null_as_described(database: Path) -> None:
    """Every reporting column whose description says "Never null" has no null in the built marts."""
    from pipelines.models.manifest import project_manifest

    claims = [
        (node["name"], column)
        for node in project_manifest()["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "reporting"
        for column, spec in node["columns"].items()
        if "Never null" in (spec.get("description") or "")
    ]
    assert len(claims) > 100
    with duckdb.connect(str(database), read_only=True) as con:
        nulls = {
            f"{mart}.{column}": n
            for mart, column in claims
            if (n := con.execute(f'select count(*) from reporting.{mart} where "{column}" is null').fetchone()[0])
        }
    assert nulls == {}


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
    assert rows(out, "select * exclude (portal, as_of_date) from reporting.completion_by_group order by group_id") == [
        (10, "Warehouse", 100, "Forklift Safety 2026", 4, 3, 2, 2, 0, 1, 0, 1, 0.5),
        (20, "Office", 200, "Fire Safety", 1, 1, 1, 0, 0, 0, 1, 0, 0.0),
    ]


def test_completion_by_course_rolls_up_versions(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    assert rows(out, "select * exclude (portal, as_of_date) from reporting.completion_by_course order by course_family_id") == [
        (100, "Forklift Safety 2026", 2, 101, 2, 4, 3, 1, 1, 0, 0, 2, 0.6667, 4, 2, 0, 1, 0, 1, 0.5),
        (200, "Fire Safety", 1, 200, 1, 2, 2, 0, 1, 0, 0, 1, 0.5, 2, 0, 1, 0, 1, 0, 0.0),
    ]


def test_exam_results(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    # the survey is left out; without a status the score is compared with the pass percentage
    assert rows(
        out,
        "select exam_enrollment_id, user_id, status, score, pass_percentage, is_passed, meets_pass_threshold,"
        " attempts_used, attempts_allowed from reporting.exam_results order by exam_enrollment_id",
    ) == [
        (9001, 1, "failed", 40.0, 75.0, False, False, 2, 3),
        (9002, 2, "passed", 90.0, 75.0, True, True, 1, 3),
        (9003, 3, "passed", 80.0, 75.0, True, True, 1, 3),
        # no status: the portal states no verdict, whatever the score
        (9005, 5, None, 70.0, 75.0, None, False, 1, 3),
        # the portal says passed at 60 of 75%: the portal's word is the verdict, the threshold disagrees
        (9006, 2, "passed", 60.0, 75.0, True, False, 4, 3),
    ]


def test_exam_results_name_the_course_and_warn_about_verdicts_below_the_threshold(built: tuple[Path, dict[str, int]]) -> None:
    out, result = built
    assert rows(
        out,
        "select exam_enrollment_id, course_id, course_version, course_family_id, course_family_name, pass_threshold_used,"
        " attempts_remaining, is_over_attempts_allowed"
        " from reporting.exam_results order by exam_enrollment_id",
    ) == [
        # the exam sits in both versions: the newest one names the course
        (9001, 101, 2, 100, "Forklift Safety 2026", "pass_percentage", 1, False),
        (9002, 101, 2, 100, "Forklift Safety 2026", "pass_percentage", 2, False),
        (9003, 101, 2, 100, "Forklift Safety 2026", "pass_percentage", 2, False),
        (9005, 101, 2, 100, "Forklift Safety 2026", "pass_percentage", 2, False),
        (9006, 101, 2, 100, "Forklift Safety 2026", "pass_percentage", -1, True),
    ]
    # the disagreement (9006) is counted by a test that warns, and fails nothing
    [verdicts] = [t for t in result.tests if t.name.startswith("agrees_with_exam_results_is_passed")]
    assert (verdicts.status, verdicts.failures, verdicts.severity.lower()) == ("warn", 1, "warn")


def test_group_compliance_lists_each_groups_people(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    # "who is overdue in Warehouse" needs no LIKE on titles
    assert rows(
        out,
        "select group_id, user_id, course_family_id, is_required_by_this_group, required_by_group_ids, compliance_state"
        " from reporting.group_compliance order by all",
    ) == [
        (10, 1, 100, True, [10], "overdue"),
        (10, 2, 100, True, [10], "compliant"),
        # Ben's Fire Safety is due soon; no group requires it, but his group's manager sees it
        (10, 2, 200, False, None, "due_soon"),
        (10, 3, 100, True, [10], "compliant"),
        (10, 5, 100, True, [10], "not_started"),
        (10, 5, 200, False, [20], "expired"),
        (20, 5, 100, False, [10], "not_started"),
        (20, 5, 200, True, [20], "expired"),
    ]
    assert rows(out, "select user_id from reporting.group_compliance where group_id = 10 and compliance_state = 'overdue'") == [(1,)]


def test_manager_compliance_shows_a_manager_their_people(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    assert rows(
        out,
        "select manager_user_id, manager_name, user_id, course_family_id, managed_groups, compliance_state"
        " from reporting.manager_compliance order by all",
    ) == [
        (1, "Ada Active", 1, 100, "Warehouse", "overdue"),
        (1, "Ada Active", 2, 100, "Warehouse", "compliant"),
        (1, "Ada Active", 2, 200, "Warehouse", "due_soon"),
        (1, "Ada Active", 3, 100, "Warehouse", "compliant"),
        (1, "Ada Active", 5, 100, "Warehouse", "not_started"),
        (1, "Ada Active", 5, 200, "Warehouse", "expired"),
    ]


def test_compliance_trend_replays_completions_and_expiries(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    trend = rows(
        out,
        "select calendar_date, course_family_id, required_count, compliant_count, overdue_count"
        " from reporting.compliance_trend where calendar_date >= date '2025-12-31' order by all",
    )
    assert trend == [
        # Forklift: Ben passed v1 on 2026-01-10, Cara completed v2 on 2026-03-01; Ada due 2026-06-01
        (date(2025, 12, 31), 100, 4, 0, 0),
        (date(2025, 12, 31), 200, 2, 1, 0),
        (date(2026, 1, 31), 100, 4, 1, 0),
        (date(2026, 1, 31), 200, 2, 1, 0),
        (date(2026, 2, 28), 100, 4, 1, 0),
        (date(2026, 2, 28), 200, 2, 1, 0),
        (date(2026, 3, 31), 100, 4, 2, 0),
        (date(2026, 3, 31), 200, 2, 1, 0),
        (date(2026, 4, 30), 100, 4, 2, 0),
        (date(2026, 4, 30), 200, 2, 1, 0),
        # Eve's Fire Safety certificate expired on 2026-06-01
        (date(2026, 5, 31), 100, 4, 2, 0),
        (date(2026, 5, 31), 200, 2, 1, 0),
        (date(2026, 6, 15), 100, 4, 2, 1),
        (date(2026, 6, 15), 200, 2, 0, 0),
    ]
    # on the as-of date the trend agrees with compliance_status
    assert rows(out, "select sum(compliant_count) from reporting.compliance_trend where is_as_of_date") == rows(
        out, "select count(*) from reporting.compliance_status where compliance_state = 'compliant'"
    )


def test_every_data_test_and_unit_test_passes(built: tuple[Path, dict[str, int]]) -> None:
    _, result = built
    assert result.tests, "dbt ran no test"
    assert {t.name for t in result.tests if t.unique_id.startswith("unit_test.")}, "no unit test ran"
    # the one warning is the exam verdict the portal gives below the exam's threshold (test_exam_results_...)
    assert [(t.name, t.message) for t in result.tests if not t.passed and t.status != "warn"] == []
    assert [t.name for t in result.tests if t.status == "warn"] == [
        "agrees_with_exam_results_is_passed__meets_pass_threshold"
    ]


def test_exam_question_analysis(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    assert rows(
        out,
        "select * exclude (portal, as_of_date, exam_name) from reporting.exam_question_analysis order by share_correct_rank",
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
        # deleted: kept here, flagged; no required training (compliance_status leaves him out)
        (4, 1, None, 1, 0, 0, 0, 0, 0, None, True, False),
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


def test_licence_use_is_each_listed_portals_current_figures(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    # emea is over its licences since the second load; old is no longer listed; free bought none
    assert rows(
        out,
        "select portal, portal_id, subdomain, members_count, licences_purchased, licences_used, licences_available,"
        " licence_use_rate, is_over_licensed, figures_since_at from reporting.licence_use order by portal_id",
    ) == [
        ("acme", 12871, "emea", 120, 100, 110, -10, 1.1, True, LOAD_2_AT),
        ("acme", 12872, "apac", 25, 50, 20, 30, 0.4, False, LOAD_1_AT),
        ("acme", 12874, "free", 3, 0, 3, -3, None, True, LOAD_2_AT),
    ]


def test_licence_use_trend_has_a_point_per_change(built: tuple[Path, dict[str, int]]) -> None:
    out, _ = built
    assert rows(
        out,
        "select portal_id, valid_from_at, valid_to_at, is_current, licences_purchased, licences_used,"
        " licence_use_rate, licences_used_change, licences_purchased_change"
        " from reporting.licence_use_trend order by portal_id, valid_from_at",
    ) == [
        (12871, LOAD_1_AT, LOAD_2_AT, False, 100, 80, 0.8, None, None),
        (12871, LOAD_2_AT, None, True, 100, 110, 1.1, 30, 0),
        (12872, LOAD_1_AT, None, True, 50, 20, 0.4, None, None),
        (12873, LOAD_1_AT, LOAD_2_AT, False, 10, 10, 1.0, None, None),  # gone from the listing at the second load
        (12874, LOAD_2_AT, None, True, 0, 3, None, None, None),
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


def test_as_of_moves_the_states(built: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    shutil.copy(built[0] / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    build_models(Warehouse(out_dir=tmp_path), as_of=date(2026, 5, 15), select=["compliance_status"])
    # a month earlier Ada was not yet overdue but due soon, and Eve's certificate was still valid
    assert rows(tmp_path, "select user_id, course_family_id, compliance_state from reporting.compliance_status where user_id in (1, 5) order by all") == [
        (1, 100, "due_soon"),
        (5, 100, "not_started"),
        (5, 200, "compliant"),
    ]


def test_an_expired_certificate_with_an_overdue_reenrollment_is_on_the_overdue_list(
    built: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    """Eve's Fire Safety certificate expired on 2026-06-01; the portal re-enrolls her, due 2026-06-10, and flags it overdue."""
    shutil.copy(built[0] / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute(
            """
            insert into learnupon.enrollments (portal, id, user_id, course_id, version, status, date_enrolled, due_date, is_overdue, updated_at)
            select any_value(portal), 8, 5, 200, 1, 'not_started', '2026-06-02', '2026-06-10', true, '2026-06-11' from learnupon.users
            """
        )
    build_models(Warehouse(out_dir=tmp_path), as_of=AS_OF, select=["compliance_status", "overdue_training"])
    assert rows(
        tmp_path,
        "select compliance_state, is_overdue, is_overdue_on_portal, is_overdue_by_due_date, due_date, days_overdue"
        " from reporting.compliance_status where user_id = 5 and course_family_id = 200",
    ) == [("expired", True, True, True, date(2026, 6, 10), 5)]
    assert rows(
        tmp_path,
        "select user_id, course_family_id, overdue_reason, required_by_groups, latest_enrollment_id, due_date,"
        " certificate_expires_date, days_overdue from reporting.overdue_training order by user_id",
    ) == [
        (1, 100, "not_completed_by_due_date", "Warehouse", 1, date(2026, 6, 1), None, 14),
        (5, 200, "certificate_expired_and_reenrollment_overdue", "Office", 8, date(2026, 6, 10), date(2026, 6, 1), 5),
    ]


def test_parquet_destination_publishes_the_marts_beside_the_raw_tables(tmp_path: Path, built: tuple[Path, dict[str, int]]) -> None:
    duck_out, duck_result = built
    make_duckdb_warehouse(tmp_path)  # the Parquet destination's working warehouse is this same file
    result = build_models(Warehouse(out_dir=tmp_path, destination="parquet"), as_of=AS_OF)
    marts = tmp_path / "parquet" / "marts"
    for mart in MARTS:
        assert result[mart] == duck_result[mart], mart
        expected = rows(duck_out, f"select * from reporting.{mart} order by all")
        with duckdb.connect() as con:  # as a BI tool reads the folder
            con.execute("set TimeZone = 'UTC'")
            published = con.execute(f"select * from read_parquet('{marts / mart}/*.parquet') order by all").fetchall()
        assert published == expected, mart
    assert sorted(p.name for p in marts.iterdir() if not p.name.startswith(".")) == sorted(result.marts)
    assert not list(marts.glob(".versions/*/.*"))  # nothing half-written left
    assert not (tmp_path / "reporting").exists()
    # a rebuild replaces the published mart
    build_models(Warehouse(out_dir=tmp_path, destination="parquet"), as_of=date(2026, 5, 15), select=["compliance_status"])
    with duckdb.connect() as con:
        got = con.execute(f"select distinct as_of_date from read_parquet('{marts}/compliance_status/*.parquet')").fetchall()
    assert got == [(date(2026, 5, 15),)]


def test_missing_raw_table_skips_only_the_models_that_need_it(tmp_path: Path) -> None:
    make_duckdb_warehouse(tmp_path, skip=("group_courses",))
    result = build_models(Warehouse(out_dir=tmp_path), as_of=AS_OF)
    assert result.skipped["stg_group_courses"] == "raw table learnupon.group_courses missing (not loaded yet?)"
    assert result.skipped["int_group_requirements"] == "needs staging.stg_group_courses, which was skipped"
    assert result.skipped["compliance_status"] == "needs intermediate.int_required_training, which was skipped"
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


def test_the_user_sync_models_are_left_out_of_the_build(built: tuple[Path, dict[str, int]]) -> None:
    """The models tagged sync need a roster: `lms-warehouse sync` builds them (tests/sync/test_sync.py), a models build never."""
    out, result = built
    sync_models = {"sync_plan", "sync_roster", "sync_roster_cells", "sync_roster_fields", "sync_fields", "sync_users",
                   "sync_user_values"}
    assert sync_models <= set(result.schemas) and result.schemas["sync_plan"] == "sync"
    assert not sync_models & (set(result) | set(result.skipped))
    assert {t.model for t in result.tests}.isdisjoint(sync_models)
    assert rows(out, "select count(*) from information_schema.tables where table_schema = 'sync'") == [(0,)]


def test_no_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no warehouse"):
        build_models(Warehouse(out_dir=tmp_path))
    with pytest.raises(ConfigError, match="no warehouse"):  # the Parquet destination's working warehouse
        build_models(Warehouse(out_dir=tmp_path, destination="parquet"))


def test_dependencies_come_from_dbts_graph(tmp_path: Path) -> None:
    make_duckdb_warehouse(tmp_path)
    from pipelines.models.profile import warehouse_profile

    warehouse = Warehouse(out_dir=tmp_path)
    graph = Graph.of(parse(warehouse.backend.dbt_target(), "learnupon", warehouse_profile(warehouse)))
    assert graph.sources("stg_users") == ["users"]
    assert graph.parents("stg_enrollments") == ["stg_courses"]
    assert graph.parents("overdue_training") == ["compliance_status"]
    assert "int_required_training" in graph.parents("compliance_status")
    assert graph.schema("compliance_status") == "reporting" and graph.schema("stg_users") == "staging"
    assert set(MARTS) == {n for n in graph.models if graph.schema(n) == "reporting"}
    for name in graph.models:
        for parent in graph.parents(name):
            assert graph.order.index(parent) < graph.order.index(name)
        if graph.schema(name) == "reporting":  # marts read staging and intermediate, never raw tables
            assert graph.sources(name) == [], name
    assert (PROJECT_DIR / "dbt_project.yml").is_file()


def test_current_rows_drop_rows_deleted_upstream(tmp_path: Path) -> None:
    """A row with `_dlt_valid_to` set (retired: deleted upstream) is left out; current rows stay."""
    make_duckdb_warehouse(tmp_path)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("update learnupon.enrollments set _dlt_valid_to = timestamptz '2026-06-10 00:00:00+00' where id = 4")
    build_models(Warehouse(out_dir=tmp_path), as_of=AS_OF, select=["stg_courses", "stg_enrollments", "stg_groups"])
    assert rows(tmp_path, "select enrollment_id from staging.stg_enrollments order by 1") == [(1,), (2,), (3,), (5,), (6,), (7,)]
    assert rows(tmp_path, "select count(*) from staging.stg_groups") == [(2,)]


def test_a_data_test_that_finds_something_is_reported(tmp_path: Path) -> None:
    make_duckdb_warehouse(tmp_path)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("update learnupon.enrollments set status = 'archived' where id = 7")
    result = build_models(Warehouse(out_dir=tmp_path), as_of=AS_OF, select=["stg_courses", "stg_enrollments"])
    found = [(t.name, t.model, t.status, t.failures) for t in result.tests if not t.passed]
    assert found == [("accepted_values_stg_enrollments_status__not_started__in_progress__completed__passed__failed__pending_review", "stg_enrollments", "warn", 1)]
    assert result.failed_tests == []  # a warning does not stop the build
    assert set(result) == {"stg_courses", "stg_enrollments"}
