"""The models step's own run records (`model_builds`): a build records itself whatever ran before it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from tests.conftest import cli, query, run_pipeline


# the switch Warehouse.pipeline() sets in its own process (Arrow tables get _dlt_load_id); a user's shell has none
ADD_LOAD_ID = "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID"


def test_a_bare_models_process_records_its_build_where_a_loading_process_recorded_one_before(
    portal_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that loaded and then built (Dagster, `demo`) creates model_builds; the build records of a
    later `lms-warehouse models` (a process that loaded nothing) append to it, before and after more loads."""
    portal = portal_factory(users=30)
    run_pipeline(portal, tmp_path)  # loads in this process, as Dagster's job does, then builds here too
    assert main(["models", "--out", str(tmp_path), "--as-of", "2026-11-02"]) == 0
    first = query(tmp_path, "select count(*) as n, count(distinct build_id) as builds from learnupon.model_builds")[0]
    assert first["builds"] == 1 and first["n"] > 0

    monkeypatch.delenv(ADD_LOAD_ID, raising=False)  # the CLI processes below start from a shell without it
    env = {
        "LEARNUPON_BASE_URL": portal.base_url, "LEARNUPON_USERNAME": portal.config.username,
        "LEARNUPON_PASSWORD": portal.config.password,
    }
    for _ in range(2):
        loaded = cli("run", "--out", str(tmp_path), "--resources", "enrollments", env=env)
        assert loaded.returncode == 0, loaded.stderr
    built = cli("models", "--out", str(tmp_path), "--as-of", "2026-11-02", env=env)
    assert built.returncode == 0, built.stderr

    rows = query(tmp_path, "select build_id, model, relation, rows, as_of, started_at, finished_at from learnupon.model_builds")
    builds = {row["build_id"] for row in rows}
    assert len(builds) == 2 and len(rows) == 2 * first["n"]  # the same models, once per build
    assert all(row["model"] and row["relation"].endswith(f".{row['model']}") and row["as_of"] == "2026-11-02" for row in rows)
    assert all(row["started_at"] <= row["finished_at"] for row in rows)
