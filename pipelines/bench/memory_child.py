"""One pipeline run (core resources, into DuckDB unless told) in a process of its own; prints its peak RSS as JSON.

python -m pipelines.bench.memory_child BASE_URL USERNAME OUT_DIR WORKERS [DESTINATION]
(the password comes from the BENCH_PORTAL_PASSWORD environment variable, never argv; a
PostgreSQL destination's credentials from DESTINATION__POSTGRES__CREDENTIALS)

The peak is also given per step of the run (`peak_by_step_mib`: extract, normalizing, loading,
retiring, as the run reports its steps), so a peak can be traced to the step that holds it.
For parquet the figures also give the publication alone: the peak is reset (Linux's
clear_refs) and the run's first publication is done again.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from typing import Any

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


def reset_high_water_mark() -> bool:
    """Start VmHWM afresh from the current RSS (Linux: writing 5 to clear_refs); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def publication_alone(backend: Any, peak: list[int]) -> dict[str, float]:
    """The first publication for readers again (Parquet's folders), from the loaded working warehouse: its
    seconds and its own peak RSS; nothing for a destination whose readers read the loads."""
    reset_high_water_mark()
    peak[0] = 0
    seconds = backend.publish_from_scratch()
    if seconds is None:
        return {}
    return {
        "publish_seconds": round(seconds, 2),
        "publish_peak_rss_mib": round(max(peak[0], high_water_mark()) / 2**20, 1),
    }


class StepPeaks:
    """The run's progress (only its steps): the peak RSS seen while each step ran."""

    def __init__(self) -> None:
        self.current = "extract"
        self.peaks: dict[str, int] = {}

    def sample(self, rss: int) -> None:
        self.peaks[self.current] = max(self.peaks.get(self.current, 0), rss)

    def step(self, text: str) -> None:
        self.current = text

    def update(self, resource: str, **counts: int) -> None:
        pass

    def done(self, resource: str, **counts: int) -> None:
        pass

    def failed(self, resource: str, cause: str) -> None:
        pass

    def as_mib(self) -> dict[str, float]:
        return {step: round(rss / 2**20, 1) for step, rss in self.peaks.items()}


def main(argv: list[str]) -> int:
    base_url, username, out_dir, workers = argv[0], argv[1], argv[2], int(argv[3])
    destination = argv[4] if len(argv) > 4 else "duckdb"
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    logging.getLogger("dlt").setLevel(logging.ERROR)
    me = psutil.Process()
    peak = [me.memory_info().rss]
    baseline = peak[0]
    stop = threading.Event()
    steps = StepPeaks()

    def poll() -> None:  # RSS now and then, so the figure also covers child processes dlt may start
        while not stop.wait(0.05):
            rss = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
            peak[0] = max(peak[0], rss)
            steps.sample(rss)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    from pipelines.learnupon.context import ExtractContext
    from pipelines.learnupon.settings import ExtractOptions
    from pipelines.learnupon.tables import ENROLLMENTS
    from pipelines.run.runner import Warehouse, run_extract

    from .scenarios import CORE
    from .timing import client_factory

    context = ExtractContext(
        client_factory=client_factory(base_url, username, os.environ["BENCH_PORTAL_PASSWORD"], workers),
        options=ExtractOptions(workers=workers),
        progress=steps,
    )
    warehouse = Warehouse(destination=destination, out_dir=out_dir)
    started = time.perf_counter()
    try:
        summary = run_extract(context, warehouse, CORE)
    finally:
        context.close()
    seconds = time.perf_counter() - started
    peak_bytes = max(peak[0], high_water_mark())
    records = sum(s["records"] for s in summary.api["endpoints"].values())
    figures = {
        ENROLLMENTS: summary.rows.get(ENROLLMENTS, 0),
        "records": records,
        "seconds": round(seconds, 2),
        "records_per_second": round(records / seconds) if seconds else None,
        "peak_rss_mib": round(peak_bytes / 2**20, 1),
        "baseline_rss_mib": round(baseline / 2**20, 1),
        "peak_by_step_mib": steps.as_mib(),
    }
    figures.update(publication_alone(warehouse.backend, peak))
    stop.set()
    poller.join()
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
