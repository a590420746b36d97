"""Compare what landed in the warehouse with the simulated portal's ground truth, field by field."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from pipelines.learnupon import schema
from pipelines.learnupon.records import parse_bool, parse_float, parse_int, parse_timestamp

from .conftest import current_users
from .conftest import query as query_warehouse

_NORMALISE = {
    "int": parse_int,
    "float": parse_float,
    "bool": parse_bool,
    "timestamp": parse_timestamp,
    "text": lambda v: v,
}


def normalise(value: Any, kind: str) -> Any:
    if kind == "json" or value is None:
        return value
    return _NORMALISE[kind](value)


def mismatches(
    truth: Iterable[dict[str, Any]],
    loaded: Iterable[dict[str, Any]],
    spec: dict[str, str],
    key: str = "id",
    limit: int = 10,
    history: set[Any] | frozenset[Any] = frozenset(),
) -> list[str]:
    """Every difference between truth and warehouse rows: missing, extra, or a field that differs.

    `history`: keys the warehouse may keep although the portal no longer has them (rows from earlier loads).
    """
    truth_by_key = {parse_int(r[key]): r for r in truth}
    loaded_by_key = {r[key]: r for r in loaded if r[key] in truth_by_key or r[key] not in history}
    problems: list[str] = []
    for missing in sorted(set(truth_by_key) - set(loaded_by_key))[:limit]:
        problems.append(f"missing {key}={missing}")
    for extra in sorted(set(loaded_by_key) - set(truth_by_key))[:limit]:
        problems.append(f"unexpected {key}={extra}")
    for k in sorted(set(truth_by_key) & set(loaded_by_key)):
        t, w = truth_by_key[k], loaded_by_key[k]
        for column, kind in spec.items():
            if column not in t or kind == "json" or column == "row_hash":
                continue
            expected = normalise(t[column], kind)
            actual = w.get(column)
            if kind == "float" and expected is not None and actual is not None:
                same = abs(float(expected) - float(actual)) < 1e-9
            else:
                same = expected == actual
            if not same:
                problems.append(f"{key}={k} {column}: portal {t[column]!r} warehouse {actual!r}")
                if len(problems) >= limit:
                    return problems
    return problems


def assert_matches_truth(out_dir: Any, truth: dict[str, list[dict[str, Any]]], destination: str = "duckdb") -> None:
    """The warehouse equals the portal: users (current), courses (every version), enrollments, custom data."""
    query = partial(query_warehouse, destination=destination)
    problems = mismatches(truth["users"], current_users(out_dir, destination), schema.USERS)
    assert not problems, f"users differ from the portal: {problems}"

    courses = query(out_dir, "select * from learnupon.courses where _dlt_valid_to is null")
    assert not mismatches(truth["courses"], courses, schema.COURSES), mismatches(truth["courses"], courses, schema.COURSES)

    # current enrollments exactly: one deleted upstream stays only as history (_dlt_valid_to set)
    live = query(out_dir, "select * from learnupon.enrollments where _dlt_valid_to is null")
    problems = mismatches(truth["enrollments"], live, schema.ENROLLMENTS)
    assert not problems, f"enrollments differ from the portal: {problems}"

    for table, key in (("users", "id"), ("courses", "id"), ("enrollments", "id")):
        where = " where _dlt_valid_to is null" if table == "users" else ""
        dupes = query(
            out_dir, f"select {key}, count(*) n from learnupon.{table}{where} group by 1 having count(*) > 1 limit 5"
        )
        assert not dupes, f"duplicate keys in {table}: {dupes}"


def tells_current(out_dir: Any, table: str, destination: str = "duckdb") -> bool:
    """Whether the table marks history with `_dlt_valid_to` (pipelines/learnupon/lifecycle.py)."""
    sql = f"select column_name from information_schema.columns where table_schema = 'learnupon' and table_name = '{table}'"
    columns = query_warehouse(out_dir, sql, destination=destination)
    return "_dlt_valid_to" in {c["column_name"] for c in columns}


def custom_data_pairs(truth_users: Iterable[dict[str, Any]]) -> set[tuple[int, int | None, str | None]]:
    """(user_id, definition_id or label, value) from either documented custom-data shape."""
    import orjson

    pairs = set()
    for user in truth_users:
        for item in user.get("customDataFieldValues") or []:
            value = item.get("value")
            text = value if value is None or isinstance(value, str) else orjson.dumps(value).decode()
            pairs.add((parse_int(user["id"]), parse_int(item.get("definition_id")), text))
    return pairs


def _keys(rows: Iterable[dict[str, Any]], *names: str) -> set[tuple]:
    return {tuple(parse_int(r[n]) if isinstance(r[n], (int, str)) and str(r[n]).lstrip("-").isdigit() else r[n] for n in names) for r in rows}


def assert_coverage_matches_truth(out_dir: Any, truth: dict[str, list[dict[str, Any]]], destination: str = "duckdb") -> None:
    """Every other resource equals the portal too: same keys, and field by field where the shapes are flat."""
    query = partial(query_warehouse, destination=destination)
    flat = [
        ("groups", "groups", schema.GROUPS, "id"),
        ("group_courses", "group_courses", schema.GROUP_COURSES, "id"),
        ("group_managers", "group_managers", schema.GROUP_MANAGERS, "id"),
        ("course_instructors", "course_instructors", schema.COURSE_INSTRUCTORS, "id"),
        ("learning_paths", "learning_paths", schema.LEARNING_PATHS, "id"),
        ("learning_path_enrollments", "learning_path_enrollments", schema.LEARNING_PATH_ENROLLMENTS, "id"),
        ("exam_enrollments", "exam_enrollments", schema.EXAM_ENROLLMENTS, "exam_enrollment_id"),
        ("assignment_answers", "assignment_answers", schema.ASSIGNMENT_ANSWERS, "id"),
        ("markcompletes", "markcompletes", schema.MARKCOMPLETES, "id"),
        ("badges", "badges", schema.BADGES, "id"),
    ]
    for table, truth_key, spec, key in flat:
        rows = query(out_dir, f"select * from learnupon.{table}" + (" where _dlt_valid_to is null" if tells_current(out_dir, table, destination) else ""))
        # tables that keep rows on purpose (learning paths: archived ones are no longer listed) keep
        # them as rows last written by an earlier load; every other table's current rows are exact
        newest = max((r["_dlt_load_id"] for r in rows), default=None)
        history = set() if tells_current(out_dir, table, destination) else {r[key] for r in rows if r["_dlt_load_id"] != newest}
        problems = mismatches(truth[truth_key], rows, spec, key=key, history=history)
        assert not problems, f"{table} differs from the portal: {problems}"

    def same(table: str, sql_keys: str, expected: set[tuple], where: str = "") -> None:
        """Same keys as the portal: current rows exactly, where the table tells them (`_dlt_valid_to is null`)."""
        if tells_current(out_dir, table, destination):
            where = "where _dlt_valid_to is null"
        rows = query(
            out_dir,
            f"select {sql_keys}, max(_dlt_load_id) as last_load, (select max(_dlt_load_id) from learnupon.{table}) as newest"
            f" from learnupon.{table} {where} group by {sql_keys}",
        )
        loaded = {tuple(v for k, v in r.items() if k not in ("last_load", "newest")) for r in rows}
        history = set()
        if not tells_current(out_dir, table, destination):  # sessions, ILTs, snapshots: rows from earlier loads may stay
            history = {tuple(v for k, v in r.items() if k not in ("last_load", "newest")) for r in rows if r["last_load"] != r["newest"]}
        missing, unexpected = expected - loaded, loaded - expected - history
        assert not missing and not unexpected, f"{table}: missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"

    same("group_memberships", "group_id, user_id", _keys(truth["group_memberships"], "group_id", "user_id"))
    same("learning_path_courses", "learning_path_id, course_id", _keys(truth["learning_path_courses"], "lp_id", "id"))
    same("modules", "id", _keys(truth["modules"], "id"))
    same("exams", "exam_id", _keys(truth["exams"], "exam_id"))
    same("exam_questions", "exam_id, question_id", _keys(truth["exam_questions"], "exam_id", "question_id"))
    options = {(parse_int(q["question_id"]), parse_int(a["answer_id"])) for q in truth["exam_questions"] for a in q.get("answers") or []}
    options |= {(parse_int(o["question_id"]), parse_int(o["answer_id"])) for o in truth.get("exam_question_rating_options", ())}
    same("exam_question_options", "question_id, answer_id", options)
    answered = {(parse_int(a["exam_enrollment_id"]), parse_int(q["question_id"])) for a in truth["exam_answers"] for q in a.get("questions") or []}
    same("exam_answers", "exam_enrollment_id, question_id", answered)
    same("sessions", "session_id", _keys(truth["sessions"], "session_id"))
    same("session_attendance", "session_id, user_id", _keys(truth["session_attendance"], "session_id", "user_id"))
    same("locations", "id", _keys(truth["locations"], "id"))
    same("timezones", "id", _keys(truth["timezones"], "id"))
    same("certifications", "guid", _keys(truth["certifications"], "guid"))
    ilts = query(out_dir, "select count(*) as n from learnupon.ilt_sessions")[0]["n"]
    assert ilts == len(truth["ilt_sessions"]), (ilts, len(truth["ilt_sessions"]))
    latest = "where snapshot_date = (select max(snapshot_date) from learnupon.leaderboard_snapshots)"
    same("leaderboard_snapshots", "user_id, position", _keys(truth["leaderboard"], "user_id", "position"), latest)
    # audit events have no id: every event the portal still serves is in the warehouse, once
    loaded = query(out_dir, "select action, impacted_user_email, date_and_time_utc from learnupon.audit_trails")
    loaded_keys = {(r["action"], r["impacted_user_email"], r["date_and_time_utc"]) for r in loaded}
    for event in truth["audit_trails"]:
        key = (parse_int(event["action"]), event.get("impacted_user_email"), parse_timestamp(event["date_and_time_utc"]))
        assert key in loaded_keys, f"audit event missing: {event}"
    dupes = query(out_dir, "select event_key from learnupon.audit_trails group by 1 having count(*) > 1")
    assert not dupes
