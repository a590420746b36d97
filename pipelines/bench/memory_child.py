"""One pipeline run (core resources into DuckDB) in a process of its own; prints its peak RSS as JSON.

python -m pipelines.bench.memory_child BASE_URL USERNAME OUT_DIR WORKERS
(the password comes from the BENCH_PORTAL_PASSWORD environment variable, never argv)
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time

import psutil


def high_water_mark() -> int:
    """This process's peak RSS in bytes since it was exec'd.

    Linux's VmHWM belongs to the process image. getrusage's ru_maxrss does not do here:
    it survives exec, so a child of a large benchmark process would report its parent's size.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def main(argv: list[str]) -> int:
    base_url, username, out_dir, workers = argv[0], argv[1], argv[2], int(argv[3])
    destination = argv[4] if len(argv) > 4 else "duckdb"
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    logging.getLogger("dlt").setLevel(logging.ERROR)
    me = psutil.Process()
    peak = [me.memory_info().rss]
    baseline = peak[0]
    stop = threading.Event()

    def poll() -> None:  # RSS now and then, so the figure also covers child processes dlt may start
        while not stop.wait(0.05):
            rss = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
            peak[0] = max(peak[0], rss)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    from pipelines.learnupon.context import ExtractContext
    from pipelines.learnupon.settings import ExtractOptions
    from pipelines.runner import Warehouse, run_extract

    from .scenarios import CORE
    from .timing import client_factory

    context = ExtractContext(
        client_factory=client_factory(base_url, username, os.environ["BENCH_PORTAL_PASSWORD"], workers),
        options=ExtractOptions(workers=workers),
    )
    started = time.perf_counter()
    try:
        summary = run_extract(context, Warehouse(destination=destination, out_dir=out_dir), CORE)
    finally:
        context.close()
    seconds = time.perf_counter() - started
    stop.set()
    poller.join()
    peak_bytes = max(peak[0], high_water_mark())
    records = sum(s["records"] for s in summary.api["endpoints"].values())
    print(json.dumps({
        "enrollments": summary.rows.get("enrollments", 0),
        "records": records,
        "seconds": round(seconds, 2),
        "records_per_second": round(records / seconds) if seconds else None,
        "peak_rss_mib": round(peak_bytes / 2**20, 1),
        "baseline_rss_mib": round(baseline / 2**20, 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
