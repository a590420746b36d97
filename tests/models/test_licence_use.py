"""The licence-use marts from a real run: a simulated realm's top-level portal loaded over HTTP (the `portals`
resource alone), churned (a sub-portal buys licences, every portal's users change), loaded again and built with
the real `dbt build`: licence_use is each sub-portal's figures as the portal states them now, licence_use_trend a
point per load that saw them change."""

from __future__ import annotations

from pathlib import Path

from pipelines.learnupon.settings import ExtractOptions
from pipelines.models import build_models
from pipelines.run.runner import Warehouse

from tests.conftest import query, run_pipeline

SUBS = ["emea", "apac", "partners"]


def test_licence_use_and_its_trend_follow_the_realm(portal_factory, tmp_path: Path) -> None:
    realm = portal_factory.realm(SUBS, users=20, sub_users=30)
    options = ExtractOptions(top_level=True)
    run_pipeline(realm.top, tmp_path, ["portals"], options=options)
    first = {p["id"]: p for p in realm.top.ground_truth()["portals"]}
    realm.churn(days=1, share=0.3)
    run_pipeline(realm.top, tmp_path, ["portals"], options=options)
    now = {p["id"]: p for p in realm.top.ground_truth()["portals"]}

    result = build_models(Warehouse(out_dir=tmp_path))  # as of today: the loads' times are the wall clock's
    assert not result.failed_tests

    use = query(tmp_path, "select * from reporting.licence_use order by portal_id")
    assert [r["portal_id"] for r in use] == sorted(now)
    for row in use:
        p = now[row["portal_id"]]
        purchased, used = p["number_licenses_purchased"], p["number_licenses_used"]
        assert (row["subdomain"], row["members_count"], row["licences_purchased"], row["licences_used"]) == (
            p["subdomain"], p["number_of_members"], purchased, used)
        assert row["licences_available"] == purchased - used and row["is_over_licensed"] == (used > purchased)
        assert row["licence_use_rate"] == round(used / purchased, 4)
    assert any(r["is_over_licensed"] for r in use) and not all(r["is_over_licensed"] for r in use)

    trend = query(tmp_path, "select * from reporting.licence_use_trend order by portal_id, valid_from_at")
    for portal_id in now:
        points = [r for r in trend if r["portal_id"] == portal_id]
        changed = now[portal_id] != first[portal_id]
        assert len(points) == (2 if changed else 1)
        assert points[0]["licences_used"] == first[portal_id]["number_licenses_used"]
        assert points[-1]["is_current"] and points[-1]["licences_used"] == now[portal_id]["number_licenses_used"]
        if changed:
            assert points[1]["licences_used_change"] == (
                now[portal_id]["number_licenses_used"] - first[portal_id]["number_licenses_used"])
            assert points[1]["licences_purchased_change"] == (
                now[portal_id]["number_licenses_purchased"] - first[portal_id]["number_licenses_purchased"])
    emea = next(p for p in now.values() if p["subdomain"] == "emea")
    assert [r["licences_purchased_change"] for r in trend if r["portal_id"] == emea["id"]][-1] > 0  # bought licences
