"""Same calls on every destination: the destination changes where rows land, never what is asked of
the API. A full run, the same churn, then an incremental run on identical portals make the same
calls, endpoint by endpoint, whether the warehouse is DuckDB, Parquet, Delta Lake or PostgreSQL
(the facts read before extracting, the fingerprints and the deletion signals work on each).
Delta Lake's side of it is in test_delta_lake.py, whose runs load DuckDB and a lake side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.run.runner import DESTINATIONS, Warehouse

from tests.conftest import run_pipeline
from tests.support.truth import assert_coverage_matches_truth, assert_matches_truth


def _calls(summary: Any) -> dict[str, int]:
    return {endpoint: figures["calls"] for endpoint, figures in summary.api["endpoints"].items()}


def test_an_incremental_run_after_the_same_churn_makes_the_same_calls_on_every_destination(
    portal_factory: Any, postgres_database: Any, tmp_path: Path
) -> None:
    # Delta's full and incremental calls are compared with DuckDB's by tests/destinations/test_delta_lake.py,
    # on the same kind of run (full, churn, incremental): not run a second time here (the slow suite's matrix has it)
    where: dict[str, dict[str, Any]] = {name: {} for name in DESTINATIONS if name != "delta"}
    where["postgres"] = {"credentials": postgres_database.dsn}
    calls: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    for destination, settings in where.items():
        portal = portal_factory(users=40)  # same seed and clock: the same portal, the same churn
        out = tmp_path / destination
        full = run_pipeline(portal, out, destination=destination, **settings)
        changes = portal.churn(days=1, share=0.15)
        assert changes["enrollments_deleted"] > 0
        incremental = run_pipeline(portal, out, destination=destination, **settings)
        assert (full.status, incremental.status) == ("succeeded", "succeeded"), destination
        calls[destination] = (_calls(full), _calls(incremental))
    expected = calls["duckdb"]
    assert sum(expected[1].values()) < sum(expected[0].values())
    for destination, got in calls.items():
        assert got[0] == expected[0], f"{destination}: the full run's calls differ from DuckDB's"
        assert got[1] == expected[1], f"{destination}: the incremental run's calls differ from DuckDB's"


# the whole matrix (slow suite): every destination × both readings of the reference × a faulty portal
FAULTS = {"none": {}, "faults": {"fault_rate": 0.05}}


def _where(destination: str, out: Path, postgres_database: Any) -> tuple[Any, dict[str, Any], Any, str]:
    """(run_pipeline's out_dir, its settings, what the truth helpers read, their destination) for one destination."""
    if destination == "postgres":
        return out, {"destination": destination, "credentials": postgres_database.dsn}, postgres_database, "duckdb"
    if destination == "delta":
        lake = Warehouse(destination="delta", out_dir=out)
        return lake, {}, lake, "duckdb"
    return out, {"destination": destination}, out, destination


@pytest.mark.slow
@pytest.mark.parametrize("faults", sorted(FAULTS))
@pytest.mark.parametrize("mode", ["default", "strict"])
@pytest.mark.parametrize("destination", DESTINATIONS)
def test_full_churn_incremental_equal_the_portal_on_every_destination_mode_and_fault(
    portal_factory: Any, postgres_database: Any, tmp_path: Path, destination: str, mode: str, faults: str
) -> None:
    portal = portal_factory(mode=mode, **FAULTS[faults])
    target, settings, reader, read_as = _where(destination, tmp_path, postgres_database)
    assert run_pipeline(portal, target, **settings).status == "succeeded"
    truth = portal.ground_truth()
    assert_matches_truth(reader, truth, destination=read_as)
    assert_coverage_matches_truth(reader, truth, destination=read_as)
    portal.churn(days=1, share=0.05)
    assert run_pipeline(portal, target, **settings).status == "succeeded"
    truth = portal.ground_truth()
    assert_matches_truth(reader, truth, destination=read_as)
    assert_coverage_matches_truth(reader, truth, destination=read_as)
