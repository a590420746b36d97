"""The four benchmark scenarios. Each returns a JSON-native dict of figures."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from collections.abc import Sequence

from pipelines.learnupon.context import ExtractContext
from pipelines.learnupon.fanout import fan_out
from pipelines.learnupon.tables import COURSES, ENROLLMENTS, TABLES, USERS
from pipelines.learnupon.settings import (
    COURSES_KEYS,
    COURSES_PATH,
    CUSTOM_USER_FIELDS_PATH,
    ENROLLABLE_STATUSES,
    ENROLLMENTS_KEYS,
    ENROLLMENTS_SEARCH_PATH,
    ExtractOptions,
    USERS_KEYS,
    USERS_PATH,
    USERS_VERSION_ID,
)

from .portal_host import PortalHost
from .sizes import Sizes
from .timing import TimedClient, client_factory, per_minute, timed_run

CORE = [USERS, COURSES, ENROLLMENTS]
# endpoint (as the client counts calls) -> core resource: each table's endpoint in the registry
CORE_ENDPOINTS = {TABLES[name].endpoint: name for name in CORE}
# calls of the core resources: the users resource also reads the custom field definitions whole (one call)
CORE_CALLS = {**CORE_ENDPOINTS, f"GET {CUSTOM_USER_FIELDS_PATH}": USERS}
# the steps that move the data (a run's other timings, its fixed cost, are the fixed-cost scenario's)
LOAD_STEPS = ("extract", "normalize", "load", "retire")
ALL_COURSES = {"name": "", "include_draft": "true", "include_all_versions": "true", "include_licensed_courses": "true"}


def portal_figures(sizes: Sizes) -> dict[str, Any]:
    """The simulated portal's size as the figures state it: its users, enrollments per user, page size."""
    return {USERS: sizes.users, "enrollments_per_user": sizes.enrollments_per_user, "page_size": sizes.page_size}


def _context(host: PortalHost, workers: int) -> ExtractContext:
    return ExtractContext(
        client_factory=client_factory(host.base_url, host.username, host.password, workers),
        options=ExtractOptions(workers=workers),
    )


def _core_calls(api: dict[str, Any]) -> dict[str, int]:
    calls = {name: 0 for name in CORE}
    for endpoint, stats in api.get("endpoints", {}).items():
        if endpoint in CORE_CALLS:
            calls[CORE_CALLS[endpoint]] += stats["calls"]
    return calls


def _core_records(api: dict[str, Any]) -> int:
    return sum(s["records"] for e, s in api.get("endpoints", {}).items() if e in CORE_ENDPOINTS)


def fresh(out_dir: Path) -> Path:
    """An empty folder: a first run must not find a warehouse (and its cursors) a kept --work-dir left."""
    shutil.rmtree(out_dir, ignore_errors=True)
    return out_dir


def run_ours(
    host: PortalHost, out_dir: Path, workers: int, resources: list[str] | None = CORE, destination: str = "duckdb"
) -> dict[str, Any]:
    """One run of the project's pipeline (core resources unless told; None: every resource), fetch time measured."""
    from pipelines.run.runner import Warehouse

    context = _context(host, workers)
    warehouse = Warehouse(destination=destination, out_dir=out_dir)
    started = time.perf_counter()
    summary, client, fetch = timed_run(context, warehouse, resources)
    seconds = time.perf_counter() - started
    return {"summary": summary, "seconds": seconds, "fetch": fetch, "warehouse": warehouse, "client": client}


def floor(host: PortalHost, workers: int) -> dict[str, Any]:
    """The same pages with the same client and the same concurrency, downloaded and parsed, nothing else."""
    client = TimedClient(host.base_url, host.username, host.password, max_in_flight=workers)
    started = time.perf_counter()
    records = 0
    try:
        for page in client.paginate(USERS_PATH, {"version_id": USERS_VERSION_ID}, record_keys=USERS_KEYS, ahead=workers):
            records += len(page.records)
        # the field definitions whole (the listing's lack predefined_values): the users resource asks too
        client.get_json(CUSTOM_USER_FIELDS_PATH)
        courses = [r for page in client.paginate(COURSES_PATH, ALL_COURSES, record_keys=COURSES_KEYS) for r in page.records]
        records += len(courses)
        enrolled = {
            int(c["id"]): int(c.get("num_enrolled") or 0)
            for c in courses
            if str(c.get("published_status_id") or "").lower() in ENROLLABLE_STATUSES
            or not c.get("published_status_id")
            or int(c.get("num_enrolled") or 0) > 0
        }
        ids = sorted(enrolled)

        def search(course_id: int) -> Any:
            # each course's pages asked for together, as ours asks for a whole search's (its num_enrolled)
            pages = client.paginate(ENROLLMENTS_SEARCH_PATH, {"course_id": course_id}, record_keys=ENROLLMENTS_KEYS,
                                    ahead=workers if enrolled[course_id] else 1, expected_records=enrolled[course_id])
            for page in pages:
                yield len(page.records)

        records += sum(fan_out(ids, search, workers))
    finally:
        client.close()
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "records": records, "records_per_second": round(records / seconds),
            "calls": client.stats.calls}


