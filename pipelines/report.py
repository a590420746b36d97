"""The HTML compliance report: one self-contained file (inline CSS, no script, no external URL).

write_report builds the models for the as-of date (unless told not to), reads the marts and
renders pipelines/report_assets/report.html.j2 (Jinja2): a contents list, a stamp with the
last successful load (and a warning when a resource is older than its schedule allows),
headline figures, the compliance rate over time, charts by group, overdue age, certificate
expiry, exam questions and session attendance, and the overdue list. Each group and each
manager has a page of its own (person.html.j2) in a folder beside the main file
(`<name>_files/`), linked from the contents, and the overdue list is split into pages of
PAGE_ROWS rows there: a portal with thousands of people no longer makes one page of
megabytes. Every table shown has a CSV download embedded as a data: link, so each page
stays one offline file. Colours carry meaning: a compliance rate is green only at or above
LMS_REPORT_GOOD_RATE (default 0.9), amber at or above LMS_REPORT_WARN_RATE (default 0.7),
red below. A mart that could not be built shows as a note, not an error.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import jinja2

from .run.freshness import freshness_max_age_hours
from .learnupon.errors import ConfigError
from .models import build_models, reporting_connection

STATES = [
    ("compliant", "Compliant"),
    ("due_soon", "Due within 30 days"),
    ("overdue", "Overdue"),
    ("expired", "Certificate expired"),
    ("not_started", "Not started"),
]
VERDICTS = [("passed", "Passed"), ("failed", "Failed"), ("no_verdict", "No verdict yet")]
ATTENDANCE = [("present", "Present"), ("absent", "Absent"), ("no_show", "No-show"), ("unmarked", "Not marked yet")]
OVERDUE_BUCKETS = ("1-30", "31-60", "61-90", "90+")
GOOD_RATE_ENV, WARN_RATE_ENV = "LMS_REPORT_GOOD_RATE", "LMS_REPORT_WARN_RATE"
PAGE_ROWS = 500  # rows of the overdue list per page; the main page shows the first page


@dataclass
class Table:
    """A table shown in the report, with its CSV download."""

    name: str  # file name of the download, without .csv
    columns: list[str]
    rows: list[tuple[Any, ...]]
    numeric: set[int] = field(default_factory=set)  # column positions aligned right

    @property
    def csv_text(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.columns)
        writer.writerows(["" if v is None else v for v in row] for row in self.rows)
        return buffer.getvalue()

    @property
    def csv_href(self) -> str:
        return "data:text/csv;charset=utf-8," + quote(self.csv_text)


@dataclass
class Counts:
    """Required trainings (learner x course family) by compliance state, and the share compliant."""

    by_state: dict[str, int] = field(default_factory=dict)

    @property
    def required(self) -> int:
        return sum(self.by_state.values())

    @property
    def compliant(self) -> int:
        return self.by_state.get("compliant", 0)

    @property
    def rate(self) -> float | None:
        return self.compliant / self.required if self.required else None


@dataclass
class Section:
    """A group's or a manager's people on a page of their own: their figures and their open required training.

    counts: every training required of the people (whichever group requires it);
    own_counts (groups only): the training the group itself requires of its members.
    """

    kind: str  # group or manager
    key: Any  # group id or manager user id
    title: str
    subtitle: str
    counts: Counts
    table: Table
    own_counts: Counts | None = None

    @property
    def slug(self) -> str:
        return f"{self.kind}-{self.key}"


@dataclass
class Page:
    """A page of a long list, in the folder beside the main file."""

    number: int
    of: int
    first_row: int  # its first row's position in the whole list, from 1
    table: Table

    @property
    def file_name(self) -> str:
        return f"overdue-{self.number}.html"


HEADLINE_KEYS = (
    "required", "learners", *[state for state, _ in STATES], "certificates_expired", "certificates_30_days",
    "inactive_with_open_training", "no_shows",
)


@dataclass
class ReportData:
    as_of: date
    headline: dict[str, Any] = field(default_factory=lambda: {"compliance_rate": None, **dict.fromkeys(HEADLINE_KEYS, 0)})
    missing: set[str] = field(default_factory=set)
    last_load: datetime | None = None
    stale: list[dict[str, Any]] = field(default_factory=list)
    trend: list[tuple[str, float | None, int]] = field(default_factory=list)  # (label, rate, required)
    by_group: list[tuple[str, dict[str, float]]] = field(default_factory=list)  # the group's own required training
    ageing: list[tuple[str, float]] = field(default_factory=list)
    expiring: list[tuple[str, float]] = field(default_factory=list)
    hardest: list[tuple[str, float, str]] = field(default_factory=list)
    exams: list[tuple[str, dict[str, int]]] = field(default_factory=list)  # the portal's verdicts per exam
    verdicts_below_threshold: int = 0  # passes the portal gives below the exam's threshold, and the reverse
    sessions: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    overdue: Table | None = None  # every row; the pages below split it
    overdue_pages: list[Page] = field(default_factory=list)
    groups: list[Section] = field(default_factory=list)
    managers: list[Section] = field(default_factory=list)
    audit_gaps: list[tuple[Any, ...]] = field(default_factory=list)


def rate_thresholds() -> tuple[float, float]:
    """(good, warn): shares at or above which a compliance rate shows green, amber."""
    values = []
    for name, default in ((GOOD_RATE_ENV, 0.9), (WARN_RATE_ENV, 0.7)):
        raw = os.environ.get(name)
        try:
            value = float(raw) if raw else default
        except ValueError:
            raise ConfigError(f"{name} must be a share between 0 and 1, got {raw!r}") from None
        if not 0 <= value <= 1:
            raise ConfigError(f"{name} must be a share between 0 and 1, got {raw!r}")
        values.append(value)
    good, warn = values
    if warn > good:
        raise ConfigError(f"{WARN_RATE_ENV} ({warn}) must not be above {GOOD_RATE_ENV} ({good})")
    return good, warn


def write_report(
    warehouse: Any, path: Path, as_of: date | None = None, *, build: bool = True, marts_schema: str = "reporting",
    now: datetime | None = None,
) -> Path:
    """Write the compliance report to path and return it.

    build: build the models for as_of first (default); False reads the marts as they are.
    marts_schema: the schema of the marts read (reporting_pseudonymised: the report without names).
    now: the moment the loads' freshness is judged at (default: the clock; a test states its own).
    """
    as_of = as_of or datetime.now(timezone.utc).date()
    thresholds = rate_thresholds()
    if build:
        build_models(warehouse, as_of=as_of)
    with reporting_connection(warehouse, warehouse.backend.report_relations(marts_schema)) as con:
        data = collect(con, as_of, raw_schema=warehouse.dataset, marts_schema=marts_schema, now=now)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = pages_folder(path)
    pages = render_pages(data, path.name, thresholds)
    # the pages first, swapped in whole, then the main file: a reader never sees half a report
    staging = path.with_name(f".{folder.name}.tmp")
    retired = path.with_name(f".{folder.name}.old")
    for leftover in (staging, retired):
        shutil.rmtree(leftover, ignore_errors=True)
    staging.mkdir()
    for name, text in pages.items():
        (staging / name).write_text(text, encoding="utf-8")
    if folder.exists():
        folder.replace(retired)
    staging.replace(folder)
    shutil.rmtree(retired, ignore_errors=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(data, thresholds, folder.name), encoding="utf-8")
    tmp.replace(path)
    return path


def pages_folder(path: Path) -> Path:
    """The folder of a report's group, manager and list pages: beside it, named after it."""
    return path.with_name(f"{path.stem}_files")


