"""Every command block in the README and docs/*.md runs as written, from the repository root of a fresh clone.

The rule the docs state (README, "Commands in this README and in docs/"): every fenced `sh` and
`python` block runs offline against a demo warehouse in `data/`, except a block whose first line
is a `# needs: ...` comment saying what else it needs. Here the demo warehouse is a small
simulated portal's load; blocks run in a copy of the checkout (the same files, linked) with a
shell whose PATH has no venv, as a new user's has.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_pipeline

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RUN = ("sh", "python")
NEEDS = "# needs:"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
# blocks that build the models run first: the queries after them read the marts
BUILDS = re.compile(r"lms-warehouse (models|report)\b")
# a program of the venv named at the start of a command, without its folder
BARE = re.compile(r"^(?:[A-Z_]+=\S+ )*(lms-warehouse|dlt|dagster|dbt|pytest|duckdb)\b", re.M)


@dataclass
class Block:
    path: Path
    line: int
    language: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"

    @property
    def needs(self) -> str | None:
        first = self.text.lstrip().splitlines()[0] if self.text.strip() else ""
        return first[len(NEEDS):].strip() if first.startswith(NEEDS) else None


def blocks() -> list[Block]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(Block(path, line, match.group(1), match.group(2)))
    return found


def test_command_blocks_name_the_venvs_programs_and_say_what_they_need() -> None:
    commands = [b for b in blocks() if b.language in RUN]
    assert len(commands) >= 10
    bare = [f"{b.where}: {m.group(0)}" for b in commands if b.language == "sh" for m in BARE.finditer(b.text)]
    assert bare == [], "write .venv/bin/<program>: without the venv activated it is not on PATH"
    assert all(b.needs != "" for b in commands), "a `# needs:` comment says what"
    # the blocks that cannot run offline say so; the others are run below
    assert {b.where for b in commands if b.needs} and {b.where for b in commands if not b.needs}


def fresh_shell_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNUPON_", "LMS_", "VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return env


def test_every_command_block_runs_as_written_on_a_demo_warehouse(portal_factory: Any, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    clone.mkdir()
    for entry in REPO.iterdir():  # the checkout's files; `data/` is the demo's own
        if entry.name not in ("data", ".git", ".pytest_cache"):
            (clone / entry.name).symlink_to(entry)
    summary = run_pipeline(portal_factory(users=40), clone / "data")  # what `make demo` loads, smaller
    assert summary.status == "succeeded"

    runnable = sorted((b for b in blocks() if b.language in RUN and not b.needs), key=lambda b: not BUILDS.search(b.text))
    failures = []
    for block in runnable:
        command = ["bash", "-e", "-o", "pipefail", "-c", block.text] if block.language == "sh" else [
            str(clone / ".venv" / "bin" / "python"), "-c", block.text]
        done = subprocess.run(command, cwd=clone, env=fresh_shell_env(), capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            failures.append(f"{block.where} exit {done.returncode}: {(done.stderr or done.stdout)[-800:]}")
    assert failures == []
    assert (clone / "data" / "compliance_report.html").exists()  # the report block ran
