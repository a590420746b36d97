"""One run at a time per warehouse, and a warehouse file held by a reader stops a run before it spends calls.

A second run (CLI or Dagster) on a locked output folder exits at once with one line naming
the holder and makes no API call; the lock of a killed process is taken over.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance

from pipelines.run.lock import LOCK_FILE, holder

from tests.conftest import CORE_RESOURCES, cli, query, run_pipeline
from tests.support.truth import assert_matches_truth

# the holders hold until the test kills them (no sleep that a slow machine could outlast)
HOLD_LOCK = """
import sys, threading
from pipelines.run.lock import run_lock
with run_lock(sys.argv[1], command="test holder"):
    print("held", flush=True)
    threading.Event().wait()
"""

HOLD_FILE = """
import sys, threading, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)  # a BI tool reading the warehouse itself
print("held", flush=True)
threading.Event().wait()
"""


def _holder_process(script: str, target: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def _env(portal: Any) -> dict[str, str]:
    return {
        "LEARNUPON_BASE_URL": portal.base_url,
        "LEARNUPON_USERNAME": portal.config.username,
        "LEARNUPON_PASSWORD": portal.config.password,
    }


def test_second_run_on_a_locked_warehouse_exits_at_once_without_api_calls(portal, tmp_path: Path) -> None:
    first = _holder_process(HOLD_LOCK, tmp_path)
    try:
        result = cli("run", "--out", str(tmp_path), "--resources", "users", env=_env(portal))
        # the holder holds until killed: a run that waited for the lock would never have ended
        assert first.poll() is None
    finally:
        first.kill()
        first.wait()
    assert result.returncode == 75, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"pid {first.pid}" in lines[0] and "test holder" in lines[0], result.stderr
    assert sum(portal.calls.values()) == 0


def test_lock_of_a_killed_run_is_taken_over(portal, tmp_path: Path) -> None:
    dead = _holder_process(HOLD_LOCK, tmp_path)
    dead.send_signal(signal.SIGKILL)
    dead.wait()
    assert holder(tmp_path)["pid"] == dead.pid  # its record stays behind, its lock does not
    summary = run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    assert summary.status == "succeeded"
    assert holder(tmp_path)["pid"] == os.getpid()


def test_dagster_run_and_cli_run_share_the_lock(portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assets.definitions import defs

    for name, value in _env(portal).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LMS_WAREHOUSE_DIR", str(tmp_path))
    monkeypatch.delenv("LMS_WAREHOUSE_DESTINATION", raising=False)
    cli_run = _holder_process(HOLD_LOCK, tmp_path)  # stands for a CLI run in progress
    try:
        job = defs.resolve_job_def("audit_trails_job")
        result = job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)
    finally:
        cli_run.kill()
        cli_run.wait()
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "another run is writing" in failure.event_specific_data.error.to_string()
    assert sum(portal.calls.values()) == 0


def test_reader_holding_the_warehouse_file_stops_the_run_before_any_call(portal, tmp_path: Path) -> None:
    run_pipeline(portal, tmp_path, resources=["users"])
    portal.reset_calls()
    reader = _holder_process(HOLD_FILE, tmp_path / "warehouse.duckdb")
    try:
        result = cli("run", "--out", str(tmp_path), "--resources", "users", env=_env(portal))
    finally:
        reader.kill()
        reader.wait()
    assert result.returncode == 75, result.stderr
    assert "warehouse.duckdb is open in another process" in result.stderr
    assert sum(portal.calls.values()) == 0
    assert (tmp_path / LOCK_FILE).exists()


@pytest.mark.parametrize("command", ["models", "report"])
def test_reader_holding_the_warehouse_file_stops_models_and_report_with_exit_75(portal, tmp_path: Path, command: str) -> None:
    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    reader = _holder_process(HOLD_FILE, tmp_path / "warehouse.duckdb")
    try:
        result = cli(command, "--out", str(tmp_path))
    finally:
        reader.kill()
        reader.wait()
    assert result.returncode == 75, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lms-warehouse: busy:"), result.stderr
    assert "warehouse.duckdb is open in another process" in lines[0] and "nothing was built" in lines[0]


def test_file_opened_in_the_middle_of_a_run_stops_it_at_the_next_write_step_keeping_what_it_read(portal, tmp_path: Path) -> None:
    """A program that opens warehouse.duckdb while the run extracts: the run stops before its load (exit 75,
    one line), and the next run loads what it had read."""
    import duckdb

    command = [str(Path(sys.executable).parent / "lms-warehouse"), "run", "--out", str(tmp_path)]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LEARNUPON_")}, **_env(portal)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if "users: done" in line:  # the event: the run is extracting, its first check long passed
            break
    process.send_signal(signal.SIGSTOP)  # hold it still while the file is opened: no race with its next step
    reader = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    process.send_signal(signal.SIGCONT)
    try:
        rest = process.stderr.read()
        process.wait()
    finally:
        reader.close()
    assert process.returncode == 75, rest
    said = [line for line in rest.strip().splitlines() if line.startswith("lms-warehouse:")]
    assert said == rest.strip().splitlines()[-1:], rest  # one line of its own, the last
    assert "warehouse.duckdb is open in another process" in said[0] and "what this run read is kept" in said[0], said
    assert "Traceback" not in rest

    calls = sum(portal.calls.values())
    summary = run_pipeline(portal, tmp_path)
    assert summary.status == "succeeded", summary.error
    assert summary.extra.get("resumed"), "the stopped run's extract was not kept for this run"
    runs = query(tmp_path, "select status, api_calls, error from learnupon.pipeline_runs order by started_at")
    assert [r["status"] for r in runs] == ["failed", "succeeded"], runs  # the stopped run's record loaded too
    assert runs[0]["api_calls"] == calls and "open in another process" in runs[0]["error"]
    assert_matches_truth(tmp_path, portal.ground_truth())


TRY_OPEN = """
import sys, duckdb
try:
    duckdb.connect(sys.argv[1], read_only=True).close()
    print("opened")
except duckdb.Error as exc:
    print("refused" if "lock" in str(exc).lower() else f"other: {exc}")
"""


def test_the_steps_that_write_hold_the_file_open_and_let_it_go_after(portal, tmp_path: Path) -> None:
    """Destination.held_open (DuckDB): dlt's connections of a load are handles on the database this keeps open,
    and a program opening the file meanwhile is refused; after the steps, the file is free again."""
    from pipelines.run.runner import Warehouse

    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    path = str(Warehouse(out_dir=tmp_path).duckdb_path)

    def other_process() -> str:
        return subprocess.run([sys.executable, "-c", TRY_OPEN, path], capture_output=True, text=True, timeout=120).stdout.strip()

    backend = Warehouse(out_dir=tmp_path).backend
    with backend.held_open("nothing is lost"):
        import duckdb

        duckdb.connect(path).close()  # dlt's kind of connection: the database already open, shared
        assert other_process() == "refused"
    assert other_process() == "opened"
