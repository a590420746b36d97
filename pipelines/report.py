"""The HTML compliance report: one self-contained file (inline CSS and SVG, no external URL).

write_report builds the models for the as-of date (unless told not to), reads the marts and
writes headline figures and charts: compliance by group, overdue ageing, certificates
expiring by month, the exam questions with the lowest share correct, session attendance.
A mart that could not be built (its raw tables are missing) shows as a note, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from .models import build_models, database_path
from .report_assets import charts

STATES = [
    ("compliant", "Compliant"),
    ("due_soon", "Due within 30 days"),
    ("overdue", "Overdue"),
    ("expired", "Certificate expired"),
    ("not_started", "Not started"),
]
ATTENDANCE = [("present", "Present"), ("absent", "Absent"), ("no_show", "No-show"), ("unmarked", "Not marked yet")]
OVERDUE_BUCKETS = ("1-30", "31-60", "61-90", "90+")


@dataclass
class ReportData:
    as_of: date
    headline: dict[str, Any] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    by_group: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    ageing: list[tuple[str, float]] = field(default_factory=list)
    expiring: list[tuple[str, float]] = field(default_factory=list)
    hardest: list[tuple[str, float, str]] = field(default_factory=list)
    sessions: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    overdue_rows: list[tuple[Any, ...]] = field(default_factory=list)
    audit_gaps: list[tuple[Any, ...]] = field(default_factory=list)


def write_report(warehouse: Any, path: Path, as_of: date | None = None, *, build: bool = True) -> Path:
    """Write the compliance report to path and return it.

    build: build the models for as_of first (default); False reads the marts as they are.
    """
    as_of = as_of or datetime.now(timezone.utc).date()
    if build:
        build_models(warehouse, as_of=as_of)
    with duckdb.connect(str(database_path(warehouse)), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        data = collect(con, as_of)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(data), encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a report
    return path


# ---- data -----------------------------------------------------------------------------------


def _exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, name = relation.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
        ).fetchone()[0]
    )


def collect(con: duckdb.DuckDBPyConnection, as_of: date) -> ReportData:
    data = ReportData(as_of=as_of)

    def q(relation: str, sql: str) -> list[tuple[Any, ...]]:
        if not _exists(con, relation):
            data.missing.add(relation.split(".")[1])
            return []
        return con.execute(sql).fetchall()

    states = q(
        "reporting.compliance_status",
        "select compliance_state, count(*) from reporting.compliance_status where not is_user_deleted group by 1",
    )
    counts = dict(states)
    required = sum(counts.values())
    learners = q(
        "reporting.compliance_status",
        "select count(distinct user_id) from reporting.compliance_status where not is_user_deleted",
    )
    data.headline = {
        "required": required,
        "learners": learners[0][0] if learners else 0,
        "compliance_rate": (counts.get("compliant", 0) / required) if required else None,
        **{state: counts.get(state, 0) for state, _ in STATES},
    }
    buckets = dict(
        q(
            "reporting.certifications_expiring",
            "select expiry_bucket, count(*) from reporting.certifications_expiring group by 1",
        )
    )
    data.headline["certificates_expired"] = buckets.get("expired", 0)
    data.headline["certificates_30_days"] = buckets.get("0-30", 0)
    inactive = q(
        "reporting.learner_activity",
        "select count(*) filter (where is_inactive_with_open_training) from reporting.learner_activity",
    )
    data.headline["inactive_with_open_training"] = inactive[0][0] if inactive else 0
    no_shows = q(
        "reporting.session_attendance",
        "select count(*) filter (where is_no_show) from reporting.session_attendance",
    )
    data.headline["no_shows"] = no_shows[0][0] if no_shows else 0

    for title, *values in q(
        "reporting.completion_by_group",
        """
        select group_title, sum(compliant_count), sum(due_soon_count), sum(overdue_count), sum(expired_count),
            sum(not_started_count)
        from reporting.completion_by_group
        group by group_id, group_title
        order by sum(compliant_count) / sum(members_count), group_title
        limit 25
        """,
    ):
        data.by_group.append((title or "(untitled group)", dict(zip([s for s, _ in STATES], values))))

    ageing = dict(
        q("reporting.overdue_training", "select overdue_bucket, count(*) from reporting.overdue_training group by 1")
    )
    data.ageing = [(f"{b} days", ageing.get(b, 0)) for b in OVERDUE_BUCKETS] if "overdue_training" not in data.missing else []

    expiring = q(
        "reporting.certifications_expiring",
        """
        select case when expiry_bucket = 'expired' then 'expired' else expiry_month end as label, count(*)
        from reporting.certifications_expiring
        group by 1
        order by label = 'expired' desc, label
        """,
    )
    data.expiring = [(label, n) for label, n in expiring]

    for exam, text, share, wrong, attempts in q(
        "reporting.exam_question_analysis",
        """
        select exam_name, question_text, share_correct, most_common_wrong_answer, attempts_count
        from reporting.exam_question_analysis
        where share_correct is not null
        order by share_correct_rank
        limit 10
        """,
    ):
        label = f"{exam or 'Exam'}: {text or '(question)'}"
        note = f"of {attempts}; usual wrong answer: {wrong}" if wrong else f"of {attempts}"
        data.hardest.append((label, share, note))

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

    data.overdue_rows = q(
        "reporting.overdue_training",
        """
        select user_full_name, user_email, course_family_name, required_by_groups, due_date, days_overdue, latest_status
        from reporting.overdue_training
        order by days_overdue desc, user_full_name
        limit 25
        """,
    )
    if _exists(con, "staging.stg_audit_gaps"):
        data.audit_gaps = con.execute(
            "select gap_start_at, gap_end_at, gap_days from staging.stg_audit_gaps order by gap_start_at"
        ).fetchall()
    return data


# ---- page -----------------------------------------------------------------------------------


def _card(label: str, value: Any, tone: str = "") -> str:
    return f'<div class="card {tone}"><div class="value">{escape(str(value))}</div><div class="label">{escape(label)}</div></div>'


def _section(title: str, note: str, body: str, missing: str | None = None, empty: bool = False) -> str:
    if missing:
        body = f'<p class="empty">Not available: the {escape(missing)} table could not be built (its raw tables were not loaded).</p>'
    elif empty:
        body = '<p class="empty">Nothing to show as of this date.</p>'
    return f"<section><h2>{escape(title)}</h2><p class=\"note\">{escape(note)}</p>{body}</section>"


def _missing(data: ReportData, mart: str) -> str | None:
    return mart if mart in data.missing else None


def render(data: ReportData) -> str:
    h = data.headline
    rate = "n/a" if h.get("compliance_rate") is None else f"{h['compliance_rate'] * 100:.1f}%"
    cards = "".join(
        [
            _card("Compliance rate", rate, "good"),
            _card("Required assignments", f"{h.get('required', 0):,}"),
            _card("Learners with required training", f"{h.get('learners', 0):,}"),
            _card("Overdue", f"{h.get('overdue', 0):,}", "bad"),
            _card("Due within 30 days", f"{h.get('due_soon', 0):,}", "warn"),
            _card("Certificates expired", f"{h.get('certificates_expired', 0):,}", "bad"),
            _card("Certificates expiring in 30 days", f"{h.get('certificates_30_days', 0):,}", "warn"),
            _card("Inactive learners with open training", f"{h.get('inactive_with_open_training', 0):,}", "warn"),
            _card("Session no-shows", f"{h.get('no_shows', 0):,}", "bad"),
        ]
    )
    alert = ""
    if data.audit_gaps:
        gaps = ", ".join(f"{escape(str(a))} to {escape(str(b))} ({d} days)" for a, b, d in data.audit_gaps)
        alert = (
            '<div class="alert"><strong>Audit trail gaps.</strong> The API keeps only 30 days of audit events; '
            f"these windows were lost for good: {gaps}.</div>"
        )

    sections = [
        _section(
            "Compliance by group",
            "Members of each group by the state of the training the group makes required (groups with the lowest compliance first).",
            charts.legend([(k, n) for k, n in STATES]) + charts.stacked_bars(data.by_group, STATES),
            _missing(data, "completion_by_group"),
            not data.by_group,
        ),
        _section(
            "Overdue ageing",
            "Required training past its due date and not complete, by days overdue.",
            charts.column_chart(data.ageing, colour="overdue"),
            _missing(data, "overdue_training"),
            not any(v for _, v in data.ageing),
        ),
        _section(
            "Certificates expiring by month",
            "Each learner's latest certificate per course, expired or expiring within 90 days.",
            charts.column_chart(data.expiring, colours={"expired": "expired"}, colour="due_soon"),
            _missing(data, "certifications_expiring"),
            not data.expiring,
        ),
        _section(
            "Exam questions answered correctly least often",
            "Share of attempts answered correctly, and the most common wrong answer.",
            charts.share_bars(data.hardest),
            _missing(data, "exam_question_analysis"),
            not data.hardest,
        ),
        _section(
            "Session attendance",
            "Registered learners of the most recent past sessions.",
            charts.legend(ATTENDANCE) + charts.stacked_bars(data.sessions, ATTENDANCE, as_share=False),
            _missing(data, "session_attendance"),
            not data.sessions,
        ),
        _section(
            "Longest overdue",
            "The learners to chase first (up to 25).",
            _overdue_table(data.overdue_rows),
            _missing(data, "overdue_training"),
            not data.overdue_rows,
        ),
    ]
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Compliance report as of {data.as_of.isoformat()}</title>
<style>
{_css()}
</style>
</head>
<body>
<header><h1>Training compliance report</h1><p>As of {data.as_of.isoformat()} &middot; generated {generated} by lms-warehouse</p></header>
<main>
{alert}
<div class="cards">{cards}</div>
{''.join(sections)}
</main>
<footer>Figures exclude users deleted on the portal. Source tables: the reporting schema of the warehouse (see docs/data-dictionary.md).</footer>
</body>
</html>
"""


def _overdue_table(rows: list[tuple[Any, ...]]) -> str:
    head = (
        "<tr><th>Learner</th><th>Email</th><th>Course</th><th>Required by</th><th>Due</th>"
        '<th class="num">Days overdue</th><th>Status</th></tr>'
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(str(v))}</td>' if i == 5 else f"<td>{escape('' if v is None else str(v))}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>{head}{body}</table>"


def _css() -> str:
    return resources.files("pipelines.report_assets").joinpath("report.css").read_text(encoding="utf-8")
