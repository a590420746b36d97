"""The Dagster code location: exact asset keys and graph, schedules from config, the instance
config, and the whole graph materialized in process against a simulated portal, with every
check passing, then failing once something is broken."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import (
    AssetCheckKey,
    AssetKey,
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
)

from assets import checks as check_module
from assets import schedules as schedule_module
from assets.definitions import defs
from assets.extract import RESOURCE_TABLES
from pipelines.learnupon import ALL_RESOURCES, TABLE_RESOURCES
from assets.models import MANIFEST
from pipelines.models import ON_DEMAND_TAGS

REPO = Path(__file__).resolve().parents[2]

SOURCE = [
    "users", "groups", "group_memberships", "group_courses", "group_managers", "courses", "course_instructors",
    "modules", "learning_paths", "audit_trails", "enrollments", "learning_path_enrollments", "exams",
    "exam_enrollments", "exam_answers", "assignment_answers", "markcompletes", "sessions", "session_attendance",
    "ilt_sessions", "locations", "timezones", "badges", "certifications", "user_awards", "leaderboard_snapshots",
    "portals", "code_lookups",
]
STAGING = [
    "stg_audit_gaps", "stg_audit_trails", "stg_courses", "stg_enrollments", "stg_exam_answers",
    "stg_exam_enrollments", "stg_exam_question_options", "stg_exam_questions", "stg_exams", "stg_group_courses",
    "stg_group_managers", "stg_group_memberships", "stg_groups", "stg_leaderboard_snapshots", "stg_modules", "stg_portal_versions",
    "stg_session_attendance", "stg_session_attendance_parts", "stg_sessions", "stg_users",
]
INTERMEDIATE = [
    "int_as_of_calendar", "int_best_completions", "int_exam_courses", "int_group_requirements",
    "int_latest_enrollments", "int_required_training",
]
REPORTING = [
    "audit_log", "certifications_expiring", "completion_by_course", "completion_by_group", "compliance_status",
    "compliance_trend", "exam_question_analysis", "exam_results", "group_compliance", "leaderboard_history",
    "learner_activity", "licence_use", "licence_use_trend", "manager_compliance", "overdue_training", "session_attendance",
]
EXPECTED_KEYS = (
    {AssetKey(["learnupon", name]) for name in SOURCE}
    | {AssetKey(["staging", name]) for name in STAGING}
    | {AssetKey(["intermediate", name]) for name in INTERMEDIATE}
    | {AssetKey(["reporting", name]) for name in REPORTING}
)
# the dbt models Dagster's dbt assets hold: the user sync's (tag sync) are built by the asset sync/sync_plan
MODEL_NODES = {n["name"]: n for n in MANIFEST["nodes"].values()
               if n["resource_type"] == "model" and not set(n["tags"]) & set(ON_DEMAND_TAGS)}


def grain_check(mart: str) -> AssetCheckKey:
    """The dbt test that declares a mart's grain, as dagster-dbt names its asset check."""
    names = [k.name for k in graph().asset_check_keys if k.asset_key == AssetKey(["reporting", mart]) and k.name.startswith("unique_grain")]
    assert len(names) == 1, names
    return AssetCheckKey(AssetKey(["reporting", mart]), names[0])


# the user sync (tests/sync/test_sync_dagster.py): skipped unless a roster is configured
SYNC_KEYS = {AssetKey(["sync", name]) for name in ("roster", "sync_plan", "sync_actions")}
SYNC_CHECKS = {AssetCheckKey(AssetKey(["sync", "sync_plan"]), name) for name in ("leavers_within_cap", "invalid_roster_rows")}


def graph():
    return defs.resolve_asset_graph()


# ---- the definitions ------------------------------------------------------------------------------------