def peer(host: PortalHost, out_dir: Path) -> dict[str, Any]:
    """dlt's rest_api source for the same endpoints into DuckDB (extract, normalize, load timed apart)."""
    from .peer import peer_pipeline, peer_source

    pipeline = peer_pipeline(out_dir)
    source = peer_source(host.base_url, host.username, host.password)
    host.reset_calls()
    t0 = time.perf_counter()
    pipeline.extract(source)
    t1 = time.perf_counter()
    info = pipeline.normalize()
    t2 = time.perf_counter()
    pipeline.load().raise_on_failed_jobs()
    t3 = time.perf_counter()
    counts = getattr(info, "row_counts", {}) or {}
    records = sum(counts.get(t, 0) for t in CORE)
    calls = host.calls()
    return {
        "seconds": round(t3 - t0, 2),
        "records": records,
        "records_per_second": round(records / (t3 - t0)),
        "timings": {"extract": round(t1 - t0, 2), "normalize": round(t2 - t1, 2), "load": round(t3 - t2, 2)},
        "calls": sum(calls.values()),
    }


def throughput(host: PortalHost, work: Path, sizes: Sizes, with_peer: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ours, floor and peer on the same portal. Returns (figures, state for the frugality scenario)."""
    from pipelines.models import build_models
    from pipelines.models.build import RUN_RESULTS
    from pipelines.models.profile import dbt_dir

    before = floor(host, sizes.workers)
    previous_run_day = host.call("now").date().isoformat()
    host.reset_calls()
    ours = run_ours(host, fresh(work / "ours"), sizes.workers)
    summary = ours["summary"]
    t = time.perf_counter()
    built = build_models(ours["warehouse"])
    models_seconds = time.perf_counter() - t
    models = models_split(dbt_dir(ours["warehouse"]) / "target" / RUN_RESULTS, models_seconds, built)
    # the floor is timed on either side of our run and averaged: the machine's speed drifts over minutes
    after = floor(host, sizes.workers)
    floor_figures = {
        "seconds": round((before["seconds"] + after["seconds"]) / 2, 2),
        "records": before["records"],
        "records_per_second": round(before["records"] * 2 / (before["seconds"] + after["seconds"])),
        "calls": before["calls"],
        "runs_seconds": [before["seconds"], after["seconds"]],
    }
    records = _core_records(summary.api)
    pipeline_seconds = sum(summary.timings.get(step, 0.0) for step in LOAD_STEPS)
    fetch = ours["fetch"]
    extract = summary.timings.get("extract", 0.0)
    figures: dict[str, Any] = {
        "resources": CORE,
        "portal": portal_figures(sizes),
        "workers": sizes.workers,
        "records": records,
        "rows_loaded": summary.rows,
        "calls": summary.api.get("calls", 0),
        "seconds": round(pipeline_seconds, 2),
        "records_per_second": round(records / pipeline_seconds),
        "split_seconds": {
            # wall time with at least one API call in flight, and the extract step's time outside calls
            "fetch": round(fetch["busy_seconds"], 2),
            "dlt_extract": round(max(0.0, extract - fetch["busy_seconds"]), 2),
            "normalize": round(summary.timings.get("normalize", 0.0), 2),
            "load": round(summary.timings.get("load", 0.0), 2),
            "models": round(models_seconds, 2),
        },
        "fetch_call_seconds": round(fetch["call_seconds"], 2),
        "models_built": len(built),
        "models": models,
        "floor": floor_figures,
        "ratio_to_floor": round(pipeline_seconds / floor_figures["seconds"], 2),
    }
    if with_peer:
        peer_figures = peer(host, fresh(work / "peer"))
        figures["peer"] = peer_figures
        figures["speedup_over_peer"] = round(peer_figures["seconds"] / pipeline_seconds, 2)
    state = {"previous_run_day": previous_run_day, "full_calls": _core_calls(summary.api), "out": work / "ours"}
    return figures, state


def models_split(run_results: Path, seconds: float, built: Any) -> dict[str, Any]:
    """The models step apart: SQL of the models and of their tests (dbt's run_results.json, one
    thread, so the node times add up), and dbt's fixed start-up (the rest of the step: parsing,
    the adapter, compiling; paid once per build). The Parquet export is timed on its own."""
    results = json.loads(run_results.read_text(encoding="utf-8"))
    by_kind: dict[str, float] = {}
    for node in results["results"]:
        kind = node["unique_id"].split(".")[0]
        by_kind[kind] = by_kind.get(kind, 0.0) + float(node.get("execution_time") or 0.0)
    sql, tests = by_kind.get("model", 0.0), by_kind.get("test", 0.0)
    export = float(built.timings.get("export", 0.0))
    return {
        "seconds": round(seconds, 2),
        "sql_seconds": round(sql, 2),
        "test_seconds": round(tests, 2),
        "dbt_startup_seconds": round(seconds - sql - tests - export, 2),
        "export_seconds": round(export, 2),
        "models_built": sum(1 for r in results["results"] if r["unique_id"].startswith("model.")),
        "tests_run": sum(1 for r in results["results"] if r["unique_id"].startswith("test.")),
    }


def frugality(host: PortalHost, sizes: Sizes, state: dict[str, Any]) -> dict[str, Any]:
    """Calls per core resource, full and after 1% churn, beside the fewest calls the API allows."""
    full_min = host.call("core_counts", since=None)
    churned = host.churn(days=1, share=0.01)
    incr_min = host.call("core_counts", since=state["previous_run_day"])
    host.reset_calls()
    ours = run_ours(host, state["out"], sizes.workers)
    incr_calls = _core_calls(ours["summary"].api)

    def table(calls: dict[str, int], minimum: dict[str, int]) -> dict[str, Any]:
        rows = {
            r: {"calls": calls[r], "minimum": minimum[r], "ratio": round(calls[r] / minimum[r], 3) if minimum[r] else None}
            for r in CORE
        }
        total, least = sum(calls.values()), sum(minimum.values())
        rows["total"] = {"calls": total, "minimum": least, "ratio": round(total / least, 3) if least else None}
        return rows

    return {
        "resources": CORE,
        "churn": {"days": 1, "share": 0.01, "changes": churned},
        "previous_run_day": state["previous_run_day"],
        "changed_enrollments_matched": incr_min["matched_enrollments"],
        "courses_with_enrollments": incr_min["courses_with_enrollments"],
        "full": table(state["full_calls"], full_min["minimum"]),
        "incremental": table(incr_calls, incr_min["minimum"]),
        "incremental_seconds": round(ours["seconds"], 2),
    }


def frugality_all(sizes: Sizes, work: Path) -> dict[str, Any]:
    """Every resource on a small portal: calls per endpoint, full and after 1% churn."""
    with PortalHost(users=sizes.all_users, seed=sizes.seed, page_size=sizes.page_size,
                    enrollments_per_user=sizes.enrollments_per_user) as host:
        day = host.call("now").date().isoformat()
        full = run_ours(host, fresh(work / "all"), sizes.workers, resources=None)
        full_min = host.call("core_counts", since=None)
        host.churn(days=1, share=0.01)
        incr_min = host.call("core_counts", since=day)
        incr = run_ours(host, work / "all", sizes.workers, resources=None)
    endpoints = sorted(set(full["summary"].api["endpoints"]) | set(incr["summary"].api["endpoints"]))

    def calls(run: dict[str, Any], endpoint: str) -> int:
        return run["summary"].api["endpoints"].get(endpoint, {}).get("calls", 0)

    return {
        "portal_users": sizes.all_users,
        "endpoints": {e: {"full": calls(full, e), "incremental": calls(incr, e)} for e in endpoints},
        "total": {"full": full["summary"].api["calls"], "incremental": incr["summary"].api["calls"]},
        "core_minimum": {"full": full_min["minimum"], "incremental": incr_min["minimum"]},
    }


def ratelimit(sizes: Sizes, work: Path) -> dict[str, Any]:
    """Core resources against a portal whose per-minute limit binds."""
    with PortalHost(users=sizes.rl_users, seed=sizes.seed, page_size=sizes.page_size,
                    enrollments_per_user=sizes.enrollments_per_user, rate_per_minute=sizes.rl_per_minute,
                    latency_ms=sizes.rl_latency_ms) as host:
        started = time.time()
        ours = run_ours(host, fresh(work / "ratelimit"), sizes.workers)
        finished = time.time()
    client: TimedClient = ours["client"]
    exchanges = client.recorder.exchanges
    windows = per_minute(exchanges, started, finished)
    full = [m for m in windows["minutes"] if m["full"]]
    if full:
        per_min = sum(m["calls"] for m in full) / len(full)
    else:  # a short run: the average rate over the whole run, per minute
        per_min = len(exchanges) / max(finished - started, 1e-9) * 60
    late_429 = sum(1 for at, status in exchanges if status == 429 and at >= started + 60)
    limiter = ours["summary"].rate_limit
    return {
        "limit_per_minute": sizes.rl_per_minute,
        "latency_ms": sizes.rl_latency_ms,
        "portal_users": sizes.rl_users,
        "seconds": round(finished - started, 1),
        "calls": len(exchanges),
        "full_minutes": windows["full_minutes"],
        "calls_per_minute": round(per_min, 1),
        "share_of_limit": round(per_min / sizes.rl_per_minute, 3),
        "http_429": sum(1 for _, status in exchanges if status == 429),
        "http_429_after_first_minute": late_429,
        "throttle_waits": limiter.get("throttle_waits"),
        "minutes": windows["minutes"],
    }


def latency(sizes: Sizes, work: Path) -> dict[str, Any]:
    """Core resources against a portal that answers every call `lat_latency_ms` late and sets no binding limit.

    The ideal is what the calls cost at the calls in flight the run allows (`workers`, LEARNUPON_WORKERS):
    calls x latency / workers. The run's API phase (from its first call to the end of its last) is set
    against it; the whole run (normalize and load included, which latency does not touch) is shown beside.
    """
    with PortalHost(users=sizes.lat_users, seed=sizes.seed, page_size=sizes.lat_page_size,
                    enrollments_per_user=sizes.enrollments_per_user, latency_ms=sizes.lat_latency_ms) as host:
        ours = run_ours(host, fresh(work / "latency"), sizes.workers)
    summary = ours["summary"]
    client: TimedClient = ours["client"]
    calls = summary.api.get("calls", 0)
    api_seconds = max(b for _, b in client.intervals) - min(a for a, _ in client.intervals)
    ideal = calls * sizes.lat_latency_ms / 1000 / sizes.workers
    seconds = sum(summary.timings.values())
    return {
        "portal_users": sizes.lat_users,
        "page_size": sizes.lat_page_size,
        "latency_ms": sizes.lat_latency_ms,
        "workers": sizes.workers,
        "calls": calls,
        "calls_by_endpoint": {e: c["calls"] for e, c in summary.api.get("endpoints", {}).items()},
        "ideal_seconds": round(ideal, 2),
        "sequential_seconds": round(calls * sizes.lat_latency_ms / 1000, 2),
        "api_seconds": round(api_seconds, 2),
        "ratio_to_ideal": round(api_seconds / ideal, 2),
        "seconds": round(seconds, 2),
        "run_ratio_to_ideal": round(seconds / ideal, 2),
        "split_seconds": {step: round(value, 2) for step, value in summary.timings.items()},
    }


def child_run(host: PortalHost, out: Path, workers: int, destination: str = "duckdb",
              env: dict[str, str] | None = None) -> dict[str, Any]:
    """One pipeline run (core resources) in a process of its own: its seconds, records and peak RSS."""
    env = {**os.environ, "BENCH_PORTAL_PASSWORD": host.password, **(env or {})}
    command = [sys.executable, "-m", "pipelines.bench.memory_child", host.base_url, host.username,
               str(out), str(workers), destination]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"the {destination} run failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def destinations(host: PortalHost, sizes: Sizes, work: Path, names: Sequence[str]) -> dict[str, Any]:
    """The same full load (core resources) into each destination, each in a process of its own;
    then 1% churn on the portal and an incremental run into each (the same changes for every
    destination: a Delta merge or a PostgreSQL delete-insert into million-row tables).

    What a destination needs for it is its `benchmark_environment` (PostgreSQL: the database
    DESTINATION__POSTGRES__CREDENTIALS names, else a throwaway server started as the tests start
    theirs, stopped afterwards). A server's processes are not part of the pipeline's peak RSS;
    their memory after the load is reported apart.
    """
    from contextlib import ExitStack

    from pipelines.destinations import KINDS

    runs: dict[str, Any] = {}
    incremental: dict[str, Any] = {}
    envs: dict[str, dict[str, str]] = {}
    with ExitStack() as servers:  # each destination's server (PostgreSQL's) stopped at the end
        for name in names:
            env, server = servers.enter_context(KINDS[name].benchmark_environment())
            envs[name] = env
            figures = child_run(host, fresh(work / f"destination_{name}"), sizes.workers, name, env)
            figures["records_per_second"] = round(figures["records"] / figures["seconds"]) if figures["seconds"] else None
            if server is not None:
                figures["server_rss_after_mib"] = _server_rss_mib(server.pid)
            runs[name] = figures
        churned = host.churn(days=1, share=0.01)
        for name in names:
            incremental[name] = child_run(host, work / f"destination_{name}", sizes.workers, name, envs[name])
    return {
        "portal": portal_figures(sizes),
        "resources": CORE,
        "workers": sizes.workers,
        "runs": runs,
        "churn": {"days": 1, "share": 0.01, "changes": churned},
        "incremental": incremental,
    }


def _server_rss_mib(pid: int) -> float | None:
    """Resident memory of a PostgreSQL server (postmaster and its backends) after the load."""
    import psutil

    try:
        parent = psutil.Process(pid)
        total = parent.memory_info().rss + sum(c.memory_info().rss for c in parent.children(recursive=True))
    except psutil.Error:
        return None
    return round(total / 2**20, 1)


def parquet(host: PortalHost, work: Path, sizes: Sizes) -> dict[str, Any]:
    """The Parquet destination on the throughput portal: the same run as ours, plus publishing the folders.

    Time from a run in this process (the split includes `publish`); peak memory from a run in a
    process of its own, for the whole run and for the publication alone (pipelines/bench/memory_child.py).
    """
    ours = run_ours(host, fresh(work / "parquet"), sizes.workers, destination="parquet")
    summary = ours["summary"]
    seconds = sum(summary.timings.get(step, 0.0) for step in (*LOAD_STEPS, "publish"))
    records = _core_records(summary.api)
    published = ours["warehouse"].parquet_dir
    size = sum(f.stat().st_size for f in published.glob(".versions/*/*/*.parquet"))
    size += sum(f.stat().st_size for f in published.glob("history/.versions/*/*/*.parquet"))
    memory_figures = child_run(host, fresh(work / "parquet_memory"), sizes.workers, "parquet")
    return {
        "destination": "parquet",
        "records": records,
        "seconds": round(seconds, 2),
        "records_per_second": round(records / seconds),
        "split_seconds": {step: round(value, 2) for step, value in summary.timings.items()},
        "publish_seconds": round(summary.timings.get("publish", 0.0), 2),
        "published_mib": round(size / 2**20, 1),
        "peak_rss_mib": memory_figures["peak_rss_mib"],
        "publish_peak_rss_mib": memory_figures["publish_peak_rss_mib"],
        "publish_alone_seconds": memory_figures["publish_seconds"],
    }


def memory(sizes: Sizes, work: Path, big_host: PortalHost | None = None, destination: str = "duckdb") -> dict[str, Any]:
    """Peak RSS and throughput of a pipeline process (core resources into `destination`) per portal size, each
    run in its own subprocess: a first load, then 1% churn on the portal and an incremental run into the same
    warehouse (a merge into tables of that size). PostgreSQL: a throwaway server, as the destinations scenario."""
    results = []
    from pipelines.destinations import KINDS

    for users in sizes.memory_users:
        reuse = big_host is not None and users == sizes.users
        host = big_host if reuse else PortalHost(users=users, seed=sizes.seed, page_size=sizes.page_size,
                                                  enrollments_per_user=sizes.enrollments_per_user)
        try:
            # each size its own empty warehouse (PostgreSQL: a database of its own), a first load each
            with KINDS[destination].benchmark_environment() as (env, _server):
                out = fresh(work / f"memory_{destination}_{users}")
                figures = child_run(host, out, sizes.workers, destination, env)
                host.churn(days=1, share=0.01)
                figures["incremental"] = child_run(host, out, sizes.workers, destination, env)
            results.append({USERS: users, **figures})
        finally:
            if not reuse:
                host.stop()
    peaks = [max(r["peak_rss_mib"], r["incremental"]["peak_rss_mib"]) for r in results]
    return {
        "resources": CORE,
        "destination": destination,
        "sizes": results,
        "growth": round(max(peaks) / min(peaks), 2),
        "largest_mib": max(peaks),
    }


def _start_and_exit(wall: float, run: dict[str, Any]) -> dict[str, float]:
    """The process's time outside its measured module: its start with the package imports (dlt), and its exit (the
    interpreter's finalization); as one figure where the start cannot be read (no /proc)."""
    outside = wall - run["in_process_seconds"]
    before = run.get("before_module_seconds")
    if before is None:
        return {"interpreter start and exit": round(outside, 3)}
    return {"interpreter start and package imports": round(before, 3), "interpreter exit": round(max(0.0, outside - before), 3)}