# ---- data -----------------------------------------------------------------------------------


def _exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, name = relation.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
        ).fetchone()[0]
    )


def collect(
    con: duckdb.DuckDBPyConnection, as_of: date, raw_schema: str = "learnupon", marts_schema: str = "reporting",
    now: datetime | None = None,
) -> ReportData:
    data = ReportData(as_of=as_of)

    def q(relation: str, sql: str) -> list[tuple[Any, ...]]:
        if marts_schema != "reporting":  # the same queries on another build of the marts (the pseudonymised one)
            relation, sql = (re.sub(r"\breporting\.", f"{marts_schema}.", text) for text in (relation, sql))
        if not _exists(con, relation):
            data.missing.add(relation.split(".")[1])
            return []
        return con.execute(sql).fetchall()

    _collect_loads(con, data, raw_schema, now or datetime.now(timezone.utc))
    counts = dict(
        q(
            "reporting.compliance_status",
            "select compliance_state, count(*) from reporting.compliance_status group by 1",
        )
    )
    required = sum(counts.values())
    learners = q(
        "reporting.compliance_status",
        "select count(distinct user_id) from reporting.compliance_status",
    )
    data.headline = {
        "required": required,
        "learners": learners[0][0] if learners else 0,
        "compliance_rate": (counts.get("compliant", 0) / required) if required else None,
        **{state: counts.get(state, 0) for state, _ in STATES},
    }
    buckets = dict(
        q("reporting.certifications_expiring", "select expiry_bucket, count(*) from reporting.certifications_expiring group by 1")
    )
    overdue_rows = q("reporting.overdue_training", "select count(*) from reporting.overdue_training")
    # the overdue card counts the overdue list's rows (learner x course), the expired ones with an overdue re-enrollment included
    data.headline["overdue"] = overdue_rows[0][0] if overdue_rows else 0
    data.headline["certificates_expired"] = buckets.get("expired", 0)
    data.headline["certificates_30_days"] = buckets.get("0-30", 0)
    inactive = q(
        "reporting.learner_activity",
        "select count(*) filter (where is_inactive_with_open_training) from reporting.learner_activity",
    )
    data.headline["inactive_with_open_training"] = inactive[0][0] if inactive else 0
    no_shows = q("reporting.session_attendance", "select count(*) filter (where is_no_show) from reporting.session_attendance")
    data.headline["no_shows"] = no_shows[0][0] if no_shows else 0

    for calendar_date, required_count, compliant in q(
        "reporting.compliance_trend",
        "select calendar_date, sum(required_count), sum(compliant_count) from reporting.compliance_trend"
        " group by 1 order by 1",
    ):
        data.trend.append((calendar_date.strftime("%b %Y"), compliant / required_count if required_count else None, required_count))

    for title, *values in q(
        "reporting.completion_by_group",
        """
        select group_title, sum(compliant_count), sum(due_soon_count), sum(overdue_count), sum(expired_count),
            sum(not_started_count)
        from reporting.completion_by_group
        group by group_id, group_title
        order by sum(compliant_count) / sum(members_count), group_title, group_id
        """,
    ):
        data.by_group.append((title or "(untitled group)", dict(zip([s for s, _ in STATES], values))))

    ageing = dict(q("reporting.overdue_training", "select overdue_bucket, count(*) from reporting.overdue_training group by 1"))
    if "overdue_training" not in data.missing:
        data.ageing = [(f"{b} days", ageing.get(b, 0)) for b in OVERDUE_BUCKETS]

    expiring = q(
        "reporting.certifications_expiring",
        """
        select label, count(*)
        from (
            select
                case when expiry_bucket = 'expired' then '' else expiry_month end as month,
                case when expiry_bucket = 'expired' then 'Expired' else strftime(certificate_expires_date, '%b %Y') end
                    as label,
            from reporting.certifications_expiring
        )
        group by month, label
        order by month
        """,
    )
    data.expiring = [(label, n) for label, n in expiring]

    for exam, text, share, wrong, attempts in q(
        "reporting.exam_question_analysis",
        """
        select exam_name, question_text, share_correct, most_common_wrong_answer, attempts_count
        from reporting.exam_question_analysis
        where share_correct is not null
        order by share_correct_rank, exam_id, question_id
        limit 10
        """,
    ):
        label = question_label(exam, text)
        note = f"of {attempts} attempts; most common wrong answer: {wrong}" if wrong else f"of {attempts} attempts"
        data.hardest.append((label, share, note))

    for exam, *values in q(
        "reporting.exam_results",
        """
        select coalesce(any_value(exam_name), 'Exam ' || exam_id),
            count(*) filter (where is_passed), count(*) filter (where not is_passed), count(*) filter (where is_passed is null)
        from reporting.exam_results
        group by exam_id
        order by count(*) filter (where is_passed) / count(*), 1, exam_id
        limit 12
        """,
    ):
        data.exams.append((exam, dict(zip([v for v, _ in VERDICTS], values))))
    disagreements = q(
        "reporting.exam_results", "select count(*) from reporting.exam_results where is_passed <> meets_pass_threshold"
    )
    data.verdicts_below_threshold = disagreements[0][0] if disagreements else 0

    for title, day, *values in q(
        "reporting.session_attendance",
        """
        select any_value(session_title), any_value(session_date),
            count(*) filter (where is_present), count(*) filter (where is_absent),
            count(*) filter (where is_no_show), count(*) filter (where attendance_state = 'unmarked')
        from reporting.session_attendance
        where is_registered and is_session_past
        group by session_id
        order by any_value(session_starts_at) desc, session_id
        limit 12
        """,
    ):
        data.sessions.append((f"{title or 'Session'} ({day})", dict(zip([a for a, _ in ATTENDANCE], values))))

    overdue_columns = ["Learner", "Email", "Course", "Why", "Required by", "Due", "Days overdue", "Status"]
    rows = q(
        "reporting.overdue_training",
        """
        select user_full_name, user_email, course_family_name,
            case overdue_reason when 'certificate_expired_and_reenrollment_overdue'
                then 'certificate expired, re-enrollment overdue' else 'not completed by the due date' end,
            coalesce(required_by_groups, '(enrollment due date, no group)'), due_date, days_overdue,
            replace(latest_status, '_', ' ')
        from reporting.overdue_training
        order by days_overdue desc, user_full_name, user_id, course_family_id
        """,
    )
    if "overdue_training" not in data.missing:
        data.overdue = Table("overdue_training", overdue_columns, rows, numeric={6})
        chunks = [rows[i : i + PAGE_ROWS] for i in range(0, len(rows), PAGE_ROWS)] or [[]]
        data.overdue_pages = [
            Page(n, len(chunks), (n - 1) * PAGE_ROWS + 1, Table(f"overdue_training_page_{n}", overdue_columns, chunk, numeric={6}))
            for n, chunk in enumerate(chunks, start=1)
        ]

    data.groups = _sections(
        q,
        "reporting.group_compliance",
        "group_id, group_title",
        "group",
        "select group_id, any_value(group_title) from reporting.group_compliance group by 1 order by 2, 1",
    )
    own: dict[Any, dict[str, int]] = {}
    for group_id, *values in q(
        "reporting.completion_by_group",
        """
        select group_id, sum(compliant_count), sum(due_soon_count), sum(overdue_count), sum(expired_count),
            sum(not_started_count)
        from reporting.completion_by_group group by 1
        """,
    ):
        own[group_id] = dict(zip([s for s, _ in STATES], values))
    for section in data.groups:
        section.own_counts = Counts(own.get(section.key, {}))
    data.managers = _sections(
        q,
        "reporting.manager_compliance",
        "manager_user_id, manager_name",
        "manager",
        "select manager_user_id, any_value(manager_name) || coalesce(' (' || any_value(manager_email) || ')', '')"
        " from reporting.manager_compliance group by 1 order by 2, 1",
    )
    if _exists(con, "staging.stg_audit_gaps"):
        data.audit_gaps = con.execute(
            "select gap_start_at, gap_end_at, gap_days from staging.stg_audit_gaps order by gap_start_at"
        ).fetchall()
    return data


