"""One settings spec: every setting is a `run` flag and a Dagster config field with the same default, each source of
a value (flag, environment, .dlt/secrets.toml) reaches a real run in its order, and a bad value is one line, exit 2."""

from __future__ import annotations

import argparse
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from dagster import build_resources

from assets.definitions import defs
from pipelines.cli import build_parser, explicit_settings
from pipelines.config import PortalSettings, run_settings
from pipelines.learnupon.errors import ConfigError
from pipelines.learnupon.settings import ExtractOptions
from pipelines.learnupon.settings_spec import BUDGET, BY_NAME, SETTINGS
from pipelines.settings_table import settings_table

from tests.conftest import cli, run_pipeline
from tests.support.portal_proxy import PortalProxy, Rule

REPO = Path(__file__).resolve().parents[2]
# the settings that only make the portal's address
ADDRESS = {"subdomain", "domain", "base_url"}


def _flags(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {option: action for action in parser._actions for option in action.option_strings}


def _subparser(name: str) -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No LEARNUPON_* variable and no .dlt folder: every setting at its default."""
    for name in list(os.environ):
        if name.startswith("LEARNUPON_") or name.startswith("SOURCES__LEARNUPON__"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_every_setting_is_a_run_flag_and_a_dagster_field_with_the_same_default(clean_settings: None) -> None:
    run_flags, demo_flags = _flags(_subparser("run")), _flags(_subparser("demo"))
    dagster_fields = defs.resolve_implicit_global_asset_job_def().resource_defs["learnupon"].config_schema.config_type.fields
    assert set(dagster_fields) == set(BY_NAME)
    for setting in SETTINGS:
        field = dagster_fields[setting.name]
        assert not field.is_required and field.default_value is None, setting.name  # unset: the environment, files, default
        assert field.description == setting.described()
        if setting.secret:  # never on a command line; in Dagster an EnvVar
            assert setting.flag is None and not [f for f in run_flags if setting.name.replace("_", "-") in f]
            continue
        action = run_flags[setting.flag]
        assert (action.dest, action.default, action.help) == (setting.name, None, setting.described())
        assert (setting.flag in demo_flags) == setting.on_demo, setting.name
    assert {s.flag for s in SETTINGS if s.secret} == {None} and BY_NAME["password"].secret

    # the same defaults reach a run from either side: a bare `run`, a bare Dagster resource, and the spec
    cli_values = run_settings({**explicit_settings(build_parser().parse_args(["run"])), "username": "u", "password": "p", "subdomain": "a"})
    with build_resources({"learnupon": defs.resources["learnupon"]}, resource_config={
        "learnupon": {"config": {"username": "u", "password": "p", "subdomain": "a"}}
    }) as resources:
        dagster_values = run_settings(resources.learnupon.explicit())
    assert cli_values == dagster_values
    portal, options = cli_values
    assert {f.name: getattr(options, f.name) for f in fields(ExtractOptions)} == {f.name: BY_NAME[f.name].default for f in fields(ExtractOptions)}
    assert all(getattr(portal, f.name) == BY_NAME[f.name].default for f in fields(PortalSettings) if f.name in BY_NAME and BY_NAME[f.name].group == BUDGET)
    # every setting is used by the run: an extract option, a client setting, or the portal's address
    used = {f.name for f in fields(ExtractOptions)} | {f.name for f in fields(PortalSettings)} | ADDRESS
    assert set(BY_NAME) <= used and {f.name for f in fields(ExtractOptions)} <= set(BY_NAME)


def test_the_retry_backoff_reaches_the_client(clean_settings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with PortalSettings(base_url="http://127.0.0.1:9", username="u", password="p").client() as client:
        assert client.backoff_base == BY_NAME["retry_backoff_ms"].default / 1000 == 0.5
    monkeypatch.setenv("LEARNUPON_RETRY_BACKOFF_MS", "120")
    portal, _ = run_settings({"username": "u", "password": "p", "subdomain": "a"})
    with portal.client() as client:
        assert portal.retry_backoff_ms == 120 and client.backoff_base == 0.12


def test_dagster_config_sets_a_setting_and_names_a_bad_one(clean_settings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMS_TEST_PORTAL_PASSWORD", "pw-from-env-1234")
    config = {"subdomain": "acme", "username": "u", "password": {"env": "LMS_TEST_PORTAL_PASSWORD"}, "workers": 2, "reconcile": True}
    with build_resources({"learnupon": defs.resources["learnupon"]}, resource_config={"learnupon": {"config": config}}) as resources:
        context = resources.learnupon.extract_context(run_id="r1")
        assert (context.options.workers, context.options.reconcile) == (2, True)
        assert "pw-from-env-1234" not in repr(resources.learnupon.settings())
        context.close()
    with build_resources({"learnupon": defs.resources["learnupon"]}, resource_config={"learnupon": {"config": {**config, "workers": 0}}}) as resources:
        with pytest.raises(ConfigError, match=r"^resources\.learnupon\.config\.workers must be at least 1, got 0$"):
            resources.learnupon.extract_context(run_id="r2")


def test_the_readme_lists_every_setting_once_as_the_spec_says() -> None:
    readme = (REPO / "README.md").read_text()
    begin, end = "<!-- settings table: python -m pipelines.settings_table -->\n", "<!-- end of settings table -->"
    assert readme.count(begin) == 1 and readme.count(end) == 1
    table = readme.split(begin)[1].split(end)[0]
    assert table == settings_table(), "regenerate it: .venv/bin/python -m pipelines.settings_table"
    for setting in SETTINGS:
        assert readme.count(f"| `{setting.env}` |") == 1


# ---- each source of a value, in a real run: how many users the learning-path backfill searches ----------------


@pytest.fixture
def backfill_portal(portal_factory: Any, tmp_path: Path) -> Any:
    """A warehouse whose users are loaded (the backfill searches them) after a first load of learning-path
    enrollments (the backfill runs from the second), and a proxy counting the backfill's searches."""
    portal = portal_factory(users=40)
    run_pipeline(portal, tmp_path / "data", resources=["users", "learning_path_enrollments"])
    by_user = Rule(r"^/api/v1/learning_path_enrollments/search\?(.*&)?user_id=")
    proxy = PortalProxy(portal.root_url, [by_user]).start()
    env = {"LEARNUPON_BASE_URL": proxy.base_url, "LEARNUPON_USERNAME": portal.config.username}
    yield env, portal.config.password, by_user
    proxy.stop()


def _backfill(tmp_path: Path, env: dict[str, str], *flags: str) -> Any:
    out = tmp_path / "data"
    return cli("run", "--out", str(out), "--resources", "learning_path_enrollments", "--backfill-learning-paths", *flags, env=env, cwd=tmp_path)


def test_an_environment_variable_sets_a_setting(backfill_portal: Any, tmp_path: Path) -> None:
    env, password, by_user = backfill_portal
    result = _backfill(tmp_path, {**env, "LEARNUPON_PASSWORD": password, "LEARNUPON_LP_BACKFILL_BATCH": "5"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert by_user.hits == 5


def test_secrets_toml_sets_a_setting_under_either_spelling(backfill_portal: Any, tmp_path: Path) -> None:
    env, password, by_user = backfill_portal
    (tmp_path / ".dlt").mkdir()
    secrets = tmp_path / ".dlt" / "secrets.toml"
    secrets.write_text(f'[sources.learnupon]\npassword = "{password}"\nlp_backfill_batch = 7\n')
    assert _backfill(tmp_path, env).returncode == 0
    assert by_user.hits == 7
    secrets.write_text(f'[sources.learnupon]\nLEARNUPON_PASSWORD = "{password}"\nLEARNUPON_LP_BACKFILL_BATCH = "4"\n')
    assert _backfill(tmp_path, env).returncode == 0
    assert by_user.hits == 7 + 4


def test_a_flag_overrides_the_file_and_the_environment_the_file(backfill_portal: Any, tmp_path: Path) -> None:
    env, password, by_user = backfill_portal
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "secrets.toml").write_text(f'[sources.learnupon]\npassword = "{password}"\nlp_backfill_batch = 9\n')
    result = _backfill(tmp_path, env, "--lp-backfill-batch", "3")
    assert result.returncode == 0, result.stderr[-2000:]
    assert by_user.hits == 3
    assert _backfill(tmp_path, {**env, "LEARNUPON_LP_BACKFILL_BATCH": "2"}).returncode == 0
    assert by_user.hits == 3 + 2
    assert password not in result.stdout + result.stderr


# ---- bad values: one line naming the setting, exit 2 --------------------------------------------------------

KEYS = {"LEARNUPON_SUBDOMAIN": "acme", "LEARNUPON_USERNAME": "u", "LEARNUPON_PASSWORD": "p"}


@pytest.mark.parametrize(
    ("args", "env", "secrets", "fragment"),
    [
        (["--workers", "0"], {}, None, "argument --workers: must be at least 1, got 0"),
        (["--answer-batch", "many"], {}, None, "argument --answer-batch: must be a whole number, got 'many'"),
        (["--initial-date", "2024-13-01"], {}, None, "argument --initial-date: must be a date (YYYY-MM-DD), got '2024-13-01'"),
        ([], {"LEARNUPON_RECONCILE": "maybe"}, None, "LEARNUPON_RECONCILE must be true or false, got 'maybe'"),
        ([], {"LEARNUPON_SESSIONS_SINCE": "last year"}, None, "LEARNUPON_SESSIONS_SINCE must be a date (YYYY-MM-DD)"),
        ([], {}, "session_horizon_days = -1\n", "sources.learnupon.session_horizon_days must be at least 0, got -1"),
        ([], {}, 'lp_backfill = "maybe"\n', "sources.learnupon.lp_backfill must be true or false, got 'maybe'"),
        ([], {}, "reconcile = 1\n", "sources.learnupon.reconcile must be true or false, not a number"),
    ],
    ids=["flag-range", "flag-number", "flag-date", "env-switch", "env-date", "file-range", "file-switch", "file-type"],
)
def test_a_bad_value_is_one_line_naming_the_setting_and_exit_2(
    args: list[str], env: dict[str, str], secrets: str | None, fragment: str, tmp_path: Path
) -> None:
    if secrets is not None:
        (tmp_path / ".dlt").mkdir()
        (tmp_path / ".dlt" / "secrets.toml").write_text(f"[sources.learnupon]\n{secrets}")
    result = cli("run", "--out", str(tmp_path / "data"), *args, env={**KEYS, **env}, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()
