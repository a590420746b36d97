"""The Dagster code location on the other destinations: the whole asset graph materialized with
LMS_WAREHOUSE_DESTINATION=postgres (and delta) against the simulated portal, every check passing,
and neither password in the event log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, DagsterInstance, serialize_value

from assets.definitions import defs

from .test_dagster import EXPECTED_KEYS, SYNC_CHECKS, evaluations, graph, materializations


@pytest.mark.parametrize("destination", ["postgres"])
def test_whole_graph_on_another_destination(
    destination: str, portal_factory: Any, postgres_database: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    portal = portal_factory(users=30)
    monkeypatch.setenv("LEARNUPON_BASE_URL", portal.base_url)
    monkeypatch.setenv("LEARNUPON_USERNAME", portal.config.username)
    monkeypatch.setenv("LEARNUPON_PASSWORD", portal.config.password)
    monkeypatch.setenv("LMS_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("LMS_WAREHOUSE_DESTINATION", destination)
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_database.dsn)
    for name in ("LEARNUPON_WEEKLY_RESERVE", "LMS_SCHEDULES_FILE", "LMS_SYNC_ROSTER"):
        monkeypatch.delenv(name, raising=False)

    instance = DagsterInstance.ephemeral()
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance, raise_on_error=False)
    failures = [e.message for e in result.all_events if e.is_failure]
    assert result.success, failures

    meta = materializations(result)
    assert EXPECTED_KEYS - set(meta) <= {AssetKey(["staging", "stg_audit_gaps"])}
    checks = evaluations(result)
    assert set(checks) == set(graph().asset_check_keys) - SYNC_CHECKS
    assert {k.to_user_string(): e.metadata for k, e in checks.items() if not e.passed} == {}

    log = "\n".join(serialize_value(record) for record in instance.all_logs(result.run_id))
    assert portal.config.password not in log
    assert postgres_database.server.password not in log