def test_exact_asset_keys_groups_and_kinds() -> None:
    asset_graph = graph()
    assert set(asset_graph.get_all_asset_keys()) == EXPECTED_KEYS | SYNC_KEYS
    assert len(EXPECTED_KEYS) == 27 + 19 + 6 + 14
    assert SOURCE == list(ALL_RESOURCES)
    for key in EXPECTED_KEYS:
        node = asset_graph.get(key)
        layer = key.path[0]
        assert node.group_name == ("source" if layer == "learnupon" else layer)
        kinds = set(node.kinds)
        assert kinds == ({"dlt", "duckdb"} if layer == "learnupon" else {"dbt", "duckdb"}), key


def test_model_assets_carry_the_dbt_descriptions_and_columns() -> None:
    spec = graph().get(AssetKey(["reporting", "compliance_status"]))
    assert "required course family" in spec.description
    columns = {c.name: c.description for c in spec.metadata["dagster/column_schema"].columns}
    assert columns["compliance_state"].startswith("compliant (completed any version")
    assert "group_compliance" in columns["required_by_group_ids"]


def test_graph_reads_source_then_staging_then_reporting() -> None:
    asset_graph = graph()
    parents = {key: set(asset_graph.get(key).parent_keys) for key in EXPECTED_KEYS}
    for name in SOURCE:  # the API is outside the graph: dagster-dlt's default deps are not kept
        assert parents[AssetKey(["learnupon", name])] == set()
    assert parents[AssetKey(["staging", "stg_enrollments"])] >= {AssetKey(["learnupon", "enrollments"])}
    assert parents[AssetKey(["staging", "stg_users"])] == {AssetKey(["learnupon", "users"])}
    # exam answers are written by the exam_answers resource, attendance parts by session_attendance
    assert AssetKey(["learnupon", "session_attendance"]) in parents[AssetKey(["staging", "stg_session_attendance_parts"])]
    assert AssetKey(["learnupon", "audit_trails"]) in parents[AssetKey(["staging", "stg_audit_gaps"])]
    assert parents[AssetKey(["reporting", "compliance_status"])] >= {
        AssetKey(["intermediate", "int_required_training"]),
        AssetKey(["staging", "stg_users"]),
    }
    for name, node in MODEL_NODES.items():
        key = AssetKey([node["schema"], name])
        expected = set()
        for parent in node["depends_on"]["nodes"]:
            kind, _, *rest = parent.split(".")
            if kind == "model":
                expected.add(AssetKey([MODEL_NODES[rest[-1]]["schema"], rest[-1]]))
            else:  # source.lms_warehouse.learnupon.<table>: the resource that loads the table
                expected.add(AssetKey(["learnupon", TABLE_RESOURCES[rest[-1]]]))
        assert parents[key] == expected, key
        if node["schema"] != "staging":  # only staging reads raw tables
            assert all(parent.path[0] != "learnupon" for parent in parents[key]), key


def test_every_raw_table_and_mart_has_a_key_check() -> None:
    check_keys = set(graph().asset_check_keys) - SYNC_CHECKS
    for table, resource in TABLE_RESOURCES.items():
        assert AssetCheckKey(AssetKey(["learnupon", resource]), f"unique_key_{table}") in check_keys, table
    for name in SOURCE:
        key = AssetKey(["learnupon", name])
        assert AssetCheckKey(key, "fresh_load") in check_keys
        assert AssetCheckKey(key, "weekly_api_reserve") in check_keys
    for name in REPORTING:  # each mart's grain is a dbt test, and dagster-dbt makes it a check
        assert grain_check(name) in check_keys
    assert AssetCheckKey(AssetKey(["learnupon", "audit_trails"]), "no_audit_gap") in check_keys
    assert AssetCheckKey(AssetKey(["learnupon", "enrollments"]), "enrollments_match_course_counts") in check_keys
    model_ids = {n["unique_id"] for n in MODEL_NODES.values()}
    dbt_tests = [n for n in MANIFEST["nodes"].values() if n["resource_type"] == "test" and n["attached_node"] in model_ids]
    assert len(check_keys) == len(TABLE_RESOURCES) + 2 * 27 + 2 + len(dbt_tests)
    assert sorted(t for tables in RESOURCE_TABLES.values() for t in tables) == sorted(TABLE_RESOURCES)


