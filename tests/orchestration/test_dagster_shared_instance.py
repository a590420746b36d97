"""A Dagster instance shared by several machines: `dagster_home/shared/dagster.yaml` keeps runs,
event logs, schedules, the run queue and the pools in PostgreSQL (dagster-postgres).

Each "machine" here is a separate process with its own DAGSTER_HOME folder (a copy of the
shared config) and nothing in common with the others but the database: a run worker executes a
real load job against the simulated portal, and another process (the webserver's view) sees
that run, its materializations and the pipeline's log lines. The guard between machines is the
database too: a pool slot taken on one machine blocks the same pool on another.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from pipelines.destinations.postgres_server import find_binaries

from tests.support.postgres_server import Database

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / "dagster_home" / "shared" / "dagster.yaml"
LOCAL = REPO / "dagster_home" / "dagster.yaml"

RUN_A_LOAD = """
import json
from dagster import DagsterInstance
from assets.definitions import defs
instance = DagsterInstance.get()
result = defs.resolve_job_def("light_loads_job").execute_in_process(instance=instance, raise_on_error=False)
# then one of this machine's steps holds the pool's one slot (the load configured the pool in the shared database)
storage = instance.event_log_storage
slots = storage.get_concurrency_info("lms_warehouse").slot_count
claimed = storage.claim_concurrency_slot("lms_warehouse", "run-on-machine-a", "extract").is_claimed
print(json.dumps({"run_id": result.run_id, "success": result.success, "storage": type(instance.run_storage).__name__,
                  "slots": slots, "claimed": claimed}))
"""

READ_THE_RUN = """
import json, sys
from dagster import DagsterEventType, DagsterInstance
instance = DagsterInstance.get()
run = instance.get_run_by_id(sys.argv[1])
logs = instance.all_logs(sys.argv[1])
materialized = sorted({e.dagster_event.asset_key.to_user_string() for e in logs
                       if e.dagster_event and e.dagster_event.event_type == DagsterEventType.ASSET_MATERIALIZATION})
# lines of the pipeline's own loggers (managed_python_loggers), not Dagster events
lines = [e.user_message for e in logs if e.dagster_event is None]
# this machine's step wants the pool too: refused while the other machine holds it, granted once that run frees it
storage = instance.event_log_storage
while_held = storage.claim_concurrency_slot("lms_warehouse", "run-on-machine-b", "extract").is_claimed
storage.free_concurrency_slots_for_run("run-on-machine-a")  # the other machine's run ended
after = storage.claim_concurrency_slot("lms_warehouse", "run-on-machine-b", "extract").is_claimed
print(json.dumps({"status": run.status.value, "materialized": materialized, "pipeline_log_lines": len(lines),
                  "coordinator": type(instance.run_coordinator).__name__, "claimed_while_held": while_held,
                  "claimed_after": after}))
"""

def _machine(tmp_path: Path, name: str, database: Database) -> dict[str, str]:
    """One machine's environment: its own DAGSTER_HOME (the shared config) and the database's address."""
    home = tmp_path / name
    home.mkdir()
    shutil.copy(SHARED, home / "dagster.yaml")
    server = database.server
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": server.host,
        "DAGSTER_PG_PORT": str(server.port),
        "DAGSTER_PG_DB": database.name,
        "DAGSTER_PG_USER": server.user,
        "DAGSTER_PG_PASSWORD": server.password,
    }


def _python(code: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_shared_config_queues_and_pools_like_the_local_one() -> None:
    shared, local = yaml.safe_load(SHARED.read_text()), yaml.safe_load(LOCAL.read_text())
    for section in ("run_coordinator", "concurrency", "python_logs", "telemetry"):
        assert shared[section] == local[section], section
    assert set(shared["storage"]) == {"postgres"}
    assert "password" not in json.dumps(shared["storage"]).replace('"password": {"env"', "")  # only from the environment


def test_runs_logs_and_pools_are_shared_between_machines(postgres_database: Database, portal_factory: Any, tmp_path: Path) -> None:
    portal = portal_factory(users=40)
    api = {
        "LEARNUPON_BASE_URL": portal.base_url,
        "LEARNUPON_USERNAME": portal.config.username,
        "LEARNUPON_PASSWORD": portal.config.password,
        "LMS_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
    }
    worker = {**_machine(tmp_path, "worker", postgres_database), **api}
    webserver = _machine(tmp_path, "webserver", postgres_database)

    ran = _python(RUN_A_LOAD, worker)
    assert ran["storage"] == "PostgresRunStorage"
    assert ran["success"] is True
    assert (ran["slots"], ran["claimed"]) == (1, True)

    seen = _python(READ_THE_RUN, webserver, ran["run_id"])
    assert seen["status"] == "SUCCESS"
    assert "learnupon/enrollments" in seen["materialized"]
    assert seen["coordinator"] == "QueuedRunCoordinator"
    # nothing of the run was written under either machine's own folder but config
    assert not (tmp_path / "webserver" / "history").exists()
    assert not (tmp_path / "worker" / "history").exists()
    assert seen["pipeline_log_lines"] > 0
    # the pool is one slot across machines: held on the worker, refused on the other machine until freed
    assert (seen["claimed_while_held"], seen["claimed_after"]) == (False, True)
    # the API password never reaches the shared database
    bin_dir = find_binaries()
    assert bin_dir is not None
    dump = subprocess.run([str(bin_dir / "pg_dump"), "--data-only", postgres_database.dsn], capture_output=True, text=True, timeout=120)
    assert dump.returncode == 0, dump.stderr
    assert "light_loads_job" in dump.stdout and portal.config.password not in dump.stdout

