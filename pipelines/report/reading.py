"""The compliance report's figures read from the marts, the audit gaps and the run records (one DuckDB connection)."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any

import duckdb

from ..run.freshness import freshness_max_age_hours
from ..learnupon.errors import ConfigError
from .figures import (
    ATTENDANCE, OVERDUE_BUCKETS, PAGE_ROWS, STATES, VERDICTS, Counts, Page, ReportData, Section, Table, empty_headline,
    portal_slug, realm_headline,
)

# the headline cards that count certificates, by their expiry bucket (certifications_expiring)
CERTIFICATE_CARDS = {"expired": "certificates_expired", "0-30": "certificates_30_days"}


def read_relations(warehouse: Any, marts_schema: str = "reporting") -> list[str]:
    """What the report reads: every table of `marts_schema`, the audit gaps and the run records (PostgreSQL copies them)."""
    return warehouse.backend.report_relations(marts_schema)


def _has_column(con: duckdb.DuckDBPyConnection, relation: str, column: str) -> bool:
    schema, name = relation.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.columns where table_schema = ? and table_name = ? and column_name = ?",
            [schema, name, column],
        ).fetchone()[0]
    )


def _exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, name = relation.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
        ).fetchone()[0]
    )


def collect(
    con: duckdb.DuckDBPyConnection, as_of: date, raw_schema: str = "learnupon", marts_schema: str = "reporting",
    now: datetime | None = None, portal: str | None = None,
) -> ReportData:
    """The report's figures. marts_schema: another build of the marts (reporting_pseudonymised); now: the moment
    the loads' freshness is judged at (default: the clock; a test states its own); portal: only that portal's
    rows (default: every portal in the warehouse, each portal's headline beside the realm's totals)."""
    data = ReportData(as_of=as_of, portal=portal)

    def q(relation: str, sql: str) -> list[tuple[Any, ...]]:
        if marts_schema != "reporting":  # the same queries on another build of the marts (the pseudonymised one)
            relation, sql = (re.sub(r"\breporting\.", f"{marts_schema}.", text) for text in (relation, sql))
        if not _exists(con, relation):
            data.missing.add(relation.split(".")[1])
            return []
        if portal is not None:  # every mart read as its rows of that portal
            sql = re.sub(
                rf"\b{re.escape(marts_schema)}\.(\w+)\b",
                lambda m: f"(select * from {m.group(0)} where portal = {_text(portal)}) as {m.group(1)}",
                sql,
            )
        return con.execute(sql).fetchall()

    _collect_loads(con, data, raw_schema, now or datetime.now(timezone.utc), portal)
    data.by_portal = _headlines(q)
    data.portals = sorted(data.by_portal)
    if portal is not None and not data.portals and _exists(con, f"{marts_schema}.learner_activity"):
        known = [row[0] for row in con.execute(f"select distinct portal from {marts_schema}.learner_activity order by 1").fetchall()]
        raise ConfigError(f"report --portal: the warehouse has no portal {portal!r} (its portals: {', '.join(known) or 'none'})")
    data.headline = realm_headline(data.by_portal)

    for calendar_date, required_count, compliant in q(
        "reporting.compliance_trend",
        "select calendar_date, sum(required_count), sum(compliant_count) from reporting.compliance_trend"
        " group by 1 order by 1",
    ):
        data.trend.append((calendar_date.strftime("%b %Y"), compliant / required_count if required_count else None, required_count))

    for group_portal, title, *values in q(
        "reporting.completion_by_group",
        """
        select portal, group_title, sum(compliant_count), sum(due_soon_count), sum(overdue_count), sum(expired_count),
            sum(not_started_count)
        from reporting.completion_by_group
        group by portal, group_id, group_title
        order by sum(compliant_count) / sum(members_count), group_title, portal, group_id
        """,
    ):
        data.by_group.append((data.labelled(group_portal, title or "(untitled group)"), dict(zip([s for s, _ in STATES], values))))

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

    # the realm's hardest questions: share_correct_rank ranks within a portal, so the order is stated here
    for question_portal, exam, text, share, wrong, attempts in q(
        "reporting.exam_question_analysis",
        """
        select portal, exam_name, question_text, share_correct, most_common_wrong_answer, attempts_count
        from reporting.exam_question_analysis
        where share_correct is not null
        order by share_correct, attempts_count desc, portal, exam_id, question_id
        limit 10
        """,
    ):
        label = data.labelled(question_portal, question_label(exam, text))
        note = f"of {attempts} attempts; most common wrong answer: {wrong}" if wrong else f"of {attempts} attempts"
        data.hardest.append((label, share, note))

    for exam_portal, exam, *values in q(
        "reporting.exam_results",
        """
        select portal, coalesce(any_value(exam_name), 'Exam ' || exam_id),
            count(*) filter (where is_passed), count(*) filter (where not is_passed), count(*) filter (where is_passed is null)
        from reporting.exam_results
        group by portal, exam_id
        order by count(*) filter (where is_passed) / count(*), 2, portal, exam_id
        limit 12
        """,
    ):
        data.exams.append((data.labelled(exam_portal, exam), dict(zip([v for v, _ in VERDICTS], values))))
    disagreements = q(
        "reporting.exam_results", "select count(*) from reporting.exam_results where is_passed <> meets_pass_threshold"
    )
    data.verdicts_below_threshold = disagreements[0][0] if disagreements else 0

    for session_portal, title, day, *values in q(
        "reporting.session_attendance",
        """
        select portal, any_value(session_title), any_value(session_date),
            count(*) filter (where is_present), count(*) filter (where is_absent),
            count(*) filter (where is_no_show), count(*) filter (where attendance_state = 'unmarked')
        from reporting.session_attendance
        where is_registered and is_session_past
        group by portal, session_id
        order by any_value(session_starts_at) desc, portal, session_id
        limit 12
        """,
    ):
        data.sessions.append((data.labelled(session_portal, f"{title or 'Session'} ({day})"), dict(zip([a for a, _ in ATTENDANCE], values))))

    # with several portals the list names each row's portal (first column)
    portal_column = ["Portal"] if data.several_portals else []
    overdue_columns = [*portal_column, "Learner", "Email", "Course", "Why", "Required by", "Due", "Days overdue", "Status"]
    days_overdue = {overdue_columns.index("Days overdue")}
    rows = q(
        "reporting.overdue_training",
        f"""
        select {"portal, " if portal_column else ""}user_full_name, user_email, course_family_name,
            case overdue_reason when 'certificate_expired_and_reenrollment_overdue'
                then 'certificate expired, re-enrollment overdue' else 'not completed by the due date' end,
            coalesce(required_by_groups, '(enrollment due date, no group)'), due_date, days_overdue,
            replace(latest_status, '_', ' ')
        from reporting.overdue_training
        order by days_overdue desc, user_full_name, portal, user_id, course_family_id
        """,
    )
    if "overdue_training" not in data.missing:
        data.overdue = Table("overdue_training", overdue_columns, rows, numeric=days_overdue)
        chunks = [rows[i : i + PAGE_ROWS] for i in range(0, len(rows), PAGE_ROWS)] or [[]]
        data.overdue_pages = [
            Page(n, len(chunks), (n - 1) * PAGE_ROWS + 1, Table(f"overdue_training_page_{n}", overdue_columns, chunk, numeric=days_overdue))
            for n, chunk in enumerate(chunks, start=1)
        ]

    groups = _sections(
        q,
        data,
        "reporting.group_compliance",
        "group_id",
        "group",
        "select portal, group_id, any_value(group_title) from reporting.group_compliance group by 1, 2 order by 3, 1, 2",
    )
    own: dict[tuple[str, Any], dict[str, int]] = {}
    for group_portal, group_id, *values in q(
        "reporting.completion_by_group",
        """
        select portal, group_id, sum(compliant_count), sum(due_soon_count), sum(overdue_count), sum(expired_count),
            sum(not_started_count)
        from reporting.completion_by_group group by 1, 2
        """,
    ):
        own[(group_portal, group_id)] = dict(zip([s for s, _ in STATES], values))
    for group_portal, section in groups:
        section.own_counts = Counts(own.get((group_portal, section.key), {}))
    data.groups = [section for _, section in groups]
    managers = _sections(
        q,
        data,
        "reporting.manager_compliance",
        "manager_user_id",
        "manager",
        "select portal, manager_user_id, any_value(manager_name) || coalesce(' (' || any_value(manager_email) || ')', '')"
        " from reporting.manager_compliance group by 1, 2 order by 3, 1, 2",
    )
    data.managers = [section for _, section in managers]
    if _exists(con, "staging.stg_audit_gaps"):
        scope = f" where portal = {_text(portal)}" if portal is not None else ""
        data.audit_gaps = con.execute(
            f"select gap_start_at, gap_end_at, gap_days, portal from staging.stg_audit_gaps{scope} order by gap_start_at, portal"
        ).fetchall()
    return data


def _text(value: str) -> str:
    """A text value as an SQL literal."""
    return "'" + value.replace("'", "''") + "'"


def _headlines(q: Any) -> dict[str, dict[str, Any]]:
    """Each portal's headline figures (learners count per portal: a person on two portals is two learners)."""
    per_portal: dict[str, dict[str, Any]] = {}

    def figures(name: str) -> dict[str, Any]:
        return per_portal.setdefault(name, empty_headline())

    for name, in q("reporting.learner_activity", "select distinct portal from reporting.learner_activity"):
        figures(name)
    for name, state, n in q(
        "reporting.compliance_status", "select portal, compliance_state, count(*) from reporting.compliance_status group by 1, 2"
    ):
        figures(name)[state] = n
        figures(name)["required"] += n
    for name, n in q("reporting.compliance_status", "select portal, count(distinct user_id) from reporting.compliance_status group by 1"):
        figures(name)["learners"] = n
    for name, bucket, n in q(
        "reporting.certifications_expiring", "select portal, expiry_bucket, count(*) from reporting.certifications_expiring group by 1, 2"
    ):
        if bucket in CERTIFICATE_CARDS:
            figures(name)[CERTIFICATE_CARDS[bucket]] = n
    # the overdue card counts the overdue list's rows (learner x course), the expired ones with an overdue re-enrollment included
    overdue = q("reporting.overdue_training", "select portal, count(*) from reporting.overdue_training group by 1")
    for name in per_portal:
        per_portal[name]["overdue"] = 0
    for name, n in overdue:
        figures(name)["overdue"] = n
    for name, n in q(
        "reporting.learner_activity",
        "select portal, count(*) filter (where is_inactive_with_open_training) from reporting.learner_activity group by 1",
    ):
        figures(name)["inactive_with_open_training"] = n
    for name, n in q(
        "reporting.session_attendance", "select portal, count(*) filter (where is_no_show) from reporting.session_attendance group by 1"
    ):
        figures(name)["no_shows"] = n
    for values in per_portal.values():
        values["compliance_rate"] = values["compliant"] / values["required"] if values["required"] else None
    return per_portal


