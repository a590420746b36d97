"""The HTML compliance report: written, self-contained, with the headline figures of the marts."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from pipelines.report import write_report
from pipelines.runner import Warehouse
from tests.test_models_data import make_duckdb_warehouse, make_parquet_warehouse

AS_OF = date(2026, 6, 15)


def _cards(html: str) -> dict[str, str]:
    found = re.findall(r'<div class="value">([^<]*)</div><div class="label">([^<]*)</div>', html)
    return {label: value for value, label in found}


def test_report_has_headline_figures_and_charts(tmp_path: Path) -> None:
    make_duckdb_warehouse(tmp_path)
    path = write_report(Warehouse(out_dir=tmp_path), tmp_path / "out" / "report.html", as_of=AS_OF)
    html = path.read_text(encoding="utf-8")
    assert "As of 2026-06-15" in html
    # 6 required assignments of active users: 2 compliant, 1 due soon, 1 overdue, 1 expired, 1 not started
    assert _cards(html) == {
        "Compliance rate": "33.3%",
        "Required assignments": "6",
        "Learners with required training": "4",
        "Overdue": "1",
        "Due within 30 days": "1",
        "Certificates expired": "1",
        "Certificates expiring in 30 days": "1",
        "Inactive learners with open training": "1",
        "Session no-shows": "1",
    }
    for title in (
        "Compliance by group",
        "Overdue ageing",
        "Certificates expiring by month",
        "Exam questions answered correctly least often",
        "Session attendance",
    ):
        assert f"<h2>{title}</h2>" in html
    assert html.count("<svg") == 5
    # the hardest question leads its chart, with its usual wrong answer
    assert html.index("Forklift exam: Tilt angle?") < html.index("Forklift exam: Max load?")
    assert "usual wrong answer: B" in html
    assert "Ada Active" in html  # the overdue table
    assert not list(path.parent.glob(".*.tmp"))


def test_report_is_self_contained(tmp_path: Path) -> None:
    make_duckdb_warehouse(tmp_path)
    html = write_report(Warehouse(out_dir=tmp_path), tmp_path / "r.html", as_of=AS_OF).read_text()
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.IGNORECASE)
    assert "<link" not in html and "<script" not in html and "src=" not in html and "@import" not in html
    assert "<style>" in html


def test_report_notes_marts_that_could_not_be_built(tmp_path: Path) -> None:
    make_duckdb_warehouse(tmp_path, skip=("session_attendance", "exam_answers"))
    html = write_report(Warehouse(out_dir=tmp_path), tmp_path / "r.html", as_of=AS_OF).read_text()
    assert "the session_attendance table could not be built" in html
    assert "the exam_question_analysis table could not be built" in html
    assert _cards(html)["Overdue"] == "1"


def test_report_on_parquet(tmp_path: Path) -> None:
    make_parquet_warehouse(tmp_path)
    html = write_report(Warehouse(out_dir=tmp_path, destination="parquet"), tmp_path / "r.html", as_of=AS_OF).read_text()
    assert _cards(html)["Compliance rate"] == "33.3%"


def test_report_escapes_portal_text(tmp_path: Path) -> None:
    from pipelines.report import ReportData, render

    data = ReportData(as_of=AS_OF, by_group=[("<script>x</script>", {"compliant": 1})])
    html = render(data)
    assert "<script>x" not in html and "&lt;script&gt;x" in html
