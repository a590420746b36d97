"""The marts of a realm: two simulated portals whose ids overlap (users, courses, groups, enrollments,
exams and sessions are numbered alike on every portal) loaded side by side into one warehouse, in both
simulator modes. Each portal's rows of the marts equal the figures stated from that portal's own ground
truth (tests/support/mart_truth.py), and the realm's totals are their sums."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.learnupon.context import ExtractContext
from pipelines.learnupon.settings import ExtractOptions
from pipelines.models import build_models
from pipelines.run.portals import pipeline_name, run_portals
from pipelines.run.runner import Warehouse

from tests.conftest import CLOCK, PORTAL_MODES, modes_once, settings_for
from tests.support import mart_truth

AS_OF = CLOCK.date()  # the portals' clock: their overdue flags and our as-of date speak of the same day
# name -> (seed, users): different people and histories under the same ids
PORTALS = {"north": (7, 150), "south": (8, 90)}

# marts every simulated portal has rows in (south has no certificate expiring within 90 days, say)
EVERY_PORTAL = {"compliance_status", "completion_by_course", "exam_results", "learner_activity", "session_attendance", "overdue_training"}

Built = tuple[Path, dict[str, dict[str, Any]]]


# strict: in the slow suite (the strict reading's marts: tests/models/test_mart_truth.py; its realm extract:
# tests/extract/test_realm_portals.py)
@pytest.fixture(scope="module", params=modes_once("default"))
def realm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Built:
    from pipelines.simulator import PortalConfig, SimulatedPortal

    out = tmp_path_factory.mktemp(f"realm-marts-{request.param}")
    portals = {
        name: SimulatedPortal(PortalConfig(users=users, seed=seed, page_size=100, clock=CLOCK, **PORTAL_MODES[request.param]))
        for name, (seed, users) in PORTALS.items()
    }
    for portal in portals.values():
        portal.start()
    try:
        contexts = []
        for name, portal in portals.items():
            settings = settings_for(portal)
            context = ExtractContext(client_factory=settings.client, portal=name, options=ExtractOptions(workers=settings.workers))
            contexts.append((context, pipeline_name(name, single=False)))
        outcomes = run_portals(contexts, Warehouse(out_dir=out))
        truths = {name: portal.ground_truth() for name, portal in portals.items()}
    finally:
        for portal in portals.values():
            portal.stop()
    assert [(o.portal, o.failed) for o in outcomes] == [(name, False) for name in PORTALS], outcomes
    result = build_models(Warehouse(out_dir=out), as_of=AS_OF)
    assert not result.skipped and not result.failed_tests, (result.skipped, result.failed_tests)
    return out, truths


def rows(out: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_the_portals_ids_overlap(realm: Built) -> None:
    out, _ = realm
    shared = rows(out, "select count(*) from (select user_id from reporting.learner_activity group by 1 having count(distinct portal) = 2)")
    assert shared[0][0] >= 90  # every south user's id is a north user's too: the marts tell them apart by portal


def test_completions_per_course_family_per_portal(realm: Built) -> None:
    out, truths = realm
    for name, truth in truths.items():
        expected = mart_truth.completions_per_family(truth)
        got = dict(rows(out, "select course_family_id, completed_count from reporting.completion_by_course where portal = ? and completed_count > 0", [name]))
        assert expected and got == expected, name


def test_exam_verdicts_per_portal(realm: Built) -> None:
    out, truths = realm
    for name, truth in truths.items():
        expected = mart_truth.exam_verdicts(truth)
        got = dict(rows(out, "select exam_enrollment_id, is_passed from reporting.exam_results where portal = ?", [name]))
        assert Counter(expected.values())[True] and Counter(expected.values())[False]
        assert got == expected, name


def test_overdue_learners_per_portal_and_the_realms_total(realm: Built) -> None:
    out, truths = realm
    for name, truth in truths.items():
        expected = mart_truth.overdue_learners(truth, AS_OF)
        got = {(u, f): why for u, f, why in rows(out, "select user_id, course_family_id, overdue_reason from reporting.overdue_training where portal = ?", [name])}
        assert len(expected) > 10 and got == expected, name
    realm_total = rows(out, "select count(*) from reporting.overdue_training")[0][0]
    assert realm_total == sum(len(mart_truth.overdue_learners(truth, AS_OF)) for truth in truths.values())


def test_attendance_per_session_per_portal(realm: Built) -> None:
    out, truths = realm
    for name, truth in truths.items():
        expected = mart_truth.attendance_per_session(truth)
        got: dict[int, Counter[str]] = {}
        for session_id, state, n in rows(
            out, "select session_id, attendance_state, count(*) from reporting.session_attendance where portal = ? group by all", [name]
        ):
            got.setdefault(session_id, Counter())[state] = n
        assert sum(c["present"] for c in expected.values()) and got == expected, name
        codes = {(s, u): c for s, u, c in rows(out, "select session_id, user_id, session_status_code from reporting.session_attendance where portal = ?", [name])}
        assert codes == mart_truth.session_status_codes(truth), name


def test_every_mart_starts_with_its_portal_and_has_both(realm: Built) -> None:
    out, _ = realm
    marts = [r[0] for r in rows(out, "select table_name from information_schema.tables where table_schema = 'reporting'")]
    assert len(marts) >= 14
    for mart in marts:
        first = rows(out, "select column_name from information_schema.columns where table_schema = 'reporting' and table_name = ? order by ordinal_position limit 1", [mart])
        assert first == [("portal",)], mart
        portals = [r[0] for r in rows(out, f"select distinct portal from reporting.{mart} order by 1")]
        assert set(portals) <= set(PORTALS), (mart, portals)
        if mart in EVERY_PORTAL:
            assert portals == sorted(PORTALS), mart
