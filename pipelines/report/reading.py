"""The compliance report's figures read from the marts, the audit gaps and the run records (one DuckDB connection)."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any

import duckdb

from ..run.freshness import freshness_max_age_hours
from .figures import ATTENDANCE, OVERDUE_BUCKETS, PAGE_ROWS, STATES, VERDICTS, Counts, Page, ReportData, Section, Table


def read_relations(warehouse: Any, marts_schema: str = "reporting") -> list[str]:
    """What the report reads: every table of `marts_schema`, the audit gaps and the run records (PostgreSQL copies them)."""
    return warehouse.backend.report_relations(marts_schema)


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
    """The report's figures. marts_schema: another build of the marts (reporting_pseudonymised); now: the moment
    the loads' freshness is judged at (default: the clock; a test states its own)."""
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