SECTION_COLUMNS = ["Learner", "Email", "Course", "State", "Due", "Days overdue", "Certificate expires"]


def question_label(exam: str | None, text: str | None) -> str:
    """An exam question as a chart label: the exam's name, then the question, each once.

    Question texts often start with the exam's name already ("Exam 5: question 1?").
    """
    exam, text = (exam or "").strip(), (text or "").strip() or "(question)"
    if not exam or text.casefold().startswith(exam.casefold()):
        return text
    return f"{exam}: {text}"


def _sections(q: Any, relation: str, key_columns: str, kind: str, list_sql: str) -> list[Section]:
    """One Section per group (or manager): counts by state and every open (not compliant) item."""
    key = key_columns.split(",")[0].strip()
    counts: dict[Any, dict[str, int]] = {}
    for owner, state, n in q(relation, f"select {key}, compliance_state, count(*) from {relation} group by 1, 2"):
        counts.setdefault(owner, {})[state] = n
    items: dict[Any, list[tuple[Any, ...]]] = {}
    for owner, *row in q(
        relation,
        f"""
        select {key}, user_full_name, user_email, course_family_name, replace(compliance_state, '_', ' '), due_date,
            days_overdue, certificate_expires_date
        from {relation}
        where compliance_state <> 'compliant'
        order by {key}, days_overdue desc nulls last, due_date nulls last, user_full_name, user_id, course_family_id
        """,
    ):
        items.setdefault(owner, []).append(tuple(row))
    sections = []
    for owner, title in q(relation, list_sql):
        owner_counts = counts.get(owner, {})
        learners = len({row[1] for row in items.get(owner, [])})
        subtitle = f"{kind} {owner}; {learners} learner{'s' if learners != 1 else ''} with open required training"
        table = Table(f"{kind}_{owner}_open_training", SECTION_COLUMNS, items.get(owner, []), numeric={5})
        sections.append(
            Section(kind=kind, key=owner, title=title or f"{kind} {owner}", subtitle=subtitle, counts=Counts(owner_counts), table=table)
        )
    return sections


