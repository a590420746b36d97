"""One `lms-warehouse run` of a few resources in a process of its own, its own time taken apart (the fixed-cost scenario).

python -m pipelines.bench.light_run BASE_URL USERNAME OUT_DIR WORKERS RESOURCES
(RESOURCES comma-separated; the password comes from the BENCH_PORTAL_PASSWORD environment variable, never argv)

Prints one JSON object: the seconds from the process's start to this module's first line (the interpreter's start
and the package imports -m makes first), the seconds this process spent importing the rest of the pipeline, in each step of the run
(pipelines/run/runner.py's timings: prepare, extract, normalize, load, retire, records; the DuckDB
destination's snapshot), printing the run's summary as the command does (and ending as it does), the wall time with an API
call in flight (TimedClient: the time spent waiting on the portal, which is not ours), and the process's
CPU time (user + system, every thread): on a shared machine wall time stretches with the load, CPU time less.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import io  # noqa: E402 - the imports are part of what is measured
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

from pipelines.process_exit import exit_now  # noqa: E402 - as the console script ends (pipelines/cli.py: command)


def seconds_since_exec() -> float | None:
    """Wall seconds since this process started (Linux's /proc, to 10 ms; None elsewhere): run with -m, the
    interpreter's start and the `pipelines.bench` package's imports (dlt among them, as `run` imports it) come
    before this module's first line."""
    try:
        fields = open("/proc/self/stat", encoding="ascii").read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as uptime:
            return float(uptime.read().split()[0]) - int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
    except (OSError, ValueError, IndexError):
        return None


BEFORE_MODULE = seconds_since_exec()


def main(argv: list[str]) -> int:
    base_url, username, out_dir, workers, resources = argv[0], argv[1], argv[2], int(argv[3]), argv[4].split(",")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    # what `lms-warehouse run` imports before it runs (pipelines/cli.py), then the benchmark's timed client
    from pipelines.learnupon.context import ExtractContext
    from pipelines.learnupon.settings import ExtractOptions
    from pipelines.run.runner import Warehouse
    from pipelines.run.summary import print_summary

    from .timing import client_factory, timed_run

    logging.getLogger("dlt").setLevel(logging.ERROR)
    imported = time.perf_counter()
    context = ExtractContext(
        client_factory=client_factory(base_url, username, os.environ["BENCH_PORTAL_PASSWORD"], workers),
        options=ExtractOptions(workers=workers),
    )
    warehouse = Warehouse(out_dir=out_dir)
    started = time.perf_counter()
    summary, _client, fetch = timed_run(context, warehouse, resources)
    ran = time.perf_counter()
    print_summary(summary, warehouse, ran - started, header="bench", out=io.StringIO())
    printed = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread's, since exec: imports included
    steps = {step: round(seconds, 3) for step, seconds in summary.timings.items()}
    print(json.dumps({
        "status": summary.status,
        "calls": summary.api.get("calls", 0),
        "rows": summary.rows,
        "http_busy_seconds": round(fetch["busy_seconds"], 3),
        "imports": round(imported - STARTED, 3),
        "set_up": round(started - imported, 3),
        "steps": steps,
        "run_seconds": round(ran - started, 3),
        "summary": round(printed - ran, 3),
        "in_process_seconds": round(printed - STARTED, 3),
        "before_module_seconds": BEFORE_MODULE,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
    }))
    return 0


if __name__ == "__main__":
    exit_now(main(sys.argv[1:]))
