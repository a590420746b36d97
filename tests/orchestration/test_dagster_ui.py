"""The UI serves the asset graph: dagster-webserver on a free loopback port, queried over GraphQL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.support.events import wait_until

REPO = Path(__file__).resolve().parents[2]
QUERY = "{ assetNodes { assetKey { path } groupName opName } }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_webserver_serves_the_asset_graph(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    webserver = shutil.which("dagster-webserver", path=str(Path(sys.executable).parent)) or "dagster-webserver"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNUPON_")}
    env.update(DAGSTER_HOME=str(home), PYTHONPATH=str(REPO), LMS_WAREHOUSE_DIR=str(tmp_path / "data"))
    log = (tmp_path / "webserver.log").open("w")
    process = subprocess.Popen(
        [webserver, "-m", "assets.definitions", "-d", str(REPO), "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        def asset_nodes() -> list | None:  # None until the webserver answers with its asset graph
            try:
                body = graphql(port, QUERY)
            except OSError:
                return None
            return (body.get("data") or {}).get("assetNodes")

        nodes = wait_until(asset_nodes, "the webserver serving asset nodes", process, log=tmp_path / "webserver.log")
        assert nodes, f"no asset nodes served: {(tmp_path / 'webserver.log').read_text()[-3000:]}"
        keys = {tuple(node["assetKey"]["path"]) for node in nodes}
        assert len(keys) == 28 + 20 + 6 + 16 + 3  # + the user sync's roster, plan and actions
        assert ("learnupon", "enrollments") in keys and ("reporting", "compliance_status") in keys
        groups = {tuple(node["assetKey"]["path"]): node["groupName"] for node in nodes}
        assert groups[("learnupon", "users")] == "source"
        assert groups[("staging", "stg_users")] == "staging"
        assert groups[("intermediate", "int_required_training")] == "intermediate"
        assert groups[("reporting", "audit_log")] == "reporting"
        assert {node["opName"] for node in nodes} == {"learnupon_extract", "sql_models", "sync__roster",
                                                      "sync__sync_plan", "sync__sync_actions"}
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the webserver and the code server it started, by our own pid
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()
