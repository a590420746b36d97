"""Faults, 429 storms and a killed process still end in a correct warehouse."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import CORE_RESOURCES, query, run_pipeline
from tests.support.events import held_answer, wait_until
from tests.support.truth import assert_matches_truth


def test_injected_faults_are_retried_and_the_warehouse_is_correct(portal_factory, tmp_path: Path) -> None:
    portal = portal_factory(page_size=10, fault_rate=0.2, fault_kinds=("500", "503", "truncated", "drop"))
    summary = run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)  # every endpoint shares this retry path
    faults = summary.api["faults"]
    assert sum(faults.values()) > 5, faults
    assert {"truncated_json", "connection"} & set(faults), faults
    portal.set_faults(fault_rate=0.0)
    assert_matches_truth(tmp_path, portal.ground_truth())


def test_429s_from_a_shared_rate_limit_are_waited_out(portal_factory, tmp_path: Path) -> None:
    """Another integration spends the shared budget before and during the run; the run backs off and finishes correctly.

    Whether the run meets the limit does not depend on how fast this machine is: its calls (28 for the core
    resources of this portal) are more than a budget of 5 per 1-second window allows in the few windows an
    unthrottled run could span, even with nothing else spending it, so the run must wait or meet a 429."""
    portal = portal_factory(users=60, page_size=25, rate_per_minute=5, rate_window_seconds=1)
    stop = threading.Event()
    drained = threading.Event()  # the neighbour has met a 429: the window's budget is spent

    def neighbour() -> None:
        # spends the window's budget before the run starts, then keeps taking a call now and then, so the
        # counts of remaining calls the run reads from the headers go stale; a failed call must not end it
        with httpx.Client(auth=(portal.config.username, portal.config.password), timeout=60) as http:
            while not stop.is_set():
                try:
                    if http.get(portal.base_url + "/courses").status_code == 429:
                        drained.set()
                except httpx.HTTPError:
                    pass
                if drained.is_set():
                    stop.wait(0.5)

    thread = threading.Thread(target=neighbour, daemon=True)
    thread.start()
    try:
        wait_until(drained.is_set, "the neighbour spending the window's budget")
        summary = run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    finally:
        stop.set()
        thread.join()
    assert summary.api["calls"] - summary.api["http_429"] > 3 * 5, summary.api  # more than three windows hold: the premise
    assert summary.api["http_429"] > 0 or summary.rate_limit["throttle_waits"] > 0
    portal.set_rate_limits(rate_per_minute=None)
    assert_matches_truth(tmp_path, portal.ground_truth())


def test_a_killed_run_loses_nothing_and_the_next_run_is_correct(portal_factory, tmp_path: Path) -> None:
    portal = portal_factory(users=150, page_size=10)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEARNUPON_")},
        "LEARNUPON_BASE_URL": portal.base_url,
        "LEARNUPON_USERNAME": portal.config.username,
        "LEARNUPON_PASSWORD": portal.config.password,
    }
    command = [str(Path(sys.executable).parent / "lms-warehouse"), "run", "--out", str(tmp_path), "--resources", ",".join(CORE_RESOURCES)]
    # the kill lands while the run waits for its 2nd page of enrollments: mid-extract on any machine
    with held_answer(portal, "GET /enrollments/search", 2) as mid_extract:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(mid_extract.is_set, "the run asking for its 2nd page of enrollments", process)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait()
    assert process.returncode == -signal.SIGKILL  # killed, not ended on its own
    # it was mid-run: no run record says succeeded (if the killed run left a warehouse at all)
    tables = "select 1 from information_schema.tables where table_schema = 'learnupon' and table_name = 'pipeline_runs'"
    if (tmp_path / "warehouse.duckdb").exists() and query(tmp_path, tables):
        assert "succeeded" not in [r["status"] for r in query(tmp_path, "select status from learnupon.pipeline_runs")]
    # whatever the killed run left (nothing, a partial extract, a pending load), the next run repairs it
    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    assert_matches_truth(tmp_path, portal.ground_truth())
    statuses = [r["status"] for r in query(tmp_path, "select status from learnupon.pipeline_runs")]
    assert statuses[-1] == "succeeded"
