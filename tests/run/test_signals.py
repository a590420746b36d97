"""SIGINT and SIGTERM during the extract or the load: the run stops within seconds with one line and
exit 130 or 143, keeps what is committed, and the next run ends with a complete warehouse."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.run.runner import Warehouse
from pipelines.run.integrity import duplicate_keys

from tests.conftest import query, run_pipeline
from tests.support.events import CEILING_SECONDS, wait_until
from tests.support.truth import assert_matches_truth

WORKERS = 4  # calls the run keeps in flight


@pytest.mark.parametrize(
    "sig,moment",
    [
        (signal.SIGINT, "groups: done"),  # extracting
        (signal.SIGTERM, "loading into the warehouse"),
        pytest.param(signal.SIGTERM, "users: done", marks=pytest.mark.slow),
        pytest.param(signal.SIGINT, "loading into the warehouse", marks=pytest.mark.slow),
    ],
    ids=["sigint-extract", "sigterm-load", "sigterm-extract", "sigint-load"],
)
def test_signal_stops_the_run_and_the_next_run_resumes(portal_factory, tmp_path: Path, sig: int, moment: str) -> None:
    portal = portal_factory(users=50, page_size=20, latency_ms=5)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEARNUPON_")},
        "LEARNUPON_BASE_URL": portal.base_url,
        "LEARNUPON_USERNAME": portal.config.username,
        "LEARNUPON_PASSWORD": portal.config.password,
        "LEARNUPON_WORKERS": str(WORKERS),
    }
    command = [str(Path(sys.executable).parent / "lms-warehouse"), "run", "--out", str(tmp_path)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if moment in line:
            break
    process.send_signal(sig)
    # counted from the moment the run says it is stopping (our handler; dlt's own takes the load steps, where no
    # call is made): a call it began between our reading the line above and the signal landing is not "after"
    calls_before = sum(portal.calls.values())
    rest = ""
    for line in process.stderr:
        rest += line
        if "received; stopping" in line:
            calls_before = sum(portal.calls.values())
            break
    rest += process.stderr.read()
    process.wait(timeout=CEILING_SECONDS)
    calls_after = sum(portal.calls.values()) - calls_before

    assert process.returncode == 128 + sig, rest
    # "within seconds", told by what the run did rather than by a clock: it sent no new call after the
    # signal (at most the calls in flight were answered), and dlt stopped at its running jobs
    assert calls_after <= WORKERS, calls_after
    if moment.endswith(": done"):  # extracting: our handler, which says so at once
        assert "received; stopping" in rest, rest
    assert rest.strip().splitlines()[-1].startswith(f"lms-warehouse: stopped by {signal.Signals(sig).name};"), rest
    assert "Traceback" not in rest

    summary = run_pipeline(portal, tmp_path)
    assert summary.status == "succeeded", summary.error
    assert duplicate_keys(Warehouse(out_dir=tmp_path).pipeline()) == {}
    assert_matches_truth(tmp_path, portal.ground_truth())
    assert query(tmp_path, "select status from learnupon.pipeline_runs order by started_at")[-1]["status"] == "succeeded"


def _dbt_started(out: Path) -> Path:
    """What dbt writes as it runs its first model: the compiled SQL under its target folder."""
    return out / ".dbt" / "target" / "run"


# SIGINT's handler is SIGTERM's (tests above stop runs with either): the default suite sends one during models
@pytest.mark.parametrize("sig", [pytest.param(signal.SIGINT, marks=pytest.mark.slow), signal.SIGTERM], ids=["sigint", "sigterm"])
def test_signal_during_models_exits_130_or_143_with_one_line(portal_factory, tmp_path: Path, sig: int) -> None:
    portal = portal_factory(users=50, page_size=20)
    assert run_pipeline(portal, tmp_path).status == "succeeded"
    assert not _dbt_started(tmp_path).exists()
    command = [str(Path(sys.executable).parent / "lms-warehouse"), "models", "--out", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_until(_dbt_started(tmp_path).exists, "dbt running a model", process)  # the event: dbt is running models
    process.send_signal(sig)
    rest = process.stderr.read() if process.stderr else ""
    process.wait(timeout=CEILING_SECONDS)

    assert process.returncode == 128 + sig, rest
    lines = rest.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"lms-warehouse: stopped by {signal.Signals(sig).name};"), rest
    assert "Traceback" not in rest and "ModelError" not in rest
