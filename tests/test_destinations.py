"""Same calls on every destination: the destination changes where rows land, never what is asked of
the API. A full run, the same churn, then an incremental run on identical portals make the same
calls, endpoint by endpoint, whether the warehouse is DuckDB, Parquet, Delta Lake or PostgreSQL
(the facts read before extracting, the fingerprints and the deletion signals work on each).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.runner import DESTINATIONS

from .conftest import run_pipeline


def _calls(summary: Any) -> dict[str, int]:
    return {endpoint: figures["calls"] for endpoint, figures in summary.api["endpoints"].items()}


def test_an_incremental_run_after_the_same_churn_makes_the_same_calls_on_every_destination(
    portal_factory: Any, postgres_database: Any, tmp_path: Path
) -> None:
    where: dict[str, dict[str, Any]] = {name: {} for name in DESTINATIONS}
    where["postgres"] = {"credentials": postgres_database.dsn}
    calls: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    for destination, settings in where.items():
        portal = portal_factory(users=80)  # same seed and clock: the same portal, the same churn
        out = tmp_path / destination
        full = run_pipeline(portal, out, destination=destination, **settings)
        changes = portal.churn(days=1, share=0.05)
        assert changes["enrollments_deleted"] > 0
        incremental = run_pipeline(portal, out, destination=destination, **settings)
        assert (full.status, incremental.status) == ("succeeded", "succeeded"), destination
        calls[destination] = (_calls(full), _calls(incremental))
    expected = calls["duckdb"]
    assert sum(expected[1].values()) < sum(expected[0].values())
    for destination, got in calls.items():
        assert got[0] == expected[0], f"{destination}: the full run's calls differ from DuckDB's"
        assert got[1] == expected[1], f"{destination}: the incremental run's calls differ from DuckDB's"