def test_jobs_select_the_documented_resources() -> None:
    def keys(job_name: str) -> set[AssetKey]:
        return set(defs.resolve_job_def(job_name).asset_layer.executable_asset_keys)

    light = {"audit_trails", "enrollments", "exam_enrollments", "exam_answers", "session_attendance", "learning_path_enrollments"}
    assert keys("light_loads_job") == {AssetKey(["learnupon", n]) for n in light}
    assert keys("daily_full_job") == {AssetKey(["learnupon", n]) for n in SOURCE}
    assert keys("audit_trails_job") == {AssetKey(["learnupon", "audit_trails"])}
    assert keys("models_job") == {k for k in EXPECTED_KEYS if k.path[0] != "learnupon"}
    for name in ("light_loads_job", "daily_full_job", "audit_trails_job"):
        assert defs.resolve_job_def(name).tags["lms_warehouse/api"] == "learnupon"
    for name in ("light_loads_job", "daily_full_job", "audit_trails_job", "models_job"):
        assert defs.resolve_job_def(name).tags["lms_warehouse/warehouse"] == "write"


def test_schedules_come_from_the_config_file_and_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LEARNUPON_USERNAME", "key")  # schedules start only once the keys are configured
    monkeypatch.setenv("LEARNUPON_PASSWORD", "secret")
    by_name = {s.name: s for s in schedule_module.build_schedules()}
    assert by_name["light_loads_schedule"].cron_schedule == "0 * * * *"
    assert by_name["daily_full_schedule"].cron_schedule == "30 2 * * *"
    assert by_name["audit_trails_schedule"].cron_schedule == "15 3 * * *"
    assert by_name["models_daily_schedule"].job_name == "models_job"
    assert all(s.default_status == DefaultScheduleStatus.RUNNING for s in by_name.values())

    monkeypatch.setenv("LMS_SCHEDULE_LIGHT_LOADS_CRON", "*/20 * * * *")
    monkeypatch.setenv("LMS_SCHEDULE_AUDIT_TRAILS_ENABLED", "false")
    monkeypatch.setenv("LMS_SENSOR_MODELS_AFTER_LOADS_ENABLED", "off")
    by_name = {s.name: s for s in schedule_module.build_schedules()}
    assert by_name["light_loads_schedule"].cron_schedule == "*/20 * * * *"
    assert by_name["audit_trails_schedule"].default_status == DefaultScheduleStatus.STOPPED
    assert schedule_module.build_sensors()[0].default_status == DefaultSensorStatus.STOPPED

    other = tmp_path / "schedules.toml"
    other.write_text(
        (REPO / "assets" / "schedules.toml").read_text().replace('cron = "30 2 * * *"', 'cron = "0 4 * * 1-5"')
    )
    monkeypatch.setenv("LMS_SCHEDULES_FILE", str(other))
    by_name = {s.name: s for s in schedule_module.build_schedules()}
    assert by_name["daily_full_schedule"].cron_schedule == "0 4 * * 1-5"

    monkeypatch.setenv("LMS_SCHEDULE_DAILY_FULL_ENABLED", "maybe")
    with pytest.raises(ValueError, match="LMS_SCHEDULE_DAILY_FULL_ENABLED"):
        schedule_module.build_schedules()


def test_schedules_stay_stopped_until_the_api_keys_are_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEARNUPON_USERNAME", raising=False)
    monkeypatch.delenv("LEARNUPON_PASSWORD", raising=False)
    monkeypatch.chdir(REPO / "dagster_home")  # no .dlt/secrets.toml here
    assert {s.default_status for s in schedule_module.build_schedules()} == {DefaultScheduleStatus.STOPPED}
    monkeypatch.setenv("LEARNUPON_USERNAME", "key")
    monkeypatch.setenv("LEARNUPON_PASSWORD", "secret")
    assert {s.default_status for s in schedule_module.build_schedules()} == {DefaultScheduleStatus.RUNNING}


