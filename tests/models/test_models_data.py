"""Hand-written raw tables for the model tests, in a DuckDB warehouse.

The story, as of 2026-06-15 (AS_OF):
- Forklift Safety has two versions: course 100 (v1, the root) and 101 (v2, source_id 100).
  Group 10 "Warehouse" requires it (group_courses links v2). Fire Safety is course 200;
  group 20 "Office" requires it. A retired group_courses row (group 20 -> course 100) no
  longer counts.
- 1 Ada (group 10): on v2, in progress, due 2026-06-01 -> overdue 14 days.
- 2 Ben (group 10): passed v1 (certificate to 2027-01-10), now enrolled on v2, not started
  -> compliant for the family. Also on Fire Safety, not group-required, due 2026-06-25 -> due soon.
- 3 Cara (group 10): completed v2, certificate expires 2026-07-05 (in 20 days) -> 0-30 bucket.
- 4 Dan: deleted on the portal (no current users row since 2026-05-01), membership retired;
  his Fire Safety enrollment was due 2026-05-20.
- 5 Eve (groups 10 and 20): never enrolled on Forklift Safety; passed Fire Safety but the
  certificate expired 2026-06-01; never signed in.
- Ada manages group 10. The Forklift exam (500) sits in both versions; Ben's second exam
  enrollment says "Passed" at 60% (the exam asks 75%) after 4 attempts of 3.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from pipelines.learnupon import schema
from pipelines.run.runner import PIPELINE_RUNS

AS_OF_TEXT = "2026-06-15"
PORTAL = "acme"  # every row's portal (the raw tables' portal column)
LOAD_1 = "1767225600.0"  # 2026-01-01T00:00:00Z
LOAD_2 = "1777593600.0"  # 2026-05-01T00:00:00Z: the load that noticed Dan's deletion
LOAD_1_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
LOAD_2_AT = datetime(2026, 5, 1, tzinfo=timezone.utc)

KINDS = {"int": "bigint", "float": "double", "bool": "boolean", "text": "varchar", "json": "varchar", "timestamp": "timestamptz"}
SCD2_TABLES = {
    "users",
    "user_custom_data",
    "group_memberships",
    "group_courses",
    "group_managers",
    "course_instructors",
    "learning_path_courses",
    "session_instructors",
    "user_awards",
}


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def spec(table: str) -> dict[str, str]:
    if table == "pipeline_runs":
        return PIPELINE_RUNS
    if table == "portals":  # its versions are written as given: each with its own load times
        return {"portal": "text", **schema.PORTALS, "_dlt_valid_from": "timestamp", "_dlt_valid_to": "timestamp"}
    return getattr(schema, table.upper())


def _user(uid: int, first: str, last: str, **extra: Any) -> dict[str, Any]:
    row = {
        "id": uid,
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}@example.com",
        "enabled": True,
        "user_type": "learner",
        "created_at": ts("2025-01-01"),
        "sign_in_count": 0,
        "row_hash": f"u{uid}",
    }
    row.update(extra)
    return row


# rows marked "retired" are SCD2 versions that are no longer current (closed at LOAD_2)
TABLES: dict[str, list[dict[str, Any]]] = {
    "users": [
        _user(1, "Ada", "Active", sign_in_count=40, last_sign_in_at=ts("2026-06-14 08:00")),
        _user(2, "Ben", "Builder", sign_in_count=12, last_sign_in_at=ts("2026-06-01 08:00")),
        _user(3, "Cara", "Careful", sign_in_count=3, last_sign_in_at=ts("2026-01-01 08:00")),
        {**_user(4, "Dan", "Deleted", sign_in_count=1), "retired": True},
        _user(5, "Eve", "Elsewhere"),
    ],
    "courses": [
        {"id": 100, "name": "Forklift Safety", "version": 1, "source_id": None, "published_status_id": "archived"},
        {"id": 101, "name": "Forklift Safety 2026", "version": 2, "source_id": 100, "published_status_id": "published"},
        {"id": 200, "name": "Fire Safety", "version": 1, "source_id": 200, "published_status_id": "published"},
    ],
    "modules": [
        # the exam sits in both versions of Forklift Safety; the survey in the newest only
        {"course_id": 100, "id": 4000, "title": "Forklift exam", "component_type": "exam", "exam_id": 500},
        {"course_id": 101, "id": 5000, "title": "Forklift exam", "component_type": "exam", "exam_id": 500},
        {"course_id": 101, "id": 5001, "title": "Feedback", "component_type": "survey", "exam_id": 501},
    ],
    "group_managers": [
        {"id": 300, "group_id": 10, "user_id": 1, "first_name": "Ada", "last_name": "Active", "email": "ada@example.com", "group_title": "Warehouse", "row_hash": "gm1"},
    ],
    "groups": [
        {"id": 10, "title": "Warehouse", "number_of_members": 4},
        {"id": 20, "title": "Office", "number_of_members": 1},
    ],
    "group_memberships": [
        {"group_id": 10, "user_id": 1, "row_hash": "m1"},
        {"group_id": 10, "user_id": 2, "row_hash": "m2"},
        {"group_id": 10, "user_id": 3, "row_hash": "m3"},
        {"group_id": 10, "user_id": 4, "row_hash": "m4", "retired": True},
        {"group_id": 10, "user_id": 5, "row_hash": "m5"},
        {"group_id": 20, "user_id": 5, "row_hash": "m6"},
    ],
    "group_courses": [
        {"id": 1000, "group_id": 10, "course_id": 101, "group_title": "Warehouse", "course_name": "Forklift Safety 2026", "row_hash": "g1"},
        {"id": 1001, "group_id": 20, "course_id": 200, "group_title": "Office", "course_name": "Fire Safety", "row_hash": "g2"},
        {"id": 1002, "group_id": 20, "course_id": 100, "group_title": "Office", "course_name": "Forklift Safety", "row_hash": "g3", "retired": True},
    ],
    "enrollments": [
        {"id": 1, "user_id": 1, "course_id": 101, "version": 2, "status": "in_progress", "date_enrolled": ts("2026-04-01"), "date_started": ts("2026-04-02"), "date_lastaccessed": ts("2026-06-10"), "due_date": ts("2026-06-01"), "updated_at": ts("2026-06-10")},
        {"id": 2, "user_id": 2, "course_id": 100, "version": 1, "status": "passed", "date_enrolled": ts("2025-12-01"), "date_started": ts("2025-12-02"), "date_completed": ts("2026-01-10 15:00"), "certificate_name": "Forklift operator", "cert_expires_at": ts("2027-01-10"), "updated_at": ts("2026-01-10")},
        {"id": 3, "user_id": 2, "course_id": 101, "version": 2, "status": "not_started", "date_enrolled": ts("2026-05-20"), "due_date": ts("2026-07-01"), "updated_at": ts("2026-05-20")},
        {"id": 4, "user_id": 2, "course_id": 200, "version": 1, "status": "in_progress", "date_enrolled": ts("2026-06-01"), "date_started": ts("2026-06-02"), "due_date": ts("2026-06-25"), "updated_at": ts("2026-06-02")},
        {"id": 5, "user_id": 3, "course_id": 101, "version": 2, "status": "completed", "date_enrolled": ts("2026-02-01"), "date_started": ts("2026-02-02"), "date_completed": ts("2026-03-01"), "date_lastaccessed": ts("2026-03-01"), "certificate_name": "Forklift operator", "cert_expires_at": ts("2026-07-05 12:00"), "updated_at": ts("2026-03-01")},
        {"id": 6, "user_id": 4, "course_id": 200, "version": 1, "status": "not_started", "date_enrolled": ts("2026-04-20"), "due_date": ts("2026-05-20"), "updated_at": ts("2026-04-20")},
        {"id": 7, "user_id": 5, "course_id": 200, "version": 1, "status": "passed", "date_enrolled": ts("2025-05-01"), "date_completed": ts("2025-06-01"), "certificate_name": "Fire warden", "cert_expires_at": ts("2026-06-01"), "updated_at": ts("2025-06-01")},
    ],
    "exams": [
        {"exam_id": 500, "name": "Forklift exam", "is_survey": False, "pass_percentage": 75.0, "attempts": "3"},
        {"exam_id": 501, "name": "Feedback survey", "is_survey": True, "attempts": "unlimited"},
    ],
    "exam_enrollments": [
        {"exam_enrollment_id": 9001, "exam_id": 500, "user_id": 1, "status": "Failed", "attempts_used": 2, "score": 40.0, "date_completed": ts("2026-06-05")},
        {"exam_enrollment_id": 9002, "exam_id": 500, "user_id": 2, "status": "Passed", "attempts_used": 1, "score": 90.0, "date_completed": ts("2026-01-10")},
        {"exam_enrollment_id": 9003, "exam_id": 500, "user_id": 3, "status": "Passed", "attempts_used": 1, "score": 80.0, "date_completed": ts("2026-03-01")},
        {"exam_enrollment_id": 9005, "exam_id": 500, "user_id": 5, "status": None, "attempts_used": 1, "score": 70.0, "date_completed": ts("2026-06-12")},
        # the portal says passed, but 60 is below the exam's 75%, in four attempts of three
        {"exam_enrollment_id": 9006, "exam_id": 500, "user_id": 2, "status": "Passed", "attempts_used": 4, "score": 60.0, "date_completed": ts("2026-06-13")},
        {"exam_enrollment_id": 9101, "exam_id": 501, "user_id": 1, "status": "Completed", "attempts_used": 1},
    ],
    "exam_answers": [
        # question 11: everyone right; 12: most people wrong, "B" the usual mistake; 13: one skipped
        *[
            {"exam_enrollment_id": e, "exam_id": 500, "question_id": 11, "question_text": "<p>Max load?</p>", "overall_status": "correct", "given_answer": "1 t", "correct_answer": "1 t"}
            for e in (9001, 9002, 9003, 9005)
        ],
        {"exam_enrollment_id": 9001, "exam_id": 500, "question_id": 12, "question_text": "Tilt angle?", "overall_status": "incorrect", "given_answer": "B", "correct_answer": "A"},
        {"exam_enrollment_id": 9002, "exam_id": 500, "question_id": 12, "question_text": "Tilt angle?", "overall_status": "correct", "given_answer": "A", "correct_answer": "A"},
        {"exam_enrollment_id": 9003, "exam_id": 500, "question_id": 12, "question_text": "Tilt angle?", "overall_status": "2", "given_answer": "B", "correct_answer": "A"},
        {"exam_enrollment_id": 9005, "exam_id": 500, "question_id": 12, "question_text": "Tilt angle?", "overall_status": "incorrect", "given_answer": "C", "correct_answer": "A"},
        *[
            {"exam_enrollment_id": e, "exam_id": 500, "question_id": 13, "question_text": "Horn?", "overall_status": "correct", "given_answer": "Yes", "correct_answer": "Yes"}
            for e in (9001, 9002, 9003)
        ],
        {"exam_enrollment_id": 9005, "exam_id": 500, "question_id": 13, "question_text": "Horn?", "overall_status": "not_attempted"},
        {"exam_enrollment_id": 9101, "exam_id": 501, "question_id": 21, "question_text": "Useful?", "overall_status": "incorrect", "given_answer": "No"},
    ],
    "sessions": [
        {"session_id": 700, "event_id": 70, "course_id": 101, "course_name": "Forklift Safety 2026", "session_title": "Forklift practical", "start_date": ts("2026-06-10 09:00"), "end_date": ts("2026-06-10 12:00")},
    ],
    "session_attendance": [
        {"session_id": 700, "user_id": 1, "pm_id": 1, "session_status": 20},
        {"session_id": 700, "user_id": 2, "pm_id": 2, "session_status": 40},
        {"session_id": 700, "user_id": 3, "pm_id": 3, "session_status": 10},
        {"session_id": 700, "user_id": 5, "pm_id": 5, "session_status": -10},
    ],
    "session_attendance_parts": [
        {"session_id": 700, "user_id": 1, "part": 1, "status": 10, "minutes": 180.0},
        {"session_id": 700, "user_id": 2, "part": 1, "status": 0},
        {"session_id": 700, "user_id": 3, "part": 1, "status": 5},
    ],
    "audit_trails": [
        {"event_key": "e1", "action": 3, "initiated_by_user": "Ada Active", "initiated_by_user_email": "ADA@example.com", "impacted_user": "Dan Deleted", "impacted_user_email": "dan@example.com", "date_and_time_utc": ts("2026-05-01 10:00")},
        {"event_key": "e2", "action": 2, "initiated_by_user": "", "impacted_user": "Ben Builder", "impacted_user_email": "ben@example.com", "impacted_data": "Fire Safety", "date_and_time_utc": ts("2026-06-02 11:00")},
        {"event_key": "e3", "action": 99, "initiated_by_user": "Ada Active", "initiated_by_user_email": "ada@example.com", "date_and_time_utc": ts("2026-06-03 12:00")},
        {"event_key": "e4", "action": 11, "initiated_by_user": "Ada Active", "initiated_by_user_email": "ada@example.com", "impacted_data": "Old group", "date_and_time_utc": ts("2026-06-20 12:00")},
    ],
    "leaderboard_snapshots": [
        {"snapshot_date": "2026-06-13", "user_id": 1, "login": "ada", "name": "Ada Active", "position": 2, "total_points": 100, "total_badges": 1, "taken_at": ts("2026-06-13 06:00")},
        {"snapshot_date": "2026-06-13", "user_id": 2, "login": "ben", "name": "Ben Builder", "position": 1, "total_points": 150, "total_badges": 2, "taken_at": ts("2026-06-13 06:00")},
        {"snapshot_date": "2026-06-14", "user_id": 1, "login": "ada", "name": "Ada Active", "position": 2, "total_points": 120, "total_badges": 1, "taken_at": ts("2026-06-14 06:00")},
        {"snapshot_date": "2026-06-14", "user_id": 1, "login": "ada", "name": "Ada Active", "position": 1, "total_points": 160, "total_badges": 1, "taken_at": ts("2026-06-14 18:00")},
        {"snapshot_date": "2026-06-14", "user_id": 2, "login": "ben", "name": "Ben Builder", "position": 2, "total_points": 150, "total_badges": 2, "taken_at": ts("2026-06-14 18:00")},
        {"snapshot_date": "2026-06-16", "user_id": 1, "login": "ada", "name": "Ada Active", "position": 1, "total_points": 200, "total_badges": 1, "taken_at": ts("2026-06-16 06:00")},
    ],
    "audit_gaps": [],
    # the realm acme's top-level portal lists: emea (over its licences since LOAD_2), apac, old (gone at LOAD_2),
    # free (no licences purchased)
    "portals": [
        {"portal": "acme", "id": 12871, "title": "EMEA", "subdomain": "emea", "number_of_members": 90, "number_licenses_purchased": 100, "number_licenses_used": 80, "_dlt_valid_from": LOAD_1_AT, "_dlt_valid_to": LOAD_2_AT},
        {"portal": "acme", "id": 12871, "title": "EMEA", "subdomain": "emea", "number_of_members": 120, "number_licenses_purchased": 100, "number_licenses_used": 110, "_dlt_valid_from": LOAD_2_AT},
        {"portal": "acme", "id": 12872, "title": "APAC", "subdomain": "apac", "number_of_members": 25, "number_licenses_purchased": 50, "number_licenses_used": 20, "_dlt_valid_from": LOAD_1_AT},
        {"portal": "acme", "id": 12873, "title": "Old", "subdomain": "old", "number_of_members": 10, "number_licenses_purchased": 10, "number_licenses_used": 10, "_dlt_valid_from": LOAD_1_AT, "_dlt_valid_to": LOAD_2_AT},
        {"portal": "acme", "id": 12874, "title": "Free", "subdomain": "free", "number_of_members": 3, "number_licenses_purchased": 0, "number_licenses_used": 3, "_dlt_valid_from": LOAD_2_AT},
    ],
    "pipeline_runs": [
        {"run_id": "r1", "status": "succeeded", "started_at": ts("2026-06-15 01:00"), "finished_at": ts("2026-06-15 01:05"), "api_calls": 42},
    ],
}

def _columns(table: str) -> dict[str, str]:
    columns = {"portal": "varchar", **{name: KINDS[kind] for name, kind in spec(table).items()}}
    columns["_dlt_load_id"] = "varchar"
    columns["_dlt_id"] = "varchar"
    if table in SCD2_TABLES:
        columns["_dlt_valid_from"] = "timestamptz"
        columns["_dlt_valid_to"] = "timestamptz"
    return columns


def _insert(con: duckdb.DuckDBPyConnection, relation: str, table: str, rows: list[dict[str, Any]]) -> None:
    columns = _columns(table)
    con.execute(f"create table {relation} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    names = list(columns)
    for i, row in enumerate(rows):
        values = [row.get(c) for c in names]
        values[names.index("_dlt_id")] = f"{table}-{i}"
        con.execute(f"insert into {relation} values ({', '.join('?' for _ in names)})", values)


def _versions(table: str, rows: list[dict[str, Any]], load_id: str, portal: str = PORTAL) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        if row.get("portal", portal) != portal:  # a row of one portal (the realm's listing is its top-level portal's)
            continue
        row = dict(row)
        retired = row.pop("retired", False)
        row.setdefault("portal", portal)
        row.setdefault("_dlt_load_id", load_id)
        if table in SCD2_TABLES:
            row["_dlt_valid_from"] = LOAD_1_AT
            row["_dlt_valid_to"] = LOAD_2_AT if retired else None
        out.append(row)
    return out


def make_duckdb_warehouse(out_dir: Path, skip: tuple[str, ...] = (), portals: tuple[str, ...] = (PORTAL,)) -> Path:
    """A DuckDB warehouse as dlt leaves it: merged tables, SCD2 history with retired versions. portals: each
    holds the story's rows, ids and all (ids repeat across a realm's portals)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema learnupon")
        for table, rows in TABLES.items():
            if table not in skip:
                _insert(con, f"learnupon.{table}", table, [v for p in portals for v in _versions(table, rows, LOAD_2, p)])
    return path

