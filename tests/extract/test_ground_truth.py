"""The warehouse equals the portal, record for record: full runs, churn plus incremental runs, both readings of the reference.

Every raw table is compared field by field with the rows the simulator's model states (tests/support/raw_truth.py),
after a full run and after churn plus an incremental run, in each simulator mode and in the reference's
other reading. The runs are made once per reading (the `runs` fixture) and every comparison reads them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.learnupon.context import ExtractOptions
from pipelines.run.runner import RunSummary
from pipelines.simulator import PortalConfig, SimulatedPortal

from tests.support import raw_truth
from tests.conftest import CLOCK, PORTAL_MODES, current_users, query, run_pipeline
from tests.support.truth import assert_matches_truth

# the readings a portal can give: both simulator modes, and the other reading of every ambiguous place (quirks)
READINGS: dict[str, dict[str, Any]] = {**PORTAL_MODES, "alt": {"quirks": "alt"}}
# the default reading's full and churned runs are also compared with the truth by the destination tests
# (tests/destinations/test_parquet_destination.py, test_delta_lake.py, test_postgres.py) and many others
READING_PARAMS = [pytest.param("default", marks=pytest.mark.slow), "strict", "alt"]
CHURN = {"default": 1, "strict": 1, "alt": 2}  # days of churn before the incremental run


@dataclass
class Phase:
    """The warehouse after one run (a copy, so later runs leave it as it was) and the portal's model then."""

    out_dir: Path
    summary: RunSummary
    truth: dict[str, list[Any]]
    differences: dict[str, list[raw_truth.Problem]]


@dataclass
class Runs:
    reading: str
    portal: SimulatedPortal
    full: Phase
    changes: dict[str, int]
    incremental: Phase  # a copy of the warehouse after the incremental run
    reconciled: Phase  # its out_dir is the live warehouse, where a test may run again


