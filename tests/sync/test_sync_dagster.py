"""The user sync in Dagster: assets, checks, jobs and sensor, run in process against a simulated portal.

The plan job plans and writes nothing; the apply job applies when the plan's blocking checks pass
and does not when the safety cap fails; "materialize all" never writes to LearnUpon; the sensor
asks for a run only when the roster file changes, and is stopped by default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance, DefaultSensorStatus, RunRequest, SkipReason, build_sensor_context

from assets import sync as sync_assets
from assets.definitions import defs

from tests.conftest import query
from tests.support.sync_roster import by_external_id, new_hire, people, write_roster

PLAN = AssetKey(["sync", "sync_plan"])
CAP = AssetCheckKey(PLAN, "leavers_within_cap")
INVALID = AssetCheckKey(PLAN, "invalid_roster_rows")


@pytest.fixture
def env(portal: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Any, Path]:
    out = tmp_path / "warehouse"
    monkeypatch.setenv("LEARNUPON_BASE_URL", portal.base_url)
    monkeypatch.setenv("LEARNUPON_USERNAME", portal.config.username)
    monkeypatch.setenv("LEARNUPON_PASSWORD", portal.config.password)
    monkeypatch.setenv("LMS_WAREHOUSE_DIR", str(out))
    monkeypatch.delenv("LMS_WAREHOUSE_DESTINATION", raising=False)
    monkeypatch.delenv("LMS_SYNC_MAPPING", raising=False)
    monkeypatch.delenv("LEARNUPON_WEEKLY_RESERVE", raising=False)
    return portal, out


def checks(result: Any) -> dict[AssetCheckKey, Any]:
    return {e.asset_check_key: e for e in result.get_asset_check_evaluations()}


def materialized(result: Any) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_the_sync_assets_and_jobs() -> None:
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0] == "sync"} == {
        "sync/roster", "sync/sync_plan", "sync/sync_actions"}
    assert set(graph.get(PLAN).parent_keys) == {
        AssetKey(["sync", "roster"]), AssetKey(["learnupon", "users"]), AssetKey(["learnupon", "groups"]),
        AssetKey(["learnupon", "group_memberships"])}
    assert {k for k in graph.asset_check_keys if k.asset_key == PLAN} == {CAP, INVALID}
    plan_job = defs.resolve_job_def("sync_plan_job")
    assert {k.to_user_string() for k in plan_job.asset_layer.executable_asset_keys} == {
        "learnupon/users", "learnupon/groups", "learnupon/group_memberships", "sync/roster", "sync/sync_plan"}
    apply_job = defs.resolve_job_def("sync_apply_job")
    assert {k.to_user_string() for k in apply_job.asset_layer.executable_asset_keys} == {
        "learnupon/users", "learnupon/groups", "learnupon/group_memberships", "sync/roster", "sync/sync_plan",
        "sync/sync_actions"}
    assert apply_job.tags["lms_warehouse/api"] == "learnupon"
    sensor = defs.resolve_sensor_def("sync_roster_file")
    assert sensor.default_status == DefaultSensorStatus.STOPPED


def test_plan_then_apply_then_a_roster_over_the_cap_is_not_applied(env: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    portal, out = env
    rows = people(portal)
    roster = write_roster(tmp_path / "roster.csv", rows + [new_hire(1, location="Sales")])
    monkeypatch.setenv("LMS_SYNC_ROSTER", str(roster))
    instance = DagsterInstance.ephemeral()

    applied = defs.resolve_job_def("sync_apply_job").execute_in_process(instance=instance)
    assert applied.success
    assert {"sync/roster", "sync/sync_plan", "sync/sync_actions"} <= materialized(applied)
    assert all(e.passed for e in checks(applied).values()) and {CAP, INVALID} <= set(checks(applied))
    assert by_external_id(portal)["N0001"][0]["groups"] == {"Sales"}
    statuses = query(out, "select action, status from sync.sync_actions order by action")
    assert statuses == [{"action": "create", "status": "succeeded"}, {"action": "join_group", "status": "succeeded"}]

    # "materialize all" plans but never writes to LearnUpon (sync_plan_job is a dry run the same way)
    write_roster(roster, rows + [new_hire(1, location="Sales"), new_hire(2)])
    everything = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={AssetKey(["sync", "roster"]), PLAN, AssetKey(["sync", "sync_actions"])})
    planned = everything.execute_in_process(instance=instance)
    assert planned.success and materialized(planned) == {"sync/roster", "sync/sync_plan"}
    assert {"action_key": "create:N0002"} in query(out, "select action_key from sync.sync_plan where is_write")
    assert "N0002" not in by_external_id(portal)

    # a third of the staff missing from the roster: the cap check fails and blocks the apply
    write_roster(roster, rows[40:])
    writes = portal.calls["PUT /users/{id}"]
    blocked = defs.resolve_job_def("sync_apply_job").execute_in_process(instance=instance, raise_on_error=False)
    cap = checks(blocked)[CAP]
    assert not cap.passed and "over the cap" in cap.metadata["problem"].value
    assert "sync/sync_actions" not in materialized(blocked)
    assert portal.calls["PUT /users/{id}"] == writes


def test_no_roster_skips_the_sync_assets(env: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LMS_SYNC_ROSTER", raising=False)
    result = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={AssetKey(["sync", "roster"]), PLAN, AssetKey(["sync", "sync_actions"])}
    ).execute_in_process(instance=DagsterInstance.ephemeral())
    assert result.success and materialized(result) == set()


def test_the_sensor_asks_for_a_run_when_the_roster_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    roster = write_roster(tmp_path / "roster.csv", [new_hire(1)])
    monkeypatch.setenv("LMS_SYNC_ROSTER", str(roster))
    sensor = sync_assets.build_sync_sensor()
    resources = {"sync": sync_assets.SyncResource()}
    first = sensor(build_sensor_context(resources=resources))
    assert isinstance(first, RunRequest)
    digest = sync_assets.file_digest(roster)
    assert first.run_key == f"first->{digest}"
    unchanged = sensor(build_sensor_context(cursor=digest, resources=resources))
    assert isinstance(unchanged, SkipReason)
    write_roster(roster, [new_hire(1), new_hire(2)])
    changed = sensor(build_sensor_context(cursor=digest, resources=resources))
    assert isinstance(changed, RunRequest) and changed.run_key == f"{digest}->{sync_assets.file_digest(roster)}"
    monkeypatch.setenv("LMS_SENSOR_SYNC_ROSTER_FILE_ENABLED", "true")
    assert sync_assets.build_sync_sensor().default_status == DefaultSensorStatus.RUNNING
