"""`lms-warehouse bench`: the performance benchmark (docs/benchmarks.md).

Starts simulated portals in processes of their own, runs the scenarios
(throughput with its floor and peer, the Parquet destination, rate limit, API
frugality, memory, fixed cost, several portals), prints
a table, and with --json the same figures as one JSON object on the last line.
Benchmarks are measurements, not tests: nothing here fails on a slow figure.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..learnupon.settings_spec import default
from .goals import evaluate, format_goals
from .sizes import Sizes

SCENARIOS = ("throughput", "parquet", "latency", "ratelimit", "frugality", "memory", "fixed", "realm")
# on request (--scenarios destinations): the throughput portal loaded into each of --destinations
EXTRA_SCENARIOS = ("destinations",)

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated subset of {','.join(SCENARIOS + EXTRA_SCENARIOS)} (default: {','.join(SCENARIOS)})")
    parser.add_argument("--destinations", default="duckdb,postgres",
                        help="destinations scenario: where to load (default duckdb,postgres; postgres uses"
                        " DESTINATION__POSTGRES__CREDENTIALS, else starts a throwaway server)")
    parser.add_argument("--quick", action="store_true", help="small portals: a couple of minutes in all")
    parser.add_argument("--tiny", action="store_true", help="tiny portals: seconds (the smoke test)")
    parser.add_argument("--users", type=int, default=None, help="users on the throughput portal (default 100000)")
    parser.add_argument("--enrollments-per-user", type=float, default=None, help="default 10")
    parser.add_argument("--page-size", type=int, default=None, help="portal page size (default 500)")
    parser.add_argument("--workers", type=int, default=None, help=f"parallel API calls (default {default('workers')})")
    parser.add_argument("--rate-per-minute", type=int, default=None, help="rate-limit scenario: limit (default 300)")
    parser.add_argument("--latency-ms", type=int, default=None, help="rate-limit scenario: latency per call (150)")
    parser.add_argument("--ratelimit-users", type=int, default=None, help="rate-limit scenario portal (50000)")
    parser.add_argument("--call-latency-ms", type=int, default=None, help="latency scenario: latency per call (100)")
    parser.add_argument("--realm-users", type=int, default=None, help="realm scenario: users on each of its three portals (10000)")
    parser.add_argument("--memory-users", default=None, help="memory scenario portal sizes, e.g. 1000,10000,100000")
    parser.add_argument("--no-peer", action="store_true", help="skip dlt's rest_api peer (slowest part)")
    parser.add_argument("--destination", default="duckdb", help="memory scenario: the warehouse loaded (duckdb, parquet, delta, postgres)")
    parser.add_argument("--work-dir", type=Path, default=None, help="keep warehouses here (default: a temp folder)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on the last line")


def sizes_from(args: argparse.Namespace) -> Sizes:
    sizes = Sizes.tiny() if args.tiny else Sizes.quick() if args.quick else Sizes()
    if args.users is not None:
        sizes.users = args.users
    for attr, value in (("enrollments_per_user", args.enrollments_per_user),
                        ("page_size", args.page_size), ("workers", args.workers),
                        ("rl_per_minute", args.rate_per_minute), ("rl_latency_ms", args.latency_ms),
                        ("rl_users", args.ratelimit_users), ("lat_latency_ms", args.call_latency_ms),
                        ("realm_users", args.realm_users)):
        if value is not None:
            setattr(sizes, attr, value)
    if args.memory_users:
        sizes.memory_users = tuple(int(x) for x in args.memory_users.split(",") if x.strip())
    return sizes


def run_benchmark(sizes: Sizes, scenarios: Sequence[str], work: Path, peer: bool = True,
                  log: Any = None, destinations: Sequence[str] = ("duckdb",), destination: str = "duckdb") -> dict[str, Any]:
    from .portal_host import PortalHost
    from . import scenarios as sc

    say = log or (lambda message: None)
    unknown = set(scenarios) - set(SCENARIOS + EXTRA_SCENARIOS)
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    result: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "machine": {"cpus": os.cpu_count(), "memory_gib": _memory_gib(), "python": platform.python_version()},
        "sizes": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(sizes).items()},
        "scenarios": list(scenarios),
    }
    big_needed = {"throughput", "parquet", "frugality", "destinations", "fixed"} & set(scenarios) or (
        "memory" in scenarios and sizes.users in sizes.memory_users)
    big = None
    try:
        if big_needed:
            say(f"starting the portal: {sizes.users:,} users x {sizes.enrollments_per_user:g} enrollments")
            big = PortalHost(users=sizes.users, seed=sizes.seed, page_size=sizes.page_size,
                             enrollments_per_user=sizes.enrollments_per_user)
        state = None
        if "throughput" in scenarios or "frugality" in scenarios:
            say("throughput: floor, ours, models" + (", peer" if peer and "throughput" in scenarios else ""))
            figures, state = sc.throughput(big, work, sizes, with_peer=peer and "throughput" in scenarios)
            if "throughput" in scenarios:
                result["throughput"] = figures
        if "parquet" in scenarios:  # before frugality's churn: the same portal as the throughput run
            say("parquet: the same run into the Parquet destination, and its memory")
            result["parquet"] = sc.parquet(big, work, sizes)
        if "destinations" in scenarios:
            say(f"destinations: {', '.join(destinations)}")
            result["destinations"] = sc.destinations(big, sizes, work, destinations)
        if "fixed" in scenarios:  # before frugality's churn: the portal is unchanged since the first load
            say(f"fixed cost: a first load, then {len(sc.FIXED_COST_RESOURCES)} resource(s) incremental, unchanged portal")
            result["fixed"] = sc.fixed_cost(big, sizes, work)
        if "frugality" in scenarios:
            say("frugality: churn 1%, incremental run")
            result["frugality"] = sc.frugality(big, sizes, state)
        if "memory" in scenarios:  # after frugality's incremental run: memory's own churn the portal again
            say(f"memory: {', '.join(f'{u:,}' for u in sizes.memory_users)} users into {destination}, first and incremental")
            result["memory"] = sc.memory(sizes, work, big_host=big, destination=destination)
        if big is not None:
            big.stop()
            big = None
        if "frugality" in scenarios:
            say(f"frugality: every resource on {sizes.all_users:,} users")
            result["frugality"]["all_resources"] = sc.frugality_all(sizes, work)
    finally:
        if big is not None:
            big.stop()
    if "latency" in scenarios:
        say(f"latency: {sizes.lat_latency_ms} ms per call, {sizes.lat_users:,} users, page size {sizes.lat_page_size}")
        result["latency"] = sc.latency(sizes, work)
    if "ratelimit" in scenarios:
        say(f"rate limit: {sizes.rl_per_minute}/minute, {sizes.rl_latency_ms} ms per call")
        result["ratelimit"] = sc.ratelimit(sizes, work)
    if "realm" in scenarios:
        say(f"realm: three portals of {sizes.realm_users:,} users in one run, then one after another")
        result["realm"] = sc.realm(sizes, work)
    result["goals"] = {row["goal"]: row for row in evaluate(result)}
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _memory_gib() -> float | None:
    try:
        import psutil

        return round(psutil.virtual_memory().total / 2**30, 1)
    except Exception:
        return None


def format_table(result: dict[str, Any]) -> str:
    from ..learnupon.tables import ENROLLMENTS, USERS  # the figures' keys are the tables they count

    lines = [f"lms-warehouse benchmark, {result['date']}, {result['machine']['cpus']} cores,"
             f" {result['machine']['memory_gib']} GiB, Python {result['machine']['python']}"]
    if t := result.get("throughput"):
        p = t["portal"]
        lines += ["", f"Throughput, no binding rate limit ({p[USERS]:,} users, {p['enrollments_per_user']:g}"
                  f" enrollments per user, page size {p['page_size']}, {t['workers']} workers; {', '.join(t['resources'])})",
                  f"  {'':<28}{'seconds':>10}{'records':>12}{'records/s':>12}"]
        lines.append(f"  {'ours (extract+normalize+load)':<28}{t['seconds']:>10.1f}{t['records']:>12,}{t['records_per_second']:>12,}")
        fl = t["floor"]
        lines.append(f"  {'floor (fetch+parse, mean of 2)':<28}{fl['seconds']:>10.1f}{fl['records']:>12,}{fl['records_per_second']:>12,}")
        if pe := t.get("peer"):
            lines.append(f"  {'peer (dlt rest_api)':<28}{pe['seconds']:>10.1f}{pe['records']:>12,}{pe['records_per_second']:>12,}")
        lines.append(f"  ours / floor: {t['ratio_to_floor']:.2f}x (goal: cpu_per_page below)" + (
            f"   peer / ours: {t['speedup_over_peer']:.2f}x" if "speedup_over_peer" in t else ""))
        split = t["split_seconds"]
        lines.append("  split (s): " + ", ".join(f"{k} {v:.1f}" for k, v in split.items()))
        if mo := t.get("models"):
            lines.append(f"  models step (dbt build, {mo['models_built']} models, {mo['tests_run']} tests): {mo['seconds']:.1f} s ="
                         f" SQL {mo['sql_seconds']:.2f} + tests {mo['test_seconds']:.2f} + dbt start-up"
                         f" {mo['dbt_startup_seconds']:.2f} + Parquet export {mo['export_seconds']:.2f}")
        if pe := t.get("peer"):
            lines.append("  peer split (s): " + ", ".join(f"{k} {v:.1f}" for k, v in pe["timings"].items()))
    if pq := result.get("parquet"):
        lines += ["", "Parquet destination (the throughput run into the DuckDB working warehouse, then the folders published)",
                  f"  {pq['seconds']:.1f} s, {pq['records']:,} records, {pq['records_per_second']:,} records/s;"
                  f" publish {pq['publish_seconds']:.1f} s ({pq['published_mib']:.0f} MiB of Parquet)",
                  "  split (s): " + ", ".join(f"{k} {v:.1f}" for k, v in pq["split_seconds"].items()),
                  f"  peak RSS: {pq['peak_rss_mib']:.0f} MiB the whole run; the publication alone"
                  f" {pq['publish_peak_rss_mib']:.0f} MiB in {pq['publish_alone_seconds']:.1f} s"]
    if la := result.get("latency"):
        lines += ["", f"Latency ({la['latency_ms']} ms per call, {la['portal_users']:,} users, page size {la['page_size']},"
                  f" {la['workers']} calls in flight, no binding limit)",
                  f"  {la['calls']:,} calls: API phase {la['api_seconds']:.1f} s against an ideal of {la['ideal_seconds']:.1f} s"
                  f" (calls x latency / calls in flight) = {la['ratio_to_ideal']:.2f}x (goal: latency below); one at a time {la['sequential_seconds']:.1f} s",
                  f"  whole run {la['seconds']:.1f} s = {la['run_ratio_to_ideal']:.2f}x the ideal; split (s): "
                  + ", ".join(f"{k} {v:.1f}" for k, v in la["split_seconds"].items())]
    if r := result.get("ratelimit"):
        lines += ["", f"Rate limit binding ({r['limit_per_minute']}/minute, {r['latency_ms']} ms per call,"
                  f" {r['portal_users']:,} users)",
                  f"  {r['calls']:,} calls in {r['seconds']:.0f} s over {r['full_minutes']} full minutes:"
                  f" {r['calls_per_minute']:.0f} calls/minute = {100 * r['share_of_limit']:.0f}% of the limit",
                  f"  429s: {r['http_429']} in all, {r['http_429_after_first_minute']} after the first minute",
                  "  per minute: " + " ".join(f"{m['calls']}{'' if m['full'] else '*'}" for m in r["minutes"])
                  + "  (* partial minute)"]
    if f := result.get("frugality"):
        lines += ["", f"API frugality (calls; 1% churn, {f['changed_enrollments_matched']:,} enrollments matched"
                  f" from {f['previous_run_day']})",
                  f"  {'resource':<14}{'full':>8}{'min':>8}{'ratio':>8}{'incr':>8}{'min':>8}{'ratio':>8}"]
        for name in [*f["resources"], "total"]:
            a, b = f["full"][name], f["incremental"][name]
            lines.append(f"  {name:<14}{a['calls']:>8,}{a['minimum']:>8,}{_r(a['ratio']):>8}"
                         f"{b['calls']:>8,}{b['minimum']:>8,}{_r(b['ratio']):>8}")
        if al := f.get("all_resources"):
            lines.append(f"  every resource on {al['portal_users']:,} users: {al['total']['full']:,} calls full,"
                         f" {al['total']['incremental']:,} incremental")
            for endpoint, c in al["endpoints"].items():
                lines.append(f"    {endpoint:<48}{c['full']:>8,}{c['incremental']:>8,}")
    if d := result.get("destinations"):
        p = d["portal"]
        lines += ["", f"Destinations: a first load of {', '.join(d['resources'])} ({p[USERS]:,} users,"
                  f" {p['enrollments_per_user']:g} enrollments per user, {d['workers']} workers), each in its own process",
                  f"  {'destination':<14}{'seconds':>10}{'records':>12}{'records/s':>12}{'peak RSS MiB':>14}"]
        for name, run in d["runs"].items():
            server = f"  (server {run['server_rss_after_mib']:.0f} MiB after)" if run.get("server_rss_after_mib") else ""
            lines.append(f"  {name:<14}{run['seconds']:>10.1f}{run['records']:>12,}{run['records_per_second'] or 0:>12,}"
                         f"{run['peak_rss_mib']:>14.0f}{server}")
        if inc := d.get("incremental"):
            lines += ["  then 1% churn and an incremental run into each",
                      f"  {'destination':<14}{'seconds':>10}{'records':>12}{'peak RSS MiB':>14}"]
            for name, run in inc.items():
                lines.append(f"  {name:<14}{run['seconds']:>10.1f}{run['records']:>12,}{run['peak_rss_mib']:>14.0f}")
    if m := result.get("memory"):
        lines += ["", f"Memory (peak RSS of the pipeline process, core resources into {m.get('destination', 'duckdb')})"]
        for s in m["sizes"]:
            rate = f", {s['records_per_second']:,} records/s" if s.get("records_per_second") else ""
            lines.append(f"  {s[ENROLLMENTS]:>10,} enrollments  {s['peak_rss_mib']:>8.0f} MiB  ({s['seconds']:.0f} s{rate})")
            if inc := s.get("incremental"):
                lines.append(f"  {'incremental':>22}  {inc['peak_rss_mib']:>8.0f} MiB  ({inc['seconds']:.0f} s)")
        lines.append(f"  largest / smallest: {m['growth']:.2f}x")
    if fx := result.get("fixed"):
        p = fx["portal"]
        lines += ["", f"Fixed cost: `run --resources {','.join(fx['resources'])}` on an unchanged portal ({p[USERS]:,} users,"
                  f" {p['enrollments_per_user']:g} enrollments per user; warehouse {fx['warehouse_mib']:,.0f} MiB), each run in its own process",
                  f"  {'run':<5}{'wall s':>8}{'calls':>7}{'waiting s':>11}{'own s':>7}{'CPU s':>7}{'snapshot s':>12}{'rows rewritten':>16}"]
        for number, run in enumerate(fx["runs"], 1):
            refresh = run["snapshot_refresh"] or {}
            written = "whole" if refresh.get("whole") else f"{sum(refresh.get('rows', {}).values()):,}"
            lines.append(f"  {number:<5}{run['wall_seconds']:>8.2f}{run['calls']:>7,}{run['http_busy_seconds']:>11.2f}"
                         f"{run['own_seconds']:>7.2f}{run['cpu_seconds']:>7.2f}{run['steps'].get('snapshot', 0):>12.2f}{written:>16}")
        lines.append("  own time of the last run (s): " + ", ".join(f"{k} {v:.2f}" for k, v in fx["own_split"].items()))
        lines.append(f"  the same snapshot written whole: {fx['snapshot_whole_seconds']:.2f} s")
    if rm := result.get("realm"):
        lines += ["", f"Several portals ({len(rm['by_portal'])} portals, each its own server process, latency and rate limit;"
                  f" {', '.join(rm['resources'])}, {rm['enrollments_per_user']:g} enrollments per user, page size"
                  f" {rm['page_size']}, {rm['workers']} workers per portal)",
                  f"  one run of all: {rm['together']['seconds']:.1f} s; one portal after another:"
                  f" {rm['one_by_one']['seconds']:.1f} s; ratio {rm['speedup']:.2f}x",
                  f"  portals reading the API at once in the one run: two or more {rm['together']['overlap_seconds']['two_or_more']:.1f} s,"
                  f" all {rm['together']['overlap_seconds']['all']:.1f} s (one after another:"
                  f" {rm['one_by_one']['overlap_seconds']['two_or_more']:.1f} s)",
                  f"  {'portal':<8}{'people':>8}{'latency':>9}{'limit/min':>10}{'calls':>8}{'429s':>6}{'waits':>6}"
                  f"{'API phase in the one run (s)':>30}{'alone (s)':>11}"]
        for name, p in rm["by_portal"].items():
            mine, alone = rm["together"]["by_portal"][name], rm["one_by_one"]["by_portal"][name]
            start, end = mine["api_phase_seconds"]
            lines.append(f"  {name:<8}{p[USERS]:>8,}{p['latency_ms']:>7}ms{p['rate_per_minute']:>10,}{mine['calls']:>8,}"
                         f"{mine['http_429']:>6}{mine['throttle_waits']:>6}{f'{start:.1f} to {end:.1f}':>30}{alone['run_seconds']:>11.1f}")
    if g := result.get("goals"):
        lines += ["", "Goals (previous: docs/benchmarks.md)", *format_goals(list(g.values()))]
    return "\n".join(lines)


def _r(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main(args: argparse.Namespace) -> int:
    import sys

    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")  # dlt's schema-hint warnings, once per page
    logging.getLogger("dlt").setLevel(logging.ERROR)
    logging.getLogger("lms_warehouse.models").setLevel(logging.ERROR)  # models needing other resources skip
    sizes = sizes_from(args)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="lms-bench-"))
    try:
        result = run_benchmark(sizes, scenarios, Path(work), peer=not args.no_peer, destination=args.destination,
                               log=lambda message: print(f"bench: {message}", file=sys.stderr, flush=True),
                               destinations=[d.strip() for d in args.destinations.split(",") if d.strip()])
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(format_table(result))
    if args.json:
        print(json.dumps(result, default=str))
    return 0