@pytest.fixture(scope="module", params=READING_PARAMS)
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A full run, then churn, an incremental run and a reconciling run, on one portal of the reading; each compared as it ends."""
    reading = request.param
    portal = SimulatedPortal(PortalConfig(users=120, seed=11, page_size=37, clock=CLOCK, **READINGS[reading]))
    portal.start()
    try:
        live = tmp_path_factory.mktemp(f"{reading}-warehouse")
        summary = run_pipeline(portal, live)
        full = Phase(tmp_path_factory.mktemp(f"{reading}-after-full"), summary, portal.ground_truth(),
                     raw_truth.differences(live, portal))
        shutil.copytree(live, full.out_dir, dirs_exist_ok=True)
        changes = portal.churn(days=CHURN[reading], share=0.05)
        summary = run_pipeline(portal, live)
        incremental = Phase(tmp_path_factory.mktemp(f"{reading}-after-incremental"), summary, portal.ground_truth(),
                            raw_truth.differences(live, portal))
        shutil.copytree(live, incremental.out_dir, dirs_exist_ok=True)
        # the weekly reconciliation, due now rather than in a week: what changed outside the incremental
        # windows (attendance marked long after a session) arrives
        summary = run_pipeline(portal, live, options=ExtractOptions(reconcile=True))
        reconciled = Phase(live, summary, portal.ground_truth(), raw_truth.differences(live, portal))
        yield Runs(reading, portal, full, changes, incremental, reconciled)
    finally:
        portal.stop()


def _check(runs: Runs, phase: str, table: str) -> None:
    problems = [text for column, text in getattr(runs, phase).differences[table]
                if not raw_truth.known(runs.reading, phase, table, column)]
    assert not problems, f"{table} differs from the portal's model after the {phase} run: {problems[:12]}"


PHASES = ["full", "incremental", "reconciled"]


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("table", sorted(raw_truth.EXPECTED))
def test_raw_table_equals_the_portals_model(runs: Runs, phase: str, table: str) -> None:
    """Every field of every current row, and no other row, as the model states it (known defects apart)."""
    _check(runs, phase, table)


def _known_defect_cases() -> list[Any]:
    cases = []
    for name, defect in raw_truth.KNOWN_DEFECTS.items():
        for table in sorted(defect.columns) if "duckdb" in defect.destinations else ():  # these runs load DuckDB
            cases.append(pytest.param(name, table, id=f"{name}-{table}",
                                      marks=pytest.mark.xfail(strict=False, reason=defect.reason)))
    return cases


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize(("defect", "table"), _known_defect_cases())
def test_known_defect_fields_equal_the_portals_model(runs: Runs, phase: str, defect: str, table: str) -> None:
    """The fields a known defect leaves wrong: xfail until its fix lands, then they must equal the model too."""
    d = raw_truth.KNOWN_DEFECTS[defect]
    if runs.reading not in d.readings or phase not in d.phases:
        pytest.skip(f"{defect} is not expected in the {runs.reading} reading after the {phase} run")
    problems = [text for column, text in getattr(runs, phase).differences[table] if column in d.columns[table]]
    assert not problems, f"{table}: {problems[:12]}"


def test_full_run_equals_the_portal(runs: Runs) -> None:
    out, truth, summary = runs.full.out_dir, runs.full.truth, runs.full.summary
    assert summary.status == "succeeded"
    assert_matches_truth(out, truth)
    assert len(truth["enrollments"]) > 100, "the portal should be big enough to need many pages"
    # every course version is there, drafts and archived included, so no enrollment lacks its course
    orphans = query(out, "select e.id from learnupon.enrollments e left join learnupon.courses c on c.id = e.course_id where c.id is null")
    assert orphans == []
    statuses = {r["published_status_id"] for r in query(out, "select distinct published_status_id from learnupon.courses")}
    assert {"published", "archived"} <= statuses
    # the run is recorded with its API calls
    recorded = query(out, "select * from learnupon.pipeline_runs")
    assert len(recorded) == 1 and recorded[0]["status"] == "succeeded" and recorded[0]["api_calls"] == summary.api["calls"]


def test_churn_then_incremental_run_is_in_sync_again_and_cheaper(runs: Runs) -> None:
    full, incremental, changes, portal = runs.full.summary, runs.incremental.summary, runs.changes, runs.portal
    out, truth = runs.incremental.out_dir, runs.incremental.truth
    assert changes, "churn should change something"
    assert_matches_truth(out, truth)

    assert incremental.api["calls"] < full.api["calls"]
    enrollment_calls = lambda s: s.api["endpoints"]["GET /enrollments/search"]["calls"]  # noqa: E731
    # one search per course as on the full run, but only pages of changes; plus one search per user
    # the audit trail says was unenrolled from a course that lost enrollments (the deletion signal)
    assert enrollment_calls(incremental) <= enrollment_calls(full) + changes["enrollments_unenrolled"]

    # deleted users keep their rows, retired with the time the deletion was noticed
    deleted = set(truth["deleted_user_ids"])
    assert deleted, "churn deletes some users"
    retired = query(
        out,
        "select id, max(_dlt_valid_to) as noticed from learnupon.users group by id having count(*) filter (where _dlt_valid_to is null) = 0",
    )
    assert {r["id"] for r in retired} == deleted
    assert all(r["noticed"] is not None for r in retired)
    assert not deleted & {u["id"] for u in current_users(out)}

    # deleted upstream: current rows exactly as the portal, the deleted ones kept as history
    assert changes["enrollments_deleted"] > 0
    loaded = {r["id"] for r in query(out, "select id from learnupon.enrollments")}
    deleted = set(truth["deleted_enrollment_ids"]) & loaded
    retired = {r["id"] for r in query(out, "select id from learnupon.enrollments where _dlt_valid_to is not null")}
    assert deleted and deleted <= retired
    # learning-path enrollments of paths archived since (no longer listed) are still read
    lp_ids = {r["lp_id"] for r in query(out, "select distinct lp_id from learnupon.learning_path_enrollments where _dlt_valid_to is null")}
    assert {e["lp_id"] for e in truth["learning_path_enrollments"]} == lp_ids

    # a third run with no change loads no new enrollment versions and stays equal
    versions = query(out, "select count(*) n from learnupon.enrollments")[0]["n"]
    run_pipeline(portal, out)
    assert_matches_truth(out, portal.ground_truth())
    assert query(out, "select count(*) n from learnupon.enrollments")[0]["n"] == versions


@pytest.mark.parametrize("page_size", [1, pytest.param(7, marks=pytest.mark.slow), 500])
def test_page_sizes(portal_factory, tmp_path: Path, page_size: int) -> None:
    portal = portal_factory(users=40, page_size=page_size)
    run_pipeline(portal, tmp_path)
    assert_matches_truth(tmp_path, portal.ground_truth())


def test_a_listing_that_shifts_while_paged_loads_each_record_once(portal_factory, tmp_path: Path) -> None:
    """Every page repeats the previous page's last record, as when a record is added while a client pages."""
    portal = portal_factory(users=40, page_size=7, overlapping_pages=True)
    run_pipeline(portal, tmp_path)
    portal.churn(days=1, share=0.05)
    run_pipeline(portal, tmp_path)
    truth = portal.ground_truth()
    assert_matches_truth(tmp_path, truth)
    for table in ("enrollments", "learning_path_enrollments"):
        twice = query(tmp_path, f"select id from learnupon.{table} group by id having count(*) > 1")
        assert twice == [], f"{table}: a record seen on two pages landed twice"
    current = query(tmp_path, "select id from learnupon.users where _dlt_valid_to is null group by id having count(*) > 1")
    assert current == []