SECTION_COLUMNS = ["Learner", "Email", "Course", "State", "Due", "Days overdue", "Certificate expires"]


def question_label(exam: str | None, text: str | None) -> str:
    """An exam question as a chart label: the exam's name, then the question, each once.

    Question texts often start with the exam's name already ("Exam 5: question 1?").
    """
    exam, text = (exam or "").strip(), (text or "").strip() or "(question)"
    if not exam or text.casefold().startswith(exam.casefold()):
        return text
    return f"{exam}: {text}"


def _sections(q: Any, data: ReportData, relation: str, key: str, kind: str, list_sql: str) -> list[tuple[str, Section]]:
    """(portal, Section) per group (or manager) of each portal: counts by state and every open (not compliant) item."""
    counts: dict[tuple[str, Any], dict[str, int]] = {}
    for portal, owner, state, n in q(relation, f"select portal, {key}, compliance_state, count(*) from {relation} group by 1, 2, 3"):
        counts.setdefault((portal, owner), {})[state] = n
    items: dict[tuple[str, Any], list[tuple[Any, ...]]] = {}
    for portal, owner, *row in q(
        relation,
        f"""
        select portal, {key}, user_full_name, user_email, course_family_name, replace(compliance_state, '_', ' '), due_date,
            days_overdue, certificate_expires_date
        from {relation}
        where compliance_state <> 'compliant'
        order by portal, {key}, days_overdue desc nulls last, due_date nulls last, user_full_name, user_id, course_family_id
        """,
    ):
        items.setdefault((portal, owner), []).append(tuple(row))
    sections = []
    for portal, owner, title in q(relation, list_sql):
        owner_items = items.get((portal, owner), [])
        learners = len({row[1] for row in owner_items})
        shown_portal = portal if data.several_portals else None
        subtitle = f"{kind} {owner}{f' of portal {portal}' if shown_portal else ''}; {learners} learner{'s' if learners != 1 else ''} with open required training"
        table_name = f"{kind}_{portal_slug(shown_portal) + '_' if shown_portal else ''}{owner}_open_training"
        section = Section(
            kind=kind, key=owner, title=data.labelled(portal, title or f"{kind} {owner}"), subtitle=subtitle,
            counts=Counts(counts.get((portal, owner), {})), table=Table(table_name, SECTION_COLUMNS, owner_items, numeric={5}),
            portal=shown_portal,
        )
        sections.append((portal, section))
    return sections


def _collect_loads(con: duckdb.DuckDBPyConnection, data: ReportData, raw_schema: str, now: datetime, portal: str | None) -> None:
    """The newest successful load, and the resources whose last load is older than their schedule allows
    (of the one portal's runs, when the report is for one and the run records name their portal)."""
    if not _exists(con, f"{raw_schema}.pipeline_runs"):
        return
    succeeded = "status = 'succeeded'"
    if portal is not None and _has_column(con, f"{raw_schema}.pipeline_runs", "portal"):
        succeeded += f" and portal = {_text(portal)}"
    newest = con.execute(f"select max(finished_at) from {raw_schema}.pipeline_runs where {succeeded}").fetchone()[0]
    data.last_load = _aware(newest) if newest else None
    rows = con.execute(
        f"""
        select resource, max(finished_at)
        from (select unnest(string_split(resources, ',')) as resource, finished_at
              from {raw_schema}.pipeline_runs where {succeeded})
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
