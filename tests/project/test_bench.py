"""Smoke test of the benchmark: a tiny run through the real command, and every figure is in its JSON.

No timing is asserted: benchmarks measure, tests check that the benchmark still runs.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import cli


# the benchmark's own smoke test: about two minutes with every scenario and destination, so in the slow suite
@pytest.mark.slow
def test_bench_tiny_reports_every_figure(tmp_path):
    done = cli("bench", "--tiny", "--json", "--work-dir", str(tmp_path), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert set(result["scenarios"]) == {"throughput", "parquet", "ratelimit", "frugality", "memory"}
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

    assert set(result["goals"]) == {
        "throughput_within_1_5x_floor", "throughput_3x_peer", "ratelimit_90pct", "ratelimit_no_late_429",
        "frugality_incremental_1_2x", "memory_flat", "memory_under_1gib", "models_sql_within_1_5x",
        "parquet_memory_under_1gib",
    }
    assert "Goals" in done.stdout