# the hourly light job's largest resource, the one the throughput portal carries at full size
FIXED_COST_RESOURCES = ("enrollments",)


def fixed_cost(host: PortalHost, sizes: Sizes, work: Path, warehouse_dir: Path | None = None, runs: int = 3) -> dict[str, Any]:
    """What an incremental run of an unchanged portal costs beyond its API calls: `lms-warehouse run --resources
    enrollments` (the hourly light job's resource) in a process of its own, `runs` times in a row on the warehouse
    the throughput run loaded (else a first load of the core resources here). Our own time is the process's wall
    time minus the wall time with a call in flight; it is taken apart by step (pipelines/bench/light_run.py). The
    first run also catches the snapshot's spare up with the first load, so the last run is the steady state.
    Then the same snapshot written whole, for comparison (the refresh before it was proportional to change)."""
    from pipelines.destinations.duckdb_snapshot import last_refresh, manifest_path, publish_snapshot, spare_path
    from pipelines.run.lock import run_lock
    from pipelines.run.runner import Warehouse

    out = warehouse_dir
    if out is None:
        out = fresh(work / "fixed")
        child_run(host, out, sizes.workers)
    env = {**os.environ, "BENCH_PORTAL_PASSWORD": host.password}
    command = [sys.executable, "-m", "pipelines.bench.light_run", host.base_url, host.username, str(out),
               str(sizes.workers), ",".join(FIXED_COST_RESOURCES)]
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"the light run failed: {done.stderr[-2000:]}")
        run = json.loads(done.stdout.strip().splitlines()[-1])
        steps = dict(run["steps"])
        steps["extract"] = max(0.0, steps.get("extract", 0.0) - run["http_busy_seconds"])  # ours: beyond the calls
        run["own_seconds"] = round(wall - run["http_busy_seconds"], 2)
        run["wall_seconds"] = round(wall, 2)
        run["own_split"] = {
            **_start_and_exit(wall, run),
            "imports": run["imports"],
            "client and settings": run["set_up"],
            **{("extract beyond calls" if k == "extract" else k): round(v, 3) for k, v in steps.items()},
            "summary": run["summary"],
        }
        run["snapshot_refresh"] = last_refresh(out)
        results.append(run)
    warehouse = Warehouse(out_dir=out)
    for leftover in (spare_path(out), manifest_path(spare_path(out))):  # the next publish knows nothing: it writes whole
        leftover.unlink(missing_ok=True)
    with run_lock(out):
        whole = publish_snapshot(warehouse)
    last = results[-1]
    return {
        "portal": {USERS: sizes.users, "enrollments_per_user": sizes.enrollments_per_user},
        "resources": list(FIXED_COST_RESOURCES),
        "warehouse_mib": round(warehouse.duckdb_path.stat().st_size / 2**20, 1),
        "runs": results,
        "own_seconds": last["own_seconds"],
        "cpu_seconds": last["cpu_seconds"],
        "own_split": last["own_split"],
        "calls": last["calls"],
        "http_busy_seconds": last["http_busy_seconds"],
        "snapshot_seconds": last["steps"].get("snapshot"),
        "snapshot_rows_written": sum((last["snapshot_refresh"] or {}).get("rows", {}).values()),
        "snapshot_whole_seconds": round(whole.seconds, 2) if whole else None,
    }