def _collect_loads(con: duckdb.DuckDBPyConnection, data: ReportData, raw_schema: str, now: datetime) -> None:
    """The newest successful load, and the resources whose last load is older than their schedule allows."""
    if not _exists(con, f"{raw_schema}.pipeline_runs"):
        return
    newest = con.execute(f"select max(finished_at) from {raw_schema}.pipeline_runs where status = 'succeeded'").fetchone()[0]
    data.last_load = _aware(newest) if newest else None
    rows = con.execute(
        f"""
        select resource, max(finished_at)
        from (select unnest(string_split(resources, ',')) as resource, finished_at
              from {raw_schema}.pipeline_runs where status = 'succeeded')
        group by 1 order by 1
        """
    ).fetchall()
    if not rows and data.last_load:  # runs that did not record their resources: judge the newest
        rows = [("every resource", data.last_load)]
    for resource, finished in rows:
        finished = _aware(finished)
        age_hours = (now - finished).total_seconds() / 3600
        allowed = max_age_hours("" if resource == "every resource" else resource)
        if age_hours > allowed:
            data.stale.append({"resource": resource, "last_loaded": finished, "age": _age(age_hours), "allowed": _age(allowed)})


def max_age_hours(resource: str) -> float:
    """How old a resource's last load may be: the schedule's freshness setting (assets/schedules.toml)."""
    return freshness_max_age_hours(resource)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _age(hours: float) -> str:
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.0f} days"


