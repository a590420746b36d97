"""The console command ends without the interpreter's teardown (pipelines/process_exit.py), losing nothing:
the exit handlers run, the output is whole, the status is the command's, a running thread is waited for, and
a run leaves its warehouse closed (no DuckDB write-ahead log left behind)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import CORE_RESOURCES, cli

ROOT = Path(__file__).resolve().parents[2]


def ended(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`script` in a Python process of its own, its standard streams buffered as a console script's are."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)


def test_exit_handlers_run_the_output_is_whole_and_the_status_is_kept(tmp_path: Path) -> None:
    done = ended(
        "import atexit, pathlib, sys, tempfile, weakref\n"
        "from pipelines.process_exit import exit_now\n"
        "atexit.register(lambda: pathlib.Path('handler-ran').write_text('yes'))\n"
        "folder = tempfile.TemporaryDirectory(dir='.')\n"  # cleaned up by weakref.finalize, an exit handler
        "pathlib.Path('folder-name').write_text(folder.name)\n"
        "for _ in range(1000): sys.stdout.write('x' * 999)\n"  # the last of it still buffered at exit_now
        "print('to stderr', file=sys.stderr)\n"
        "exit_now(3)\n",
        tmp_path,
    )
    assert done.returncode == 3
    assert done.stdout == "x" * 999_000
    assert done.stderr == "to stderr\n"
    assert (tmp_path / "handler-ran").read_text() == "yes"
    assert not (tmp_path / (tmp_path / "folder-name").read_text()).exists()


def test_a_thread_still_running_is_waited_for(tmp_path: Path) -> None:
    done = ended(
        "import pathlib, threading\n"
        "from pipelines.process_exit import exit_now\n"
        "go = threading.Event()\n"
        "def writer():\n"
        "    go.wait()\n"
        "    pathlib.Path('written').write_text('all of it')\n"
        "threading.Thread(target=writer).start()\n"
        "threading.Timer(0.05, go.set).start()\n"  # the writer is still waiting when exit_now is called
        "exit_now(0)\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "written").read_text() == "all of it"


def test_a_process_that_never_calls_exit_now_ends_as_usual(tmp_path: Path) -> None:
    done = ended("import pipelines\nraise RuntimeError('uncaught')\n", tmp_path)
    assert done.returncode == 1 and "RuntimeError: uncaught" in done.stderr


def test_the_console_script_ends_through_exit_now() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["lms-warehouse"] == "pipelines.cli:command"


def test_a_run_leaves_its_warehouse_closed_and_its_records_whole(portal, tmp_path: Path) -> None:
    env = {"LEARNUPON_BASE_URL": portal.base_url, "LEARNUPON_USERNAME": portal.config.username,
           "LEARNUPON_PASSWORD": portal.config.password}
    result = cli("run", "--out", str(tmp_path), "--resources", ",".join(CORE_RESOURCES), env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "users" in result.stdout  # the summary, printed whole before the process ended
    assert (tmp_path / "warehouse.duckdb").exists()
    assert sorted(p.name for p in tmp_path.glob("*.wal")) == []
    import duckdb

    with duckdb.connect(str(tmp_path / "snapshot.duckdb"), read_only=True) as con:
        assert con.execute("select status from learnupon.pipeline_runs").fetchall() == [("succeeded",)]
