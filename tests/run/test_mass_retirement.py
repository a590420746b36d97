"""The mass-retirement guard (pipelines/run/mass_retirement.py): no run wipes a portal's users or enrollments by mistake.

The issue's story: the demo's warehouse, then a run against another portal with the same --out. The
users listing would retire most users (or change every one): the users stop before loading, one line
says why and how to confirm, exit 1, and the warehouse keeps every current user and enrollment. An
empty listing is stopped the same way. Enrollments that would lose most of their current rows at the
retirement step (their markers and owners) keep them. Confirmed, each load goes ahead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.learnupon.settings import ExtractOptions
from pipelines.run.mass_retirement import MIN_CURRENT_ROWS, how_to_confirm, refusal
from pipelines.simulator.domains import enrollments as sim_enrollments
from pipelines.simulator.domains import users as sim_users
from tests.conftest import cli, modes_once, query, run_pipeline

CURRENT_USERS = "select id, row_hash from learnupon.users where _dlt_valid_to is null order by id"
CURRENT_ENROLLMENTS = "select id from learnupon.enrollments where _dlt_valid_to is null order by id"


def portal_env(portal: Any) -> dict[str, str]:
    return {
        "LEARNUPON_BASE_URL": portal.base_url,
        "LEARNUPON_USERNAME": portal.config.username,
        "LEARNUPON_PASSWORD": portal.config.password,
    }


def guard_lines(output: str) -> list[str]:
    """The lines that say how to confirm: one, naming the resource and why it stopped."""
    return [line for line in output.splitlines() if "--allow-mass-retirement" in line]


def test_the_rule_guards_most_or_every_row_of_a_table_big_enough() -> None:
    assert refusal("users", MIN_CURRENT_ROWS - 1, MIN_CURRENT_ROWS - 1) is None  # too small to judge
    assert refusal("users", 100, 50) is None  # half is not more than half
    assert refusal("users", 100, 49, changed=50) is None  # one user kept as it was
    assert "51 of the 100 current users" in refusal("users", 100, 51)
    assert "every one of the 100 current users" in refusal("users", 100, 0, changed=100)
    assert "--reconcile" in how_to_confirm(["users", "enrollments"]) and "--reconcile" not in how_to_confirm(["users"])


def test_a_run_against_another_portal_with_the_same_out_stops_before_it_retires_anything(
    portal_factory: Any, tmp_path: Path
) -> None:
    """The issue's story: `make demo`, then the user-sync example's portal (40 users, seed 7) with the default --out."""
    demo = portal_factory(users=120, seed=7)
    assert run_pipeline(demo, tmp_path).status == "succeeded"
    users_before, enrollments_before = query(tmp_path, CURRENT_USERS), query(tmp_path, CURRENT_ENROLLMENTS)

    other = portal_factory(users=40, seed=7)
    result = cli("run", "--out", str(tmp_path), env=portal_env(other))
    assert result.returncode == 1, result.stderr
    lines = guard_lines(result.stdout + result.stderr)
    assert len(lines) == 1, result.stderr
    # the demo's courses are not the other portal's: their enrollments would retire with them, and keep their rows too
    assert lines[0].startswith(
        "lms-warehouse: stopped by the mass-retirement guard: users (this load would retire 80 of the 120 current users"
    ) and "; enrollments (this load would retire" in lines[0]
    assert query(tmp_path, CURRENT_USERS) == users_before
    assert query(tmp_path, CURRENT_ENROLLMENTS) == enrollments_before
    run = query(tmp_path, "select status, error from learnupon.pipeline_runs order by started_at desc limit 1")[0]
    assert run["status"] == "partial" and run["error"].startswith("users: this load would retire 80")

    # confirmed (here through the environment: the same setting as the flag and Dagster's field)
    confirmed = cli("run", "--out", str(tmp_path), env={**portal_env(other), "LEARNUPON_ALLOW_MASS_RETIREMENT": "true"})
    assert confirmed.returncode == 0, confirmed.stderr
    assert [u["id"] for u in query(tmp_path, CURRENT_USERS)] == sorted(u["id"] for u in other.ground_truth()["users"])


def test_a_portal_with_overlapping_ids_that_changes_every_user_stops(portal_factory: Any, tmp_path: Path) -> None:
    first = portal_factory(users=60, seed=7)
    run_pipeline(first, tmp_path, resources=["users"])
    before = query(tmp_path, CURRENT_USERS)
    summary = run_pipeline(portal_factory(users=60, seed=8), tmp_path, resources=["users"])
    assert summary.status == "partial"
    assert "would change every one of the 60 current users" in summary.failed["users"]
    assert query(tmp_path, CURRENT_USERS) == before


@pytest.mark.parametrize("portal", modes_once(), indirect=True)
def test_an_empty_users_listing_retires_nobody(portal: Any, tmp_path: Path) -> None:
    run_pipeline(portal, tmp_path, resources=["users"])
    before = query(tmp_path, CURRENT_USERS)
    with portal.lock:  # every user deleted upstream: the listing answers 200 with nothing
        for user in list(portal.state.users.values()):
            sim_users.delete_user(portal.state, user)
        portal.api.invalidate()
    result = cli("run", "--resources", "users", "--out", str(tmp_path), env=portal_env(portal))
    assert result.returncode == 1, result.stderr
    assert len(guard_lines(result.stdout + result.stderr)) == 1
    assert f"would retire {len(before)} of the {len(before)} current users" in result.stderr
    assert query(tmp_path, CURRENT_USERS) == before


def test_enrollments_that_would_lose_most_current_rows_keep_them_until_confirmed(portal_factory: Any, tmp_path: Path) -> None:
    portal = portal_factory(users=120)
    run_pipeline(portal, tmp_path, resources=["courses", "enrollments"])
    before = query(tmp_path, CURRENT_ENROLLMENTS)
    with portal.lock:  # two thirds of the enrollments deleted upstream (DELETE /enrollments/{id})
        doomed = [row["id"] for row in before[: 2 * len(before) // 3]]
        for eid in doomed:
            sim_enrollments.remove_enrollment(portal.state, eid)
        portal.api.invalidate()

    stopped = run_pipeline(portal, tmp_path, resources=["courses", "enrollments"], options=ExtractOptions(reconcile=True))
    assert stopped.status == "partial" and set(stopped.failed) == {"enrollments"}
    assert f"would retire {len(doomed):,} of the {len(before):,} current enrollments" in stopped.failed["enrollments"]
    assert query(tmp_path, CURRENT_ENROLLMENTS) == before

    confirm = ExtractOptions(reconcile=True, allow_mass_retirement=True)
    confirmed = run_pipeline(portal, tmp_path, resources=["courses", "enrollments"], options=confirm)
    assert confirmed.status == "succeeded", confirmed.failed
    assert [r["id"] for r in query(tmp_path, CURRENT_ENROLLMENTS)] == sorted(set(r["id"] for r in before) - set(doomed))


def test_the_sync_example_against_the_demos_warehouse_plans_nothing_and_retires_nobody(
    portal_factory: Any, tmp_path: Path
) -> None:
    """The issue's own story: the user-sync worked example (its portal: 40 users, seed 7) with the demo's --out."""
    demo = portal_factory(users=120, seed=7)
    run_pipeline(demo, tmp_path, resources=["users", "groups", "group_memberships"])
    before = query(tmp_path, CURRENT_USERS)
    example = portal_factory(users=40, seed=7)
    roster = Path(__file__).resolve().parents[2] / "docs" / "examples" / "roster.csv"
    result = cli("sync", "plan", "--roster", str(roster), "--out", str(tmp_path), env=portal_env(example))
    assert result.returncode == 1, result.stderr
    lines = guard_lines(result.stdout + result.stderr)
    assert len(lines) == 1 and "users (this load would retire 80 of the 120 current users" in lines[0], result.stderr
    assert "nothing was planned" in lines[0]
    assert query(tmp_path, CURRENT_USERS) == before