# ---- page -----------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipelines", "report_assets"),
        autoescape=True,  # every portal text is escaped
        extensions=["jinja2.ext.do"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = _number
    env.filters["percent"] = lambda v: "n/a" if v is None else f"{v * 100:.1f}%"
    env.filters["cell"] = lambda v: "" if v is None else str(v)
    return env


def _number(value: Any) -> str:
    if value is None:
        return ""
    value = float(value)
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"


def _context(data: ReportData, thresholds: tuple[float, float] | None) -> dict[str, Any]:
    good, warn = thresholds or rate_thresholds()

    def tone(rate: float | None) -> str:
        if rate is None:
            return ""
        return "good" if rate >= good else "warn" if rate >= warn else "bad"

    def share(part: float, whole: float) -> float:
        return 100.0 * part / whole if whole else 0.0

    return dict(
        data=data,
        h=data.headline,
        states=STATES,
        attendance=ATTENDANCE,
        verdicts=VERDICTS,
        good=good,
        warn=warn,
        tone=tone,
        share=share,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        css=resources.files("pipelines.report_assets").joinpath("report.css").read_text(encoding="utf-8"),
    )


def render(data: ReportData, thresholds: tuple[float, float] | None = None, folder: str = "compliance_report_files") -> str:
    """The main page; `folder` is where its group, manager and list pages are (relative to it)."""
    return _environment().get_template("report.html.j2").render(folder=folder, **_context(data, thresholds))


def render_pages(data: ReportData, main: str, thresholds: tuple[float, float] | None = None) -> dict[str, str]:
    """{file name: content} for the folder beside the main page `main`: a page per group, per manager and per
    page of the overdue list, and the overdue list's complete CSV."""
    context = {**_context(data, thresholds), "main": main}
    template = _environment().get_template("person.html.j2")
    pages = {f"{s.slug}.html": template.render(section=s, page=None, **context) for s in [*data.groups, *data.managers]}
    for page in data.overdue_pages:
        pages[page.file_name] = template.render(section=None, page=page, **context)
    if data.overdue is not None:
        pages[f"{data.overdue.name}.csv"] = data.overdue.csv_text
    return pages
