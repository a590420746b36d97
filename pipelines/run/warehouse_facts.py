"""Read, before extracting, what the extract compares against: the deletion signals' facts and the exam answers already fetched."""

from __future__ import annotations

import logging
from datetime import timezone
from typing import Any

from ..learnupon.deletions import Unenrolment, WarehouseFacts, user_identity
from ..learnupon.lifecycle import VALID_TO
from .first_loads import appendable
from ..learnupon.tables import AUDIT_TRAILS, ENROLLMENTS, EXAM_ANSWER_FETCHES, LEARNING_PATH_ENROLLMENTS, PORTAL, USERS

log = logging.getLogger("lms_warehouse.facts")


def read_facts(pipeline: Any, portal: str) -> WarehouseFacts:
    """What the warehouse holds of `portal` (another portal's rows are no signal for this one)."""
    facts = WarehouseFacts()
    try:
        with pipeline.sql_client() as client:
            rows = client.execute_sql(
                "select table_name from information_schema.tables where table_schema = %s",
                client.dataset_name,
            )
            tables = {r[0] for r in rows or []}
            q = client.make_qualified_table_name
            facts.tables_with_rows = {
                t for t in sorted(tables) if appendable(t) and client.execute_sql(f"select 1 from {q(t)} limit 1")
            }
            if ENROLLMENTS in tables:
                for course_id, count in client.execute_sql(
                    f"select course_id, count(*) from {q(ENROLLMENTS)} where {VALID_TO} is null and {PORTAL} = %s group by 1",
                    portal,
                ) or []:
                    if course_id is not None:
                        facts.enrollments_by_course[int(course_id)] = int(count)
            if LEARNING_PATH_ENROLLMENTS in tables:
                for lp_id, count in client.execute_sql(
                    f"select lp_id, count(*) from {q(LEARNING_PATH_ENROLLMENTS)} where {VALID_TO} is null and {PORTAL} = %s group by 1",
                    portal,
                ) or []:
                    if lp_id is not None:
                        facts.lp_enrollments_by_path[int(lp_id)] = int(count)
            if USERS in tables:
                facts.user_ids = [int(r[0]) for r in client.execute_sql(f"select distinct id from {q(USERS)} where {PORTAL} = %s order by 1", portal) or []]
                for user_id, email in client.execute_sql(
                    f"select id, lower(email) from {q(USERS)} where email is not null and {PORTAL} = %s"
                    " order by _dlt_valid_to nulls last",
                    portal,
                ) or []:
                    facts.user_ids_by_email.setdefault(email, int(user_id))  # the current version wins
                for user_id, username, email in client.execute_sql(
                    f"select id, username, email from {q(USERS)} where {VALID_TO} is null and {PORTAL} = %s", portal
                ) or []:
                    facts.current_user_identities[int(user_id)] = user_identity(username, email)
            if EXAM_ANSWER_FETCHES in tables:
                for exam_enrollment_id, fingerprint in client.execute_sql(
                    f"select exam_enrollment_id, fingerprint from {q(EXAM_ANSWER_FETCHES)} where {PORTAL} = %s", portal
                ) or []:
                    facts.exam_answer_fingerprints[int(exam_enrollment_id)] = fingerprint
            if {AUDIT_TRAILS, USERS} <= tables:
                for user_id, name, at in client.execute_sql(
                    f"select distinct u.id, a.impacted_data, a.date_and_time_utc from {q(AUDIT_TRAILS)} a"
                    f" join {q(USERS)} u on u.{PORTAL} = a.{PORTAL} and lower(u.email) = lower(a.impacted_user_email)"
                    f" where a.action = 2 and a.date_and_time_utc is not null and a.{PORTAL} = %s",
                    portal,
                ) or []:
                    when = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
                    facts.unenrolments.append(Unenrolment(int(user_id), name, when))
    except Exception as exc:  # a missing dataset on a first run, or an unreadable warehouse: no signals
        log.debug("no warehouse facts: %s", exc)
    return facts
