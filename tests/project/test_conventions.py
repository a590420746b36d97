"""Conventions a new user relies on: --version and help on every option, `dlt pipeline ... info` as the
README shows it, `dagster` from the repository root, the README's names in .dlt/secrets.toml, and
progress lines that are accurate and time-stamped in a log file."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from pipelines.cli import build_parser

from tests.conftest import CORE_RESOURCES, cli
from tests.support.truth import assert_matches_truth

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_version_and_help_on_every_option() -> None:
    result = cli("--version")
    assert result.returncode == 0 and re.fullmatch(r"lms-warehouse \d+\.\d+\.\d+\S*\n", result.stdout), result

    missing: list[str] = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, subparser in action.choices.items():
                    walk(subparser, f"{name} {sub}")
            elif not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "lms-warehouse")
    assert not missing


def test_readme_names_in_secrets_toml_and_accurate_time_stamped_progress(portal, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".dlt").mkdir(parents=True)
    (project / ".dlt" / "secrets.toml").write_text(
        "[sources.learnupon]\n"
        f'LEARNUPON_BASE_URL = "{portal.base_url}"\n'
        f'LEARNUPON_USERNAME = "{portal.config.username}"\n'
        f'LEARNUPON_PASSWORD = "{portal.config.password}"\n'
    )
    out = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNUPON_")}
    result = subprocess.run(
        [str(BIN / "lms-warehouse"), "run", "--out", str(out), "--resources", ",".join(CORE_RESOURCES)],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert_matches_truth(out, portal.ground_truth())
    progress = [line for line in result.stderr.splitlines() if line.strip()]
    assert progress and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 ", line) for line in progress), progress
    done = [line.split(" ", 1)[1] for line in progress if ": done" in line]
    assert sorted(d.split(":")[0] for d in done) == sorted(CORE_RESOURCES)  # each resource done once
    assert not [d for d in done if " 0 pages" in d], done

    # dlt's own command, as the README shows it
    info = subprocess.run(
        [str(BIN / "dlt"), "pipeline", "--pipelines-dir", str(out / ".dlt"), "lms_warehouse", "info"],
        capture_output=True, text=True, timeout=120,
    )
    assert info.returncode == 0, info.stderr
    assert "learnupon" in info.stdout
    assert portal.config.password not in info.stdout + info.stderr


def test_dagster_finds_the_code_location_from_the_repository_root(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    result = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "lms_warehouse" in result.stderr + result.stdout