def test_instance_config_queues_api_runs_one_at_a_time(tmp_path: Path) -> None:
    (tmp_path / "dagster.yaml").write_text((REPO / "dagster_home" / "dagster.yaml").read_text())
    old = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(tmp_path)
    try:
        instance = DagsterInstance.get()
        try:
            assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
            concurrency = instance.get_concurrency_config()
            limits = {entry["key"]: entry["limit"] for entry in concurrency.run_queue_config.tag_concurrency_limits}
            assert limits == {"lms_warehouse/api": 1, "lms_warehouse/warehouse": 1}
            assert concurrency.pool_config.default_pool_limit == 1
            from dagster._core.telemetry import _get_instance_telemetry_enabled

            assert _get_instance_telemetry_enabled(instance) is False
        finally:
            instance.dispose()
    finally:
        if old is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = old
    # storage went under DAGSTER_HOME
    assert (tmp_path / "history").is_dir()


# ---- the whole graph against a simulated portal --------------------------------------------------------


@pytest.fixture
def portal_env(portal_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    portal = portal_factory(users=60)
    out = tmp_path / "warehouse"
    monkeypatch.setenv("LEARNUPON_BASE_URL", portal.base_url)
    monkeypatch.setenv("LEARNUPON_USERNAME", portal.config.username)
    monkeypatch.setenv("LEARNUPON_PASSWORD", portal.config.password)
    monkeypatch.setenv("LMS_WAREHOUSE_DIR", str(out))
    monkeypatch.delenv("LMS_WAREHOUSE_DESTINATION", raising=False)
    monkeypatch.delenv("LEARNUPON_WEEKLY_RESERVE", raising=False)
    monkeypatch.delenv("LMS_SCHEDULES_FILE", raising=False)
    monkeypatch.delenv("LMS_SYNC_ROSTER", raising=False)
    yield portal, out


def evaluations(result: Any) -> dict[AssetCheckKey, Any]:
    return {e.asset_check_key: e for e in result.get_asset_check_evaluations()}


def materializations(result: Any) -> dict[AssetKey, dict[str, Any]]:
    return {
        e.asset_key: {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }


def run_checks(instance: DagsterInstance, check_keys: set[AssetCheckKey]) -> dict[AssetCheckKey, Any]:
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_check_selection=check_keys, asset_selection=set())
    # a failing error-severity dbt test is a blocking check (dagster-dbt): it fails its step
    # after every check result is recorded
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    got = evaluations(result)
    blocking_failed = [k for k, e in got.items() if not e.passed and k.asset_key.path[0] != "learnupon"]
    assert result.success == (not blocking_failed)
    return got


def sql(out: Path, statement: str) -> None:
    with duckdb.connect(str(out / "warehouse.duckdb")) as con:
        con.execute(statement)


VERDICT_CHECK = "reporting/exam_results:agrees_with_exam_results_is_passed__meets_pass_threshold"


def test_whole_graph_then_broken_things_fail_their_checks(portal_env: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    portal, out = portal_env
    instance = DagsterInstance.ephemeral()
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance)
    assert result.success

    meta = materializations(result)
    # every resource and every model: every raw table exists after the first load (the schema is stable)
    assert set(meta) == EXPECTED_KEYS
    checks = evaluations(result)
    assert set(checks) == set(graph().asset_check_keys) - SYNC_CHECKS
    failed = {key.to_user_string(): e.metadata for key, e in checks.items() if not e.passed}
    # the one warn-level check counts the portal's verdicts that disagree with the pass threshold: exactly
    # the passes an admin set below it on the portal
    assert failed.pop(VERDICT_CHECK)["dagster_dbt/failed_row_count"].value == len(portal.ground_truth()["exam_enrollments_passed_by_admin"]) > 0
    assert failed == {}

    enrollments = meta[AssetKey(["learnupon", "enrollments"])]
    assert enrollments["dagster/row_count"] == enrollments["rows_loaded"]["enrollments"] > 0
    assert enrollments["cursor_before"] == {}
    assert {"searched_from", "reconciled_at"} <= set(enrollments["cursor_after"])  # the portal clock, not the data
    assert enrollments["api_calls_by_endpoint"]["GET /enrollments/search"]["calls"] > 0
    assert enrollments["rate_limit_remaining_week"] > 0
    assert "rate_limit_min_remaining_minute" in enrollments
    assert meta[AssetKey(["learnupon", "audit_trails"])]["cursor_after"]  # the audit cursor, from dlt state
    users = meta[AssetKey(["learnupon", "users"])]
    assert set(users["rows_loaded"]) == {"users", "user_custom_data", "custom_user_fields"}
    assert users["rows_loaded"]["users"] == 60
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        for name in REPORTING:
            count = con.execute(f"select count(*) from reporting.{name}").fetchone()[0]
            assert meta[AssetKey(["reporting", name])]["dagster/row_count"] == count
        runs = con.execute("select run_id, status, resources from learnupon.pipeline_runs").fetchall()
    assert runs == [(result.run_id.replace("-", "")[:12], "succeeded", ",".join(SOURCE))]
    assert all("password" not in str(v).lower() for m in meta.values() for v in m.values())

    # a light run materializes only its six resources, and the cursor moves on from where it was
    light = defs.resolve_job_def("light_loads_job").execute_in_process(instance=instance)
    assert light.success
    light_meta = materializations(light)
    assert {k.path[-1] for k in light_meta} == set(settings_light())
    assert light_meta[AssetKey(["learnupon", "enrollments"])]["cursor_before"] == enrollments["cursor_after"]
    assert {k.name for k in evaluations(light)} == {
        "fresh_load", "weekly_api_reserve", "unique_key_enrollments", "unique_key_exam_enrollments",
        "unique_key_exam_answers", "unique_key_exam_answer_fetches", "unique_key_session_attendance",
        "unique_key_session_attendance_parts", "unique_key_session_attendance_enrollments",
        "unique_key_learning_path_enrollments", "enrollments_match_course_counts",
        "unique_key_audit_trails", "unique_key_audit_gaps", "no_audit_gap",
    }
    assert all(e.passed for e in evaluations(light).values())

    # break things in the warehouse; the matching checks fail, the others still pass
    sql(out, "insert into learnupon.enrollments select * from learnupon.enrollments limit 1")
    sql(out, "insert into learnupon.users select * from learnupon.users where _dlt_valid_to is null limit 1")
    sql(out, "insert into reporting.compliance_status select * from reporting.compliance_status limit 1")
    sql(out, "update learnupon.courses set num_enrolled = num_enrolled + 50 where id = (select min(id) from learnupon.courses)")
    record_audit_gap(out)
    monkeypatch.setenv("LEARNUPON_WEEKLY_RESERVE", str(10**9))
    monkeypatch.setenv("LMS_FRESHNESS_MAX_AGE_HOURS_USERS", "0")
    got = run_checks(instance, set(graph().asset_check_keys) - SYNC_CHECKS)
    failing = sorted(key.to_user_string() for key, e in got.items() if not e.passed)
    expected_failing = sorted(
        [
            "learnupon/enrollments:unique_key_enrollments",
            "learnupon/users:unique_key_users",
            grain_check("compliance_status").to_user_string(),
            "learnupon/enrollments:enrollments_match_course_counts",
            "learnupon/audit_trails:no_audit_gap",  # the recorded gap
            "learnupon/users:fresh_load",
            *[f"learnupon/{name}:weekly_api_reserve" for name in SOURCE],
            VERDICT_CHECK,  # warns, as before the breakage: admins passed some learners below the threshold
        ]
    )
    assert failing == expected_failing
    dup = got[AssetCheckKey(AssetKey(["learnupon", "enrollments"]), "unique_key_enrollments")].metadata
    assert dup["duplicate_keys"].value == 1 and dup["extra_rows"].value == 1
    assert got[AssetCheckKey(AssetKey(["learnupon", "users"]), "unique_key_users")].metadata["scope"].value == "current rows"
    reconciliation = got[AssetCheckKey(AssetKey(["learnupon", "enrollments"]), "enrollments_match_course_counts")]
    assert reconciliation.metadata["courses_out_of_tolerance"].value == 1
    assert "current" in reconciliation.metadata["tolerance"].value
    budget = got[AssetCheckKey(AssetKey(["learnupon", "users"]), "weekly_api_reserve")].metadata
    assert budget["weekly_reserve"].value == 10**9 and budget["headroom_over_reserve"].value < 0
    gap = got[AUDIT_GAP]
    assert gap.metadata["unacknowledged_gaps"].value == 1 and "lost" in gap.metadata["problem"].value

    # a gap someone has looked at can be acknowledged; a stale audit load fails the check on its own
    monkeypatch.setenv("LMS_AUDIT_GAPS_ACKNOWLEDGED_UNTIL", "2999-01-01T00:00:00+00:00")
    assert run_checks(instance, {AUDIT_GAP})[AUDIT_GAP].passed
    sql(out, "update learnupon.pipeline_runs set finished_at = finished_at - interval 31 days")
    stale = run_checks(instance, {AUDIT_GAP})[AUDIT_GAP]
    assert not stale.passed and "may have been lost" in stale.metadata["problem"].value


AUDIT_GAP = AssetCheckKey(AssetKey(["learnupon", "audit_trails"]), "no_audit_gap")


def record_audit_gap(out: Path) -> None:
    """A row in audit_gaps as the audit resource writes it when it finds a window it can no longer read."""
    with duckdb.connect(str(out / "warehouse.duckdb")) as con:
        con.execute(
            "create table if not exists learnupon.audit_gaps"
            " (gap_start timestamptz, gap_end timestamptz, noticed_at timestamptz, run_id text)"
        )
        columns = {row[0] for row in con.execute("describe learnupon.audit_gaps").fetchall()}
        load_id = ", _dlt_load_id" if "_dlt_load_id" in columns else ""
        con.execute(
            f"insert into learnupon.audit_gaps (gap_start, gap_end, noticed_at, run_id{load_id})"
            " select now() - interval 40 days, now() - interval 30 days, now(), 'test'"
            + (", '0'" if load_id else "")
        )


def test_forty_days_without_audit_load_records_a_gap_and_fails_the_check(portal_env: tuple[Any, Path]) -> None:
    portal, _ = portal_env
    instance = DagsterInstance.ephemeral()
    job = defs.resolve_job_def("audit_trails_job")  # audit trails alone, as the schedule runs them
    assert job.execute_in_process(instance=instance).success
    portal.advance(days=40)
    result = job.execute_in_process(instance=instance)
    assert result.success  # the load succeeds; the check says loudly what was lost
    gap = evaluations(result)[AUDIT_GAP]
    assert not gap.passed
    assert gap.metadata["unacknowledged_gaps"].value == 1
    cursor = materializations(result)[AssetKey(["learnupon", "audit_trails"])]
    assert cursor["cursor_before"] != cursor["cursor_after"]


def settings_light() -> tuple[str, ...]:
    from assets.settings import LIGHT_RESOURCES

    return LIGHT_RESOURCES


def test_a_failed_resource_fails_only_its_asset_and_the_other_models_are_rebuilt(
    portal_env: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterEventType, build_run_status_sensor_context

    from assets.schedules import SENSORS

    from tests.support.portal_proxy import PortalProxy, Rule

    portal, out = portal_env
    proxy = PortalProxy(portal.root_url, [Rule(r"^/api/v1/groups", status=500)]).start()
    try:
        monkeypatch.setenv("LEARNUPON_BASE_URL", proxy.base_url)
        instance = DagsterInstance.ephemeral()
        result = defs.resolve_job_def("daily_full_job").execute_in_process(instance=instance, raise_on_error=False)
    finally:
        proxy.stop()
    assert not result.success
    loaded = {key.path[-1] for key in materializations(result)}
    assert "groups" not in loaded and {"users", "enrollments", "courses", "audit_trails"} <= loaded
    stored = instance.get_run_by_id(result.run_id)
    # group memberships are searched group by group: without the group listing they fail too
    assert stored.tags["lms_warehouse/failed_resources"] == "group_memberships,groups"

    sensor = next(s for s in SENSORS if s.name == "models_after_partial_loads")
    failure = next(e for e in instance.all_logs(result.run_id) if e.dagster_event and e.dagster_event.event_type == DagsterEventType.RUN_FAILURE)
    context = build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_event=failure.dagster_event, dagster_instance=instance, dagster_run=stored,
        repository_def=defs.get_repository_def(),
    )
    request = sensor(context)
    selected = {key.to_user_string() for key in request.asset_selection}
    assert "staging/stg_groups" not in selected and "reporting/completion_by_group" not in selected
    assert "staging/stg_enrollments" in selected and "reporting/exam_results" in selected


def test_loads_made_outside_dagster_show_on_the_source_assets(portal_env: tuple[Any, Path]) -> None:
    from dagster import SensorResult, SkipReason, build_sensor_context

    from assets.observations import cli_loads
    from assets.resources import WarehouseResource

    from tests.conftest import run_pipeline

    portal, out = portal_env
    instance = DagsterInstance.ephemeral()
    summary = run_pipeline(portal, out, resources=["users", "courses"])  # as `lms-warehouse run` does

    def evaluate(cursor: str | None) -> Any:
        context = build_sensor_context(instance=instance, cursor=cursor, resources={"warehouse": WarehouseResource()})
        return cli_loads(context)

    first = evaluate(None)
    assert isinstance(first, SensorResult)
    assert {e.asset_key for e in first.asset_events} == {AssetKey(["learnupon", "users"]), AssetKey(["learnupon", "courses"])}
    assert all(e.metadata["pipeline_run_id"].value == summary.run_id for e in first.asset_events)
    assert isinstance(evaluate(first.cursor), SkipReason)  # nothing new since
    # a Dagster run materialized its own assets: the sensor does not report it again
    assert defs.resolve_job_def("audit_trails_job").execute_in_process(instance=instance).success
    later = evaluate(first.cursor)
    assert isinstance(later, SensorResult) and later.asset_events == [] and later.cursor > first.cursor


def test_model_builds_made_outside_dagster_show_on_the_model_assets(portal_env: tuple[Any, Path]) -> None:
    from dagster import SensorResult, SkipReason, build_sensor_context

    from assets.models import MODEL_KEYS
    from assets.observations import cli_model_builds
    from assets.resources import WarehouseResource

    from tests.conftest import cli, run_pipeline

    portal, out = portal_env
    instance = DagsterInstance.ephemeral()
    run_pipeline(portal, out)
    built = cli("models", "--out", str(out))  # as a user builds them, outside Dagster
    assert built.returncode == 0, built.stderr[-2000:]

    def evaluate(cursor: str | None) -> Any:
        context = build_sensor_context(instance=instance, cursor=cursor, resources={"warehouse": WarehouseResource()})
        return cli_model_builds(context)

    first = evaluate(None)
    assert isinstance(first, SensorResult)
    # every model asset, once, with the rows the build counted
    assert sorted(e.asset_key.to_user_string() for e in first.asset_events) == sorted(k.to_user_string() for k in MODEL_KEYS)
    for event in first.asset_events:  # the daemon stores them so: the UI shows each model materialized
        instance.report_runless_asset_event(event)
    exam_results = instance.get_latest_materialization_event(AssetKey(["reporting", "exam_results"]))
    assert exam_results is not None
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("select count(*) from reporting.exam_results").fetchone()[0]
    assert rows > 0 and exam_results.asset_materialization.metadata["dagster/row_count"].value == rows
    assert isinstance(evaluate(first.cursor), SkipReason)  # nothing new since

    # a Dagster build materialized its own assets: the sensor does not report it again
    stg_users = AssetKey(["staging", "stg_users"])
    job = defs.resolve_job_def("models_job")
    assert job.execute_in_process(instance=instance, asset_selection=[stg_users]).success
    later = evaluate(first.cursor)
    assert isinstance(later, SensorResult) and later.asset_events == [] and later.cursor > first.cursor
