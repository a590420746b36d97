"""`lms-warehouse models` and `lms-warehouse report` on a hand-made warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import main
from tests.models.test_models_data import make_duckdb_warehouse


def test_models_command_builds_lists_the_marts_and_generates_docs_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    make_duckdb_warehouse(tmp_path)
    assert main(["models", "--out", str(tmp_path), "--as-of", "2026-06-15", "--docs"]) == 0
    out, err = capsys.readouterr()
    assert "as of 2026-06-15" in out
    assert "reporting.overdue_training" in out
    assert "skipped stg_exam_questions: raw table learnupon.exam_questions missing" in err
    page = tmp_path / ".dbt" / "target" / "static_index.html"
    assert f"dbt docs: {page}" in out
    assert page.stat().st_size > 100_000  # the whole site in one file
    catalog = json.loads((tmp_path / ".dbt" / "target" / "catalog.json").read_text())
    columns = catalog["nodes"]["model.lms_warehouse.compliance_status"]["columns"]
    assert columns["compliance_state"]["type"] == "VARCHAR" and columns["due_date"]["type"] == "DATE"
    # the profile dbt read was generated beside the warehouse
    assert (tmp_path / ".dbt" / "profiles.yml").is_file()


def test_report_command_writes_the_default_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_duckdb_warehouse(tmp_path)
    assert main(["report", "--out", str(tmp_path), "--as-of", "2026-06-15"]) == 0
    assert (tmp_path / "compliance_report.html").is_file()
    assert (tmp_path / "compliance_report_files" / "group-10.html").is_file()
    captured = capsys.readouterr()
    assert str(tmp_path / "compliance_report.html") in captured.out and f"{tmp_path / 'compliance_report_files'}/" in captured.out
    # the portal's pass below the exam's threshold is reported, and fails nothing
    assert "dbt test agrees_with_exam_results_is_passed__meets_pass_threshold on exam_results: warn, 1 rows found" in captured.err


def test_bad_as_of_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--out", str(tmp_path), "--as-of", "15/06/2026"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a date" in err


def test_no_warehouse_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--out", str(tmp_path)]) == 2
    assert "run the pipeline first" in capsys.readouterr().err


def test_data_dictionary_is_generated_from_the_dbt_project(tmp_path: Path) -> None:
    from pipelines import dictionary
    from pipelines.models.manifest import project_manifest

    text = dictionary.render(project_manifest())
    assert dictionary.DICTIONARY.read_text() == text, "docs/data-dictionary.md is out of date: python -m pipelines.dictionary"
    # every mart and every column the YAML declares, with its grain from the key test
    assert "### group_compliance" in text and "Grain: one row per (portal, group_id, user_id, course_family_id)." in text
    assert "| meets_pass_threshold |" in text and "| overdue_reason |" in text
    # --check fails on a file that drifted from the project
    stale = tmp_path / "dictionary.md"
    stale.write_text(text.replace("One row per user and required course family", "Rows"))
    assert dictionary.main(["--check", "--out", str(stale)]) == 1


def test_the_dictionarys_claims_about_layers_are_what_the_project_builds() -> None:
    """The overview (the dictionary's front page) names each layer's schema and materialisation, and the
    number of staging views: read from the dbt project, not trusted. (Deleted users and "Never null" are
    checked on built warehouses: tests/models/test_models.py, tests/models/test_mart_truth.py.)"""
    import re
    from collections import Counter

    from pipelines.dictionary import render
    from pipelines.models.manifest import project_manifest

    manifest = project_manifest()
    overview = " ".join(next(d["block_contents"] for d in manifest["docs"].values() if d["name"] == "__overview__" and d["package_name"] == "lms_warehouse").split())
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["package_name"] == "lms_warehouse"]
    for folder in ("staging", "intermediate", "marts"):
        nodes = [n for n in models if n["fqn"][1] == folder]
        claim = re.search(rf"\*\*{folder}\*\* \(schema `(\w+)`, (views|tables)", overview)
        assert claim, f"the overview does not describe the {folder} layer"
        schema, kind = claim.groups()
        assert {n["schema"] for n in nodes} == {schema}, folder
        assert Counter(n["config"]["materialized"] + "s" for n in nodes) == {kind: len(nodes)}, folder
    staged = re.search(r"views: (\d+) of them", overview)
    assert staged and int(staged.group(1)) == sum(n["fqn"][1] == "staging" for n in models)
    # and the dictionary's headings say the same, from the same models
    text = render(manifest)
    intermediate = sum(n["fqn"][1] == "intermediate" for n in models)
    assert f"## Intermediate models (schema `intermediate`: {intermediate} views)" in text
    assert f"## Staging models (schema `staging`: {staged.group(1)} views)" in text


def test_the_manifest_is_dagster_dbts_and_follows_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One DbtProject: its manifest is parsed when there is none, kept as a deployment prepared it outside
    `dagster dev`, and parsed again under `dagster dev` (prepare_if_dev's rule), where dbt's partial parse
    reads the changed model; a project unchanged since its parse is not parsed again."""
    import json
    import shutil

    from dagster_dbt import DbtProject

    from pipelines.models import PROJECT_DIR, manifest

    copy = tmp_path / "sql"
    shutil.copytree(PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target"))
    monkeypatch.setattr(manifest, "DBT_PROJECT", DbtProject(project_dir=copy))
    monkeypatch.delenv("DAGSTER_IS_DEV_CLI", raising=False)

    def checksum() -> str:
        parsed = json.loads(manifest.prepared_manifest_path().read_text())
        return parsed["nodes"]["model.lms_warehouse.compliance_status"]["checksum"]["checksum"]

    first = checksum()  # none yet: parsed
    assert (copy / "target" / "manifest.json").is_file() and (copy / "target" / "partial_parse.msgpack").is_file()
    parsed_at = (copy / "target" / "manifest.json").stat().st_mtime_ns
    manifest.prepare_manifest()  # nothing changed since: no parse (dbt would write the manifest again)
    assert (copy / "target" / "manifest.json").stat().st_mtime_ns == parsed_at
    model = copy / "models" / "marts" / "compliance_status.sql"
    model.write_text(model.read_text() + "\n-- changed\n")
    assert checksum() == first  # outside `dagster dev`: the prepared manifest is what runs
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")
    assert checksum() != first  # `dagster dev`: parsed again, the change seen


def test_models_command_records_its_build_after_a_build_of_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`model_builds` carries `_dlt_load_id` (NOT NULL) once a process that ran a load built models (the demo);
    `lms-warehouse models` in a process of its own records its build there too (it failed on the NOT NULL)."""
    import duckdb

    from pipelines.models import build_models
    from pipelines.run.runner import Warehouse

    from tests.conftest import cli

    make_duckdb_warehouse(tmp_path)
    monkeypatch.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")  # as a process that ran a load has it
    build_models(Warehouse(out_dir=tmp_path), select=["stg_users"])
    monkeypatch.delenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID")
    done = cli("models", "--out", str(tmp_path), "--as-of", "2026-06-15")
    assert done.returncode == 0, done.stderr
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        builds = con.execute(
            "select count(distinct build_id), count(*) filter (where _dlt_load_id is null) from learnupon.model_builds"
        ).fetchone()
    assert builds == (2, 0)


def test_a_relative_out_keeps_dbt_out_of_the_project_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--out data` (the default) is the folder under the working directory, for dbt's files too:
    dbt reads a relative target path against the project folder (it wrote into sql/data/)."""
    from pipelines.models.profile import dbt_dir
    from pipelines.run.runner import Warehouse

    monkeypatch.chdir(tmp_path)
    assert dbt_dir(Warehouse(out_dir=Path("data"))) == tmp_path / "data" / ".dbt"


def test_the_clis_build_and_report_do_not_import_dagster() -> None:
    """`lms-warehouse models` and `report` parse with the warehouse's own profile (pipelines/models/build.py):
    Dagster and dagster-dbt (seconds of imports) are for the code location and the manifest it reads."""
    import subprocess
    import sys

    probe = (
        "import sys, pipelines.cli, pipelines.models.build, pipelines.report, pipelines.sync.plan; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'dagster_dbt')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
