"""The HTML compliance report: written, self-contained, with the figures of the marts, complete
lists with their CSV, a section per group and per manager, and a stamp of the last load."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote

import duckdb
import pytest

from pipelines.learnupon.errors import ConfigError
from pipelines.report import reading as report_reading
from pipelines.report import ReportData, question_label, rate_thresholds, render, write_report
from pipelines.run.runner import Warehouse
from tests.models.test_models_data import make_duckdb_warehouse
from tests.support.report_html import headline_cards

AS_OF = date(2026, 6, 15)
# when the report is made: the warehouse's only run finished on 2026-06-15 01:05 UTC, 35 hours before
NOW = datetime(2026, 6, 16, 12, 0, tzinfo=timezone.utc)


def _csvs(html: str) -> dict[str, list[list[str]]]:
    links = re.findall(r'<a class="download" download="([^"]+)\.csv" href="data:text/csv;charset=utf-8,([^"]*)"', html)
    return {name: list(csv.reader(io.StringIO(unquote(body)))) for name, body in links}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    make_duckdb_warehouse(out)
    path = write_report(Warehouse(out_dir=out), out / "out" / "report.html", as_of=AS_OF, now=NOW)
    assert not list(path.parent.glob(".*.tmp"))
    return out


@pytest.fixture(scope="module")
def report(built: Path) -> str:
    return (built / "out" / "report.html").read_text(encoding="utf-8")


def copy_of(built: Path, tmp_path: Path) -> Warehouse:
    """The built warehouse, copied: a test may change it and re-render without a rebuild."""
    shutil.copy(built / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    return Warehouse(out_dir=tmp_path)


def test_report_has_headline_figures_coloured_by_meaning(report: str) -> None:
    assert "As of 2026-06-15" in report
    # 6 required trainings of active users: 2 compliant, 1 due soon, 1 overdue, 1 expired, 1 not started
    assert headline_cards(report) == {
        "Compliance rate": ("33.3%", "bad"),  # below the 70% amber threshold: red, never green
        "Required trainings (learner &times; course)": ("6", ""),
        "Learners with required training": ("4", ""),
        "Overdue (rows of the overdue list)": ("1", "bad"),
        "Due within 30 days": ("1", "warn"),
        "Certificates expired": ("1", "bad"),
        "Certificates expiring in 30 days": ("1", "warn"),
        "Inactive learners with open training": ("1", "warn"),
        "Session no-shows": ("1", "bad"),
    }


def test_report_has_every_chart_with_whole_labels(report: str) -> None:
    for title in (
        "Compliance rate over time",
        "Compliance by group",
        "Overdue by days overdue",
        "Certificates expiring by month",
        "Exam questions answered correctly least often",
        "Exam results",
        "Session attendance",
        "Overdue training",
        "Groups",
        "Managers",
    ):
        assert f"<h2>{title}</h2>" in report, title
    charts = re.findall(r'data-chart="([^"]+)"', report)
    assert {"trend", "by-group", "ageing", "expiring", "hardest", "exams", "sessions"} <= set(charts)
    # the hardest question leads its chart, with its most common wrong answer; no label is cut
    assert report.index("Forklift exam: Tilt angle?") < report.index("Forklift exam: Max load?")
    assert "most common wrong answer: B" in report
    assert "\u2026" not in report and "&hellip;" not in report
    assert "Forklift practical (2026-06-10)" in report
    assert re.findall(r'<div class="bar-label">(Expired|[A-Z][a-z]{2} \d{4})</div>', report) == ["Expired", "Jul 2026"]


def _page(built: Path, name: str) -> str:
    return (built / "out" / "report_files" / name).read_text(encoding="utf-8")


def test_report_lists_are_complete_with_a_csv_of_each(report: str, built: Path) -> None:
    overdue = [
        ["Learner", "Email", "Course", "Why", "Required by", "Due", "Days overdue", "Status"],
        ["Ada Active", "ada@example.com", "Forklift Safety 2026", "not completed by the due date", "Warehouse", "2026-06-01", "14", "in progress"],
    ]
    # the main page shows the first page of the overdue list; the complete list is a CSV file beside it
    assert _csvs(report) == {"overdue_training_page_1": overdue}
    complete = (built / "out" / "report_files" / "overdue_training.csv").read_text(encoding="utf-8")
    assert list(csv.reader(io.StringIO(complete))) == overdue
    assert 'href="report_files/overdue_training.csv"' in report
    # a page per group and per manager (Ada manages Warehouse), each with its open items
    pages = sorted(p.name for p in (built / "out" / "report_files").glob("*.html"))
    assert pages == ["group-10.html", "group-20.html", "manager-1.html", "overdue-1.html"]
    warehouse = _page(built, "group-10.html")
    assert [row[:4] for row in _csvs(warehouse)["group_10_open_training"][1:]] == [
        ["Ada Active", "ada@example.com", "Forklift Safety 2026", "overdue"],
        ["Ben Builder", "ben@example.com", "Fire Safety", "due soon"],
        ["Eve Elsewhere", "eve@example.com", "Forklift Safety 2026", "not started"],
        ["Eve Elsewhere", "eve@example.com", "Fire Safety", "expired"],
    ]
    assert "<h2>Ada Active (ada@example.com)</h2>" in _page(built, "manager-1.html")
    assert "<h2>Warehouse</h2>" in warehouse and "<h2>Office</h2>" in _page(built, "group-20.html")
    assert "<h2>Warehouse</h2>" not in report  # the main page links to the group pages, it does not hold them


def test_a_long_overdue_list_is_split_into_pages(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse = copy_of(built, tmp_path)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("insert into reporting.overdue_training select o.* replace (o.user_id + r.i as user_id) from reporting.overdue_training as o, range(1, 1200) as r(i)")
    monkeypatch.setattr(report_reading, "PAGE_ROWS", 500)
    html = write_report(warehouse, tmp_path / "r.html", as_of=AS_OF, build=False).read_text()
    folder = tmp_path / "r_files"
    assert sorted(p.name for p in folder.glob("overdue-*.html")) == ["overdue-1.html", "overdue-2.html", "overdue-3.html"]
    assert "The first 500 of 1,200 rows" in html and len(_csvs(html)["overdue_training_page_1"]) == 501
    last = (folder / "overdue-3.html").read_text()
    assert len(_csvs(last)["overdue_training_page_3"]) == 201 and "rows 1,001 to 1,200 of the complete list of 1,200" in last
    assert len((folder / "overdue_training.csv").read_text().splitlines()) == 1201


def test_contents_link_to_every_section_and_page(report: str, built: Path) -> None:
    contents = report[report.index('<nav id="contents"') : report.index("</nav>")]
    links = re.findall(r'href="([^"]+)"', contents)
    ids = set(re.findall(r'id="([^"]+)"', report))
    anchors = [link[1:] for link in links if link.startswith("#")]
    assert anchors and set(anchors) <= ids
    pages = [link for link in links if not link.startswith("#")]
    assert pages == [
        "report_files/group-20.html#group-20", "report_files/group-10.html#group-10", "report_files/manager-1.html#manager-1",
    ]
    for link in pages:
        name, anchor = link.split("/", 1)[1].split("#")
        assert f'id="{anchor}"' in _page(built, name), link
        assert 'href="../report.html#' in _page(built, name)  # and back


def test_each_rate_says_what_it_counts(report: str, built: Path) -> None:
    # the chart: what each group itself requires; the group's page: that, and everything required of its members
    assert "The training each group itself requires (its group courses)" in report
    assert re.search(r"Office</div>.*?1 of 2 compliant", report, re.S) is None  # Office requires Fire Safety of Eve only
    assert re.search(r"Office</div>.*?0 of 1 compliant", report, re.S)
    office = _page(built, "group-20.html")
    assert "Training this group requires (its group courses), for its members: 0 of 1 compliant" in office
    assert "Every training required of its members, whichever group or enrollment requires it: 0 of 2 compliant" in office


def test_exam_results_show_the_portals_verdict(report: str) -> None:
    # Forklift exam: 9002, 9003 and 9006 passed on the portal (9006 at 60 of 75%), 9001 failed, 9005 has no status
    chart = report[report.index('data-chart="exams"') :]
    chart = chart[: chart.index("</figure>")]
    assert re.findall(r'title="(Passed|Failed|No verdict yet): (\d+)"', chart) == [("Passed", "3"), ("Failed", "1"), ("No verdict yet", "1")]
    assert "Verdicts that differ from the exam's pass threshold (a pass set by an admin, a threshold changed after the attempt): 1;" in html.unescape(report)


def test_exam_questions_name_their_exam_once() -> None:
    assert question_label("Negotiation Skills: Exam 5", "Negotiation Skills: Exam 5: question 1?") == (
        "Negotiation Skills: Exam 5: question 1?"
    )
    assert question_label("Forklift exam", "Tilt angle?") == "Forklift exam: Tilt angle?"
    assert question_label(None, "Tilt angle?") == "Tilt angle?"


def test_report_stamps_the_last_load_and_warns_when_it_is_old(report: str, built: Path, tmp_path: Path) -> None:
    # the warehouse's only run finished 35 hours before the report was made, over the schedule's 26 hours
    assert "Last successful load: 2026-06-15 01:05 UTC" in report
    assert "The data is older than its schedule allows." in report
    warehouse = copy_of(built, tmp_path)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("update learnupon.pipeline_runs set finished_at = ?, resources = 'users,enrollments'", [NOW])
    fresh = write_report(warehouse, tmp_path / "r.html", as_of=AS_OF, build=False, now=NOW).read_text()
    assert "The data is older" not in fresh and "No successful load" not in fresh
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("update learnupon.pipeline_runs set finished_at = ?", [NOW - timedelta(hours=5)])
    stale = write_report(warehouse, tmp_path / "r.html", as_of=AS_OF, build=False, now=NOW).read_text()
    # enrollments are loaded hourly (3 hours allowed); users daily (26 hours)
    assert "<li>enrollments: last loaded" in stale and "(the schedule allows 3 h)" in stale
    assert "<li>users:" not in stale


def test_good_threshold_is_configurable(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMS_REPORT_GOOD_RATE", "0.3")
    monkeypatch.setenv("LMS_REPORT_WARN_RATE", "0.2")
    html = write_report(copy_of(built, tmp_path), tmp_path / "r.html", as_of=AS_OF, build=False).read_text()
    assert headline_cards(html)["Compliance rate"] == ("33.3%", "good")
    assert "Rates show green at 30.0% or more, amber from 20.0%" in html
    monkeypatch.setenv("LMS_REPORT_GOOD_RATE", "1.5")
    with pytest.raises(ConfigError, match="LMS_REPORT_GOOD_RATE must be a share"):
        rate_thresholds()
    monkeypatch.setenv("LMS_REPORT_GOOD_RATE", "0.5")
    monkeypatch.setenv("LMS_REPORT_WARN_RATE", "0.8")
    with pytest.raises(ConfigError, match="must not be above"):
        rate_thresholds()


def test_report_is_self_contained(report: str) -> None:
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}/", report, re.IGNORECASE)
    assert "<link" not in report and "<script" not in report and "src=" not in report and "@import" not in report
    assert "<style>" in report


def test_report_notes_marts_that_could_not_be_built(tmp_path: Path) -> None:
    make_duckdb_warehouse(tmp_path, skip=("session_attendance", "exam_answers", "group_managers"))
    html = write_report(Warehouse(out_dir=tmp_path), tmp_path / "r.html", as_of=AS_OF).read_text()
    assert "the session_attendance table could not be built" in html
    assert "the exam_question_analysis table could not be built" in html
    assert "the manager_compliance table could not be built" in html
    assert headline_cards(html)["Overdue (rows of the overdue list)"] == ("1", "bad")


def test_report_on_parquet(tmp_path: Path) -> None:
    make_duckdb_warehouse(tmp_path)  # the Parquet destination's working warehouse
    html = write_report(Warehouse(out_dir=tmp_path, destination="parquet"), tmp_path / "r.html", as_of=AS_OF).read_text()
    assert headline_cards(html)["Compliance rate"] == ("33.3%", "bad")
    assert len(list((tmp_path / "parquet" / "marts" / "compliance_status").glob("*.parquet"))) == 1  # built and published


def test_report_escapes_portal_text() -> None:
    data = ReportData(as_of=AS_OF, by_group=[("<script>x</script>", {"compliant": 1})])
    html = render(data)
    assert "<script>x" not in html and "&lt;script&gt;x" in html
