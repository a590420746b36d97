"""The Dagster code location on the warehouses beyond one DuckDB file: the whole asset graph
materialized with LMS_WAREHOUSE_DESTINATION=postgres (a throwaway PostgreSQL server) and delta
(a local lake) against the simulated portal; every asset materialized, every check passing, the
models built in that warehouse, neither password in the event log; then checks that read the
warehouse fail once it is broken. tests/orchestration/test_dagster.py does the same, more thoroughly, on DuckDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance, SensorResult, build_sensor_context, serialize_value

from assets.definitions import defs
from assets.resources import WarehouseResource
from pipelines.destinations.postgres_warehouse import connect, resolve_credentials

from tests.orchestration.test_dagster import EXPECTED_KEYS, REPORTING, SYNC_CHECKS, VERDICT_CHECK, evaluations, graph, materializations, run_checks

USERS_FRESH = AssetCheckKey(AssetKey(["learnupon", "users"]), "fresh_load")
ENROLLMENTS_KEY = AssetCheckKey(AssetKey(["learnupon", "enrollments"]), "unique_key_enrollments")
USERS_KEY = AssetCheckKey(AssetKey(["learnupon", "users"]), "unique_key_users")


# delta passes too but costs as much again: in the slow suite
@pytest.mark.parametrize("destination", ["postgres", pytest.param("delta", marks=pytest.mark.slow)])
def test_whole_graph_on_another_destination(
    destination: str, portal_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    portal = portal_factory(users=30)
    monkeypatch.setenv("LEARNUPON_BASE_URL", portal.base_url)
    monkeypatch.setenv("LEARNUPON_USERNAME", portal.config.username)
    monkeypatch.setenv("LEARNUPON_PASSWORD", portal.config.password)
    monkeypatch.setenv("LMS_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("LMS_WAREHOUSE_DESTINATION", destination)
    for name in ("LEARNUPON_WEEKLY_RESERVE", "LMS_SCHEDULES_FILE", "LMS_SYNC_ROSTER", "DESTINATION__FILESYSTEM__BUCKET_URL"):
        monkeypatch.delenv(name, raising=False)
    secrets = [portal.config.password]
    if destination == "postgres":
        database = request.getfixturevalue("postgres_database")
        monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", database.dsn)
        secrets.append(database.server.password)

    instance = DagsterInstance.ephemeral()
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]

    meta = materializations(result)
    # every resource and every model; stg_audit_gaps is skipped while learnupon.audit_gaps does not exist
    assert set(meta) <= EXPECTED_KEYS
    assert EXPECTED_KEYS - set(meta) <= {AssetKey(["staging", "stg_audit_gaps"])}
    checks = evaluations(result)
    assert set(checks) == set(graph().asset_check_keys) - SYNC_CHECKS
    failed = {k.to_user_string(): e.metadata for k, e in checks.items() if not e.passed}
    # the warn-level check: the passes an admin set below the pass threshold on the portal
    warned = failed.pop(VERDICT_CHECK, None)
    assert (warned["dagster_dbt/failed_row_count"].value if warned else 0) == len(portal.ground_truth()["exam_enrollments_passed_by_admin"])
    assert failed == {}
    assert checks[USERS_KEY].metadata["rows_checked"].value == 30  # the key check read the loaded users

    # the models were built in the destination's database, and their row counts are read from there
    with WarehouseResource().models() as con:
        for name in REPORTING:
            count = con.execute(f"select count(*) from reporting.{name}").fetchone()[0]
            assert meta[AssetKey(["reporting", name])]["dagster/row_count"] == count, name
    where = meta[AssetKey(["reporting", "compliance_status"])]["database"]
    if destination == "postgres":
        assert str(where).startswith("postgresql://")
    else:
        assert str(where).endswith(".duckdb")

    log = "\n".join(serialize_value(record) for record in instance.all_logs(result.run_id))
    for secret in secrets:
        assert secret and secret not in log

    # the sensor reads pipeline_runs there too: it finds this run, and knows it for a Dagster run
    context = build_sensor_context(instance=instance, cursor=None, resources={"warehouse": WarehouseResource()})
    seen = defs.resolve_sensor_def("cli_loads")(context)
    assert isinstance(seen, SensorResult) and seen.asset_events == [] and seen.cursor

    # the checks read this warehouse: a stale load and (in PostgreSQL) a duplicated enrollment fail theirs
    monkeypatch.setenv("LMS_FRESHNESS_MAX_AGE_HOURS_USERS", "0")
    if destination == "postgres":
        with connect(resolve_credentials()) as pg, pg.cursor() as cur:
            cur.execute("insert into learnupon.enrollments select * from learnupon.enrollments limit 1")
    got = run_checks(instance, {USERS_FRESH, ENROLLMENTS_KEY, USERS_KEY})
    assert not got[USERS_FRESH].passed and got[USERS_KEY].passed
    assert got[ENROLLMENTS_KEY].passed == (destination != "postgres")
