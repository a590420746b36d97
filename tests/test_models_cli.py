"""`lms-warehouse models` and `lms-warehouse report` on a hand-made warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import main
from tests.test_models_data import make_duckdb_warehouse


def test_models_command_builds_and_lists_the_marts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_duckdb_warehouse(tmp_path)
    assert main(["models", "--out", str(tmp_path), "--as-of", "2026-06-15"]) == 0
    out, err = capsys.readouterr()
    assert "as of 2026-06-15" in out
    assert "reporting.overdue_training" in out
    assert "skipped stg_exam_questions: raw table learnupon.exam_questions missing" in err


def test_report_command_writes_the_default_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_duckdb_warehouse(tmp_path)
    assert main(["report", "--out", str(tmp_path), "--as-of", "2026-06-15"]) == 0
    assert (tmp_path / "compliance_report.html").is_file()
    assert str(tmp_path / "compliance_report.html") in capsys.readouterr().out


def test_bad_as_of_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--out", str(tmp_path), "--as-of", "15/06/2026"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a date" in err


def test_no_warehouse_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--out", str(tmp_path)]) == 2
    assert "run the pipeline first" in capsys.readouterr().err
