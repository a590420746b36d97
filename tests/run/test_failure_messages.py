"""Failures that say what to do: one line naming the cause and the next step, exit 2 for configuration,
and "nothing was lost" only where it is true."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest

from pipelines.run.failures import diagnose
from pipelines.learnupon.client import base_url_for

from tests.conftest import CORE_RESOURCES, cli, query, run_pipeline
from tests.support.truth import assert_matches_truth

NOTHING_LOST = "Nothing already loaded was lost"


def _env(portal) -> dict[str, str]:
    return {
        "LEARNUPON_BASE_URL": portal.base_url,
        "LEARNUPON_USERNAME": portal.config.username,
        "LEARNUPON_PASSWORD": portal.config.password,
    }


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_out_pointing_at_a_file_is_a_configuration_error(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("")
    for command in (["run"], ["models"]):
        result = cli(*command, "--out", str(target), env={"LEARNUPON_BASE_URL": "http://127.0.0.1:9", "LEARNUPON_USERNAME": "u", "LEARNUPON_PASSWORD": "p"})
        assert result.returncode == 2, (command, result.stderr)
        assert _lines(result.stderr) == [f"lms-warehouse: error: --out {target} is a file; it must be a folder (it holds the warehouse and dlt's working files)"]


def test_corrupt_warehouse_names_the_file_and_the_recovery(portal, tmp_path: Path) -> None:
    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(b"\x00garbage" * 5000)
    result = cli("run", "--out", str(tmp_path), "--resources", ",".join(CORE_RESOURCES), env=_env(portal))
    assert result.returncode == 1
    assert len(_lines(result.stderr)) == 1, result.stderr
    assert str(warehouse) in result.stderr and f"mv {warehouse} {warehouse}.broken" in result.stderr
    assert NOTHING_LOST not in result.stderr  # it would fail again on every run
    shutil.move(warehouse, tmp_path / "warehouse.duckdb.broken")  # the recovery the line names
    summary = run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    assert summary.status == "succeeded"
    assert_matches_truth(tmp_path, portal.ground_truth())


def test_garbage_state_file_names_the_folder_and_the_recovery(portal, tmp_path: Path) -> None:
    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    (tmp_path / ".dlt" / "lms_warehouse" / "state.json").write_text("not json {")
    result = cli("run", "--out", str(tmp_path), "--resources", ",".join(CORE_RESOURCES), env=_env(portal))
    assert result.returncode == 1
    assert len(_lines(result.stderr)) == 1, result.stderr
    folder = (tmp_path / ".dlt").resolve()
    assert f"rm -rf {folder}" in result.stderr and NOTHING_LOST not in result.stderr
    shutil.rmtree(folder)
    portal.reset_calls()
    summary = run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    assert summary.status == "succeeded"
    assert_matches_truth(tmp_path, portal.ground_truth())


def test_refused_host_fails_fast_and_names_the_host(tmp_path: Path) -> None:
    env = {"LEARNUPON_BASE_URL": "http://127.0.0.1:9/api/v1", "LEARNUPON_USERNAME": "u", "LEARNUPON_PASSWORD": "p"}
    result = cli("run", "--out", str(tmp_path), "--resources", "users", env=env)
    assert result.returncode == 1
    assert "cannot reach the portal at 127.0.0.1:9: the connection was refused" in result.stderr
    # fast: one TCP connection before any call, not the client's retries with backoff (no bound on wall time)
    assert "no API call was made" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_loopback_address_may_use_plain_http() -> None:
    assert base_url_for(None, "http://127.0.0.2:8008") == "http://127.0.0.2:8008/api/v1"
    assert base_url_for(None, "http://[::1]:8008/api/v1") == "http://[::1]:8008/api/v1"


def test_full_disk_names_the_folder_and_the_space_needed(tmp_path: Path) -> None:
    with pytest.raises(OSError) as raised:  # a real ENOSPC from the kernel
        with open("/dev/full", "w") as handle:
            handle.write("x" * 10)
    assert raised.value.errno == errno.ENOSPC
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "package").write_bytes(b"x" * 2**20)
    problem = diagnose(_wrapped(raised.value), tmp_path)  # as dlt wraps it
    assert problem is not None
    text = str(problem)
    assert str(tmp_path.resolve()) in text and "is full" in text and "free at least" in text and "MB" in text


def _wrapped(error: OSError) -> Exception:
    try:
        try:
            raise error
        except OSError as inner:
            raise RuntimeError("dlt step failed") from inner
    except RuntimeError as outer:
        return outer


def test_failure_after_the_load_records_the_run_as_failed_and_partial_files_are_removed(portal, tmp_path: Path) -> None:
    """The snapshot publish fails after the load (a real error: its target is a folder): the run is `failed` in
    pipeline_runs, not `succeeded`; partial copies of killed publishes and of this failed one do not stay."""
    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    snapshot = tmp_path / "snapshot.duckdb"
    snapshot.unlink()
    (snapshot / "in-the-way").mkdir(parents=True)
    killed = [tmp_path / ".snapshot.duckdb.4242.tmp", tmp_path / ".snapshot.duckdb.4242.tmp.wal"]  # as a killed publish leaves them
    for leftover in killed:
        leftover.write_bytes(b"partial")

    result = cli("run", "--out", str(tmp_path), "--resources", ",".join(CORE_RESOURCES), env=_env(portal))
    assert result.returncode == 1, result.stderr
    said = [line for line in _lines(result.stderr) if line.startswith("lms-warehouse:")]  # progress lines aside
    assert len(said) == 1 and "snapshot.duckdb" in said[0], result.stderr
    runs = query(tmp_path, "select status, error from learnupon.pipeline_runs order by started_at")
    assert [r["status"] for r in runs] == ["succeeded", "failed"], runs
    assert "snapshot.duckdb" in runs[-1]["error"]
    assert sorted(p.name for p in tmp_path.glob(".snapshot.duckdb*")) == []

    shutil.rmtree(snapshot)
    summary = run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    assert summary.status == "succeeded" and snapshot.is_file()