# the realm scenario's portals: a name each, its own seed (overlapping ids, different data), latency and limit
REALM_PORTALS = ("north", "south", "east")


def realm(sizes: Sizes, work: Path) -> dict[str, Any]:
    """Three portals (each its own server process, latency and rate limit) loaded in one run, side by side
    (pipelines/run/portals.py), against the same three loaded one after another as single-portal runs into one
    warehouse. Each arm gets three fresh portal processes of the same configuration, so neither starts with a
    minute budget the other spent. Concurrency is measured, not assumed: each portal's API phase (its first call
    to the end of its last) on the run's timeline, and the seconds two or three portals were reading at once."""
    from pipelines.run.portals import pipeline_name, run_portals
    from pipelines.run.runner import Warehouse

    configs = {
        name: dict(users=sizes.realm_users, seed=sizes.seed + i, page_size=sizes.page_size,  # a SimulatedPortal's config
                   enrollments_per_user=sizes.enrollments_per_user, latency_ms=sizes.realm_latency_ms[i],
                   rate_per_minute=sizes.realm_rates[i])
        for i, name in enumerate(REALM_PORTALS)
    }

    def arm(together: bool) -> dict[str, Any]:
        hosts = {name: PortalHost(**config) for name, config in configs.items()}
        try:
            clients: dict[str, TimedClient] = {}

            def context(name: str) -> ExtractContext:
                host = hosts[name]
                make = client_factory(host.base_url, host.username, host.password, sizes.workers)

                def keep() -> TimedClient:
                    clients[name] = make()
                    return clients[name]

                return ExtractContext(client_factory=keep, portal=name, options=ExtractOptions(workers=sizes.workers))

            warehouse = Warehouse(out_dir=fresh(work / ("realm_together" if together else "realm_one_by_one")))
            batches = [list(REALM_PORTALS)] if together else [[name] for name in REALM_PORTALS]
            started = time.perf_counter()
            outcomes = []
            for batch in batches:
                outcomes += run_portals([(context(n), pipeline_name(n, single=False)) for n in batch], warehouse, CORE)
            wall = time.perf_counter() - started
            failed = {o.portal: str(o.error or o.summary and o.summary.error) for o in outcomes if o.failed}
            if failed:
                raise RuntimeError(f"realm scenario: portal run(s) failed: {failed}")
            served = {name: sum(host.calls().values()) for name, host in hosts.items()}
        finally:
            for host in hosts.values():
                host.stop()
        portals = {}
        phases = {}
        for outcome in outcomes:
            name, summary = outcome.portal, outcome.summary
            spans = clients[name].intervals
            phases[name] = (min(a for a, _ in spans) - started, max(b for _, b in spans) - started)
            portals[name] = {
                "calls": summary.api.get("calls", 0),
                "calls_served": served[name],  # what the portal's own server counted: the same, or the run miscounts
                "http_429": summary.api.get("http_429", 0),
                "throttle_waits": summary.rate_limit.get("throttle_waits", 0),
                "min_remaining_minute": summary.rate_limit.get("min_remaining_minute"),
                "records": _core_records(summary.api),
                "run_seconds": round(summary.seconds, 2),
                "api_phase_seconds": [round(phases[name][0], 2), round(phases[name][1], 2)],
            }
        return {"seconds": round(wall, 2), "by_portal": portals, "overlap_seconds": _overlap(list(phases.values()))}

    together = arm(True)
    one_by_one = arm(False)
    return {
        "by_portal": {name: {USERS: c[USERS], "latency_ms": c["latency_ms"], "rate_per_minute": c["rate_per_minute"]}
                    for name, c in configs.items()},
        "enrollments_per_user": sizes.enrollments_per_user,
        "page_size": sizes.page_size,
        "workers": sizes.workers,
        "resources": CORE,
        "together": together,
        "one_by_one": one_by_one,
        "speedup": round(one_by_one["seconds"] / together["seconds"], 2),
    }


def _overlap(phases: list[tuple[float, float]]) -> dict[str, float]:
    """Seconds during which at least 2, and all, of these (start, end) phases ran at once."""
    events = sorted([(a, 1) for a, _ in phases] + [(b, -1) for _, b in phases])
    running, last, at_least_two, all_of_them = 0, None, 0.0, 0.0
    for at, step in events:
        if last is not None:
            if running >= 2:
                at_least_two += at - last
            if running == len(phases):
                all_of_them += at - last
        running += step
        last = at
    return {"two_or_more": round(at_least_two, 2), "all": round(all_of_them, 2)}
