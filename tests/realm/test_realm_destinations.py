"""Several portals on every destination: three simulated portals whose ids overlap, loaded side by side in one run
into Parquet, Delta and PostgreSQL (DuckDB: tests/realm/test_portals.py, in both simulator modes).

On each: every portal's rows equal its own ground truth after the full run; one portal churns, and after an
incremental run every portal's rows equal its own ground truth again while the rows of the two that did not
churn are unchanged, row for row, history included (a merge, an SCD2 retirement or a published folder that forgot
`portal` would touch them: the ids are the same in the three portals).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from pipelines.learnupon.tables import USERS
from pipelines.run.portals import run_portals
from pipelines.run.runner import Warehouse
from pipelines.simulator import PortalConfig, SimulatedPortal

from tests.conftest import CLOCK, query
from tests.support.realm_runs import portal_contexts, portal_rows, unknown_problems

NAMES = ("north", "south", "east")  # south is the one that churns
UNCHANGED = ("north", "east")
SEEDS = {"north": 11, "south": 14, "east": 13}  # as tests/realm/test_portals.py: portals both modes load whole
MODE = "default"  # the strict reading is DuckDB's realm test's and the single-portal destination matrix's


def _warehouse(destination: str, out: Path, postgres_database: Any) -> tuple[Warehouse, Any, str]:
    """(the warehouse, what `query` reads it as, the reading's destination argument)."""
    if destination == "postgres":
        warehouse = Warehouse(destination="postgres", out_dir=out, postgres_credentials=postgres_database.dsn)
        return warehouse, postgres_database, "duckdb"
    warehouse = Warehouse(destination=destination, out_dir=out)
    if destination == "delta":
        return warehouse, warehouse, "duckdb"
    return warehouse, out, destination


# each about 1.5-2 minutes on the shared 2-core machine (six portal runs of every resource and three portals' ground
# truth compared twice): the slow suite
@pytest.mark.slow
@pytest.mark.parametrize("destination", ["parquet", "delta", "postgres"])
def test_three_overlapping_portals_equal_their_own_truth_on_the_destination(
    destination: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    postgres_database = request.getfixturevalue("postgres_database") if destination == "postgres" else None
    portals = {name: SimulatedPortal(PortalConfig(users=40, seed=SEEDS[name], page_size=37, clock=CLOCK)) for name in NAMES}
    for portal in portals.values():
        portal.start()
    try:
        warehouse, reader, read_as = _warehouse(destination, tmp_path / destination, postgres_database)

        def problems(phase: str) -> dict[str, dict[str, list[str]]]:
            return {name: unknown_problems(reader, portals[name], name, MODE, phase, read_as, destination) for name in NAMES}

        full = run_portals(portal_contexts(portals), warehouse)
        assert [(o.portal, o.failed) for o in full] == [(name, False) for name in NAMES], [o.error for o in full]
        ids = {name: {r["id"] for r in query(reader, f"select id from learnupon.{USERS} where portal = ?", [name],
                                              destination=read_as)} for name in NAMES}
        assert ids["north"] & ids["south"] & ids["east"], "the simulated portals start at the same id base: ids repeat"
        assert problems("full") == {name: {} for name in NAMES}

        before = portal_rows(reader, UNCHANGED, read_as)
        churned = portals["south"].churn(days=1, share=0.05)  # as DuckDB's realm test: changes, no deletion
        south = portals["south"]
        # and a learner deleted (seed 14's first users teach or manage: records that name them are not re-read):
        # retired in south alone, north's and east's user of that id stay current
        gone = south.ground_truth()["users"][10]["id"]
        deleted = httpx.delete(f"{south.base_url}/users/{gone}", auth=(south.config.username, south.config.password))
        assert deleted.status_code == 200 and churned["users_changed"] > 0, deleted.text
        incremental = run_portals(portal_contexts(portals), warehouse)
        assert [(o.portal, o.failed) for o in incremental] == [(name, False) for name in NAMES], [o.error for o in incremental]
        still = query(reader, f"select portal from learnupon.{USERS} where id = ? and _dlt_valid_to is null order by portal",
                      [gone], destination=read_as)
        assert [r["portal"] for r in still] == ["east", "north"], "the deleted user retired in its own portal alone"
        assert problems("incremental") == {name: {} for name in NAMES}
        after = portal_rows(reader, UNCHANGED, read_as)
        assert sum(len(rows) for rows in after.values()) > 1000
        assert [t for t in before if before[t] != after.get(t)] == [], "rows of portals that did not churn changed"

        runs = query(reader, "select portal, status from learnupon.pipeline_runs", destination=read_as)
        assert sorted((r["portal"], r["status"]) for r in runs) == sorted((name, "succeeded") for name in NAMES * 2)
    finally:
        for portal in portals.values():
            portal.stop()
