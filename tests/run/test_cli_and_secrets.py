"""The console command: clear one-line errors for bad settings, and credentials that never leak."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CORE_RESOURCES, cli, query, run_pipeline

SECRET = "pw-Zq8u-very-secret-7731"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({}, "LEARNUPON_SUBDOMAIN"),
        ({"LEARNUPON_SUBDOMAIN": "acme"}, "LEARNUPON_USERNAME and LEARNUPON_PASSWORD"),
        ({"LEARNUPON_SUBDOMAIN": "acme corp", "LEARNUPON_USERNAME": "u", "LEARNUPON_PASSWORD": "p"}, "not a valid subdomain"),
        ({"LEARNUPON_BASE_URL": "http://lms.example.com", "LEARNUPON_USERNAME": "u", "LEARNUPON_PASSWORD": "p"}, "https is required"),
        (
            {"LEARNUPON_SUBDOMAIN": "acme", "LEARNUPON_USERNAME": "u", "LEARNUPON_PASSWORD": "p", "LEARNUPON_WEEKLY_RESERVE": "lots"},
            "LEARNUPON_WEEKLY_RESERVE must be a whole number",
        ),
        (
            {"LEARNUPON_SUBDOMAIN": "acme", "LEARNUPON_USERNAME": "u", "LEARNUPON_PASSWORD": "p", "LMS_DUCKDB_MEMORY_LIMIT": "lots"},
            "LMS_DUCKDB_MEMORY_LIMIT must be a size",
        ),
    ],
)
def test_bad_configuration_is_one_clear_line_and_exit_2(env: dict[str, str], fragment: str, tmp_path: Path) -> None:
    result = cli("run", "--out", str(tmp_path), env=env)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    for args in (["run", "--destination", "oracle"], ["demo", "--users", "-5"], ["run", "--resources", "nonsense"]):
        env = {"LEARNUPON_SUBDOMAIN": "acme", "LEARNUPON_USERNAME": "u", "LEARNUPON_PASSWORD": "p"}
        result = cli(*args, "--out", str(tmp_path), env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_wrong_keys_stop_the_run_at_the_first_401_with_one_line(portal, tmp_path: Path) -> None:
    """Refused keys are configuration: one call, one line naming the keys to check, exit 2, nothing claimed as loaded."""
    env = {"LEARNUPON_BASE_URL": portal.base_url, "LEARNUPON_USERNAME": "someone", "LEARNUPON_PASSWORD": SECRET}
    portal.reset_calls()
    result = cli("run", "--out", str(tmp_path), env=env)  # every resource: the first 401 stops them all
    assert result.returncode == 2, result.stderr
    assert sum(portal.calls.values()) == 1, portal.calls
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "401" in lines[0] and "LEARNUPON_USERNAME and LEARNUPON_PASSWORD" in lines[0] and "generating new keys" in lines[0].lower()
    assert SECRET not in result.stdout + result.stderr
    run = query(tmp_path, "select status, api_calls, error from learnupon.pipeline_runs")
    assert [(r["status"], r["api_calls"]) for r in run] == [("failed", 1)] and "401" in run[0]["error"]


def test_credentials_never_reach_output_logs_traces_or_the_warehouse(portal_factory, tmp_path: Path) -> None:
    portal = portal_factory(users=30, password=SECRET)
    env = {
        "LEARNUPON_BASE_URL": portal.base_url,
        "LEARNUPON_USERNAME": portal.config.username,
        "LEARNUPON_PASSWORD": SECRET,
    }
    result = cli("-v", "run", "--out", str(tmp_path), "--resources", ",".join(CORE_RESOURCES), env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert SECRET not in result.stdout + result.stderr
    # every file the run wrote: the DuckDB warehouse, dlt's working folder (state, traces, packages)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "warehouse.duckdb" for p in files)
    assert any(".dlt" in p.parts for p in files), "dlt's working folder is under --out"
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), f"credential found in {path}"
    rows = query(tmp_path, "select * from learnupon.pipeline_runs")
    assert SECRET not in repr(rows)


def test_duckdb_out_of_memory_names_the_setting_to_raise_and_keeps_the_load(portal, tmp_path: Path) -> None:
    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    result = cli("models", "--out", str(tmp_path), env={"LMS_DUCKDB_MODELS_MEMORY_LIMIT": "1MB"})
    assert result.returncode == 1, result.stderr[-2000:]
    assert "raise LMS_DUCKDB_MEMORY_LIMIT (loads) or LMS_DUCKDB_MODELS_MEMORY_LIMIT" in result.stderr
    assert query(tmp_path, "select count(*) n from learnupon.enrollments")[0]["n"] > 0


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('[sources.learnupon]\nsubdomain = "acme"\nusername = 123\npassword = "p"\n', "sources.learnupon.username must be text"),
        ('[sources.learnupon]\nsubdomain = "acme"\nusername = "u"\npassword = {value = "p"}\n', "sources.learnupon.password must be text"),
        ('[sources.learnupon]\nsubdomain = "acme"\nusername = "u"\npassword = "p"\nworkers = {n = 4}\n', "sources.learnupon.workers must be a whole number"),
        ('[sources.learnupon]\nusername = "unterminated\n', "is not valid TOML (line 2 col"),
        ("[sources.learnupon\nusername = 'u'\n", "is not valid TOML (line 1 col"),
    ],
    ids=["number", "table", "table-for-number", "unterminated-string", "broken-header"],
)
def test_bad_secrets_toml_is_one_line_naming_file_and_key(content: str, fragment: str, tmp_path: Path) -> None:
    (tmp_path / ".dlt").mkdir()
    secrets = tmp_path / ".dlt" / "secrets.toml"
    secrets.write_text(content)
    result = cli("run", "--out", str(tmp_path / "data"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(secrets.resolve()) in lines[0] and fragment in lines[0], lines[0]
    assert "lost" not in lines[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["", " ", ",", " , "])
def test_empty_resources_is_an_error(value: str, tmp_path: Path) -> None:
    env = {"LEARNUPON_SUBDOMAIN": "acme", "LEARNUPON_USERNAME": "u", "LEARNUPON_PASSWORD": "p"}
    result = cli("run", "--out", str(tmp_path), "--resources", value, env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--resources" in lines[0] and "names no resource" in lines[0], result.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()
