"""Smoke test of the benchmark: a tiny run through the real command, and every figure is in its JSON.

No timing is asserted: benchmarks measure, tests check that the benchmark still runs.
"""

from __future__ import annotations

import json

import pytest

from pipelines.bench.goals import GOALS, MEASURED_OUTSIDE, previous_figures

from tests.conftest import cli


def test_every_goal_has_its_row_in_the_docs_goals_table():
    """The bench prints each goal's previous figure from docs/benchmarks.md: every declared goal has a row there."""
    previous = previous_figures()
    assert set(previous) == {goal.key for goal in GOALS}
    measured_outside = [goal.key for goal in GOALS if goal.scenario == MEASURED_OUTSIDE]
    assert measured_outside == ["suite_minutes"] and all(previous.values())


# the goals table from a real quick run: goal, figure, previous (from the docs), met/missed, and what was missed.
# The fixed-cost scenario alone (a first load of 2,000 users, three light runs): about a minute, so in the slow suite
@pytest.mark.slow
def test_bench_quick_prints_the_goals_table(tmp_path):
    done = cli("bench", "--quick", "--scenarios", "fixed", "--json", "--work-dir", str(tmp_path), timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    lines = done.stdout.splitlines()
    header = lines.index("Goals (previous: docs/benchmarks.md)")
    assert lines[header + 1].split() == ["goal", "figure", "previous", "met/missed"]
    rows = {line.split()[0]: line for line in lines[header + 3: header + 3 + len(GOALS)]}
    assert list(rows) == [goal.key for goal in GOALS]
    previous = previous_figures()
    fixed = result["goals"]["fixed_cost"]
    assert fixed["figure"] == result["fixed"]["own_seconds"] > 0 and fixed["previous"] == previous["fixed_cost"]
    verdict = "met" if fixed["met"] else "MISSED"
    assert f"{fixed['shown']}" in rows["fixed_cost"] and previous["fixed_cost"] in rows["fixed_cost"]
    assert rows["fixed_cost"].split(previous["fixed_cost"], 1)[1].split()[0] == verdict
    assert "not run" in rows["cpu_per_page"] and "outside the bench" in rows["suite_minutes"]
    missed = [key for key, row in result["goals"].items() if row["met"] is False]
    assert lines[header + 3 + len(GOALS)] == (f"  missed: {', '.join(missed)}" if missed else "  missed: none of the goals measured")


# the benchmark's own smoke test: about three minutes with every scenario (the realm's three portals loaded twice), so in the slow suite
@pytest.mark.slow
def test_bench_tiny_reports_every_figure(tmp_path):
    done = cli("bench", "--tiny", "--json", "--work-dir", str(tmp_path), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert set(result["scenarios"]) == {"throughput", "parquet", "latency", "ratelimit", "frugality", "memory", "fixed", "realm"}
    assert {"date", "machine", "sizes", "goals"} <= set(result)

    t = result["throughput"]
    assert t["resources"] == ["users", "courses", "enrollments"]
    assert t["records"] > 0 and t["records"] == t["floor"]["records"] == t["peer"]["records"]
    assert set(t["split_seconds"]) == {"fetch", "dlt_extract", "normalize", "load", "models"}
    for key in ("seconds", "records_per_second", "ratio_to_floor", "speedup_over_peer"):
        assert t[key] > 0, key
    assert t["calls"] == t["floor"]["calls"]  # ours and the floor ask for the same pages
    models = t["models"]  # the dbt build apart: SQL (run_results.json), tests, start-up, export
    assert models["models_built"] > 0 and models["tests_run"] > 0
    assert models["sql_seconds"] > 0 and models["dbt_startup_seconds"] > 0
    assert abs(models["seconds"] - models["sql_seconds"] - models["test_seconds"] - models["dbt_startup_seconds"]
               - models["export_seconds"]) < 0.05

    pq = result["parquet"]  # the same run into the Parquet destination, publication apart
    assert pq["records"] == t["records"] and pq["records_per_second"] > 0
    assert pq["publish_seconds"] > 0 and pq["split_seconds"]["publish"] == pq["publish_seconds"]
    assert pq["published_mib"] > 0 and pq["peak_rss_mib"] > 0
    assert 0 < pq["publish_peak_rss_mib"] and pq["publish_alone_seconds"] > 0

    la = result["latency"]  # the API phase at a fixed latency per call against calls x latency / calls in flight
    assert la["calls"] > 0 and la["latency_ms"] > 0
    assert la["ideal_seconds"] == round(la["calls"] * la["latency_ms"] / 1000 / la["workers"], 2)
    assert la["api_seconds"] >= la["ideal_seconds"] * 0.99  # calls in flight never exceed the setting
    assert la["seconds"] >= la["api_seconds"] * 0.99 and la["ratio_to_ideal"] > 0
    assert la["calls_by_endpoint"]["GET /users"] >= 1 and la["calls_by_endpoint"]["GET /enrollments/search"] >= 1

    r = result["ratelimit"]
    for key in ("calls", "calls_per_minute", "share_of_limit", "http_429", "http_429_after_first_minute", "minutes"):
        assert key in r, key
    assert r["calls"] > 0

    f = result["frugality"]
    for run in ("full", "incremental"):
        for resource in ("users", "courses", "enrollments", "total"):
            row = f[run][resource]
            assert row["calls"] >= row["minimum"] > 0, (run, resource, row)
    assert f["full"]["total"]["calls"] == t["calls"]
    assert f["all_resources"]["total"]["full"] > f["full"]["total"]["calls"] / 2

    m = result["memory"]
    assert len(m["sizes"]) == 3
    assert all(s["peak_rss_mib"] > 0 and s["enrollments"] > 0 for s in m["sizes"])
    # each size: an incremental run after 1% churn, and the peak of every step of both runs
    assert all(s["incremental"]["peak_rss_mib"] > 0 and s["incremental"]["records"] > 0 for s in m["sizes"])
    steps = {"extract", "normalizing", "loading into the warehouse", "retiring vanished rows"}
    assert all(steps <= set(run["peak_by_step_mib"]) for s in m["sizes"] for run in (s, s["incremental"]))
    assert m["largest_mib"] == max(max(s["peak_rss_mib"], s["incremental"]["peak_rss_mib"]) for s in m["sizes"])
    assert m["growth"] >= 1.0

    fx = result["fixed"]  # the light run's own time, taken apart
    assert len(fx["runs"]) == 3 and fx["calls"] > 0 and fx["snapshot_whole_seconds"] > 0
    assert fx["runs"][0]["snapshot_refresh"]["whole"] is False or fx["runs"][1]["snapshot_refresh"]["whole"] is False

    rm = result["realm"]  # three portals in one run against the same three one after another
    assert list(rm["by_portal"]) == ["north", "south", "east"]
    assert len({p["rate_per_minute"] for p in rm["by_portal"].values()}) == 3  # each portal its own limit
    for arm in ("together", "one_by_one"):
        run = rm[arm]
        assert run["seconds"] > 0 and set(run["by_portal"]) == set(rm["by_portal"])
        for name, portal in run["by_portal"].items():
            assert portal["calls"] == portal["calls_served"] > 0, (arm, name)  # counted per portal, as each portal served
            assert portal["records"] > 0 and portal["http_429"] >= 0
            start, end = portal["api_phase_seconds"]
            assert 0 <= start < end <= run["seconds"]
        assert 0 <= run["overlap_seconds"]["all"] <= run["overlap_seconds"]["two_or_more"] <= run["seconds"]
    assert rm["one_by_one"]["overlap_seconds"]["two_or_more"] == 0  # one after another, no two portals read at once
    assert rm["speedup"] == round(rm["one_by_one"]["seconds"] / rm["together"]["seconds"], 2)
    assert "Several portals (3 portals" in done.stdout

    goals = result["goals"]  # every declared goal; those this run measured have a figure and a verdict
    assert set(goals) == {goal.key for goal in GOALS}
    not_measured = {"memory_destinations", "suite_minutes"}  # scenarios not in the default run
    for key, row in goals.items():
        assert (row["figure"] is None) == (key in not_measured) == (row["met"] is None), row
    assert "Goals" in done.stdout
