"""Compare what landed in the warehouse with the simulated portal's ground truth, field by field."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipelines.learnupon import schema
from pipelines.learnupon.records import parse_bool, parse_float, parse_int, parse_timestamp

from .conftest import current_users, query

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
) -> list[str]:
    """Every difference between truth and warehouse rows: missing, extra, or a field that differs."""
    truth_by_key = {parse_int(r[key]): r for r in truth}
    loaded_by_key = {r[key]: r for r in loaded}
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


def assert_matches_truth(out_dir: Path, truth: dict[str, list[dict[str, Any]]]) -> None:
    """The warehouse equals the portal: users (current), courses (every version), enrollments, custom data."""
    problems = mismatches(truth["users"], current_users(out_dir), schema.USERS)
    assert not problems, f"users differ from the portal: {problems}"

    courses = query(out_dir, "select * from learnupon.courses")
    assert not mismatches(truth["courses"], courses, schema.COURSES), mismatches(truth["courses"], courses, schema.COURSES)

    enrollments = query(out_dir, "select * from learnupon.enrollments")
    # enrollments of users deleted since stay in the warehouse as history; the live ones must all match
    deleted = {parse_int(i) for i in truth.get("deleted_enrollment_ids", [])}
    live = [r for r in enrollments if r["id"] not in deleted]
    problems = mismatches(truth["enrollments"], live, schema.ENROLLMENTS)
    assert not problems, f"enrollments differ from the portal: {problems}"

    for table, key in (("users", "id"), ("courses", "id"), ("enrollments", "id")):
        where = " where _dlt_valid_to is null" if table == "users" else ""
        dupes = query(
            out_dir, f"select {key}, count(*) n from learnupon.{table}{where} group by 1 having count(*) > 1 limit 5"
        )
        assert not dupes, f"duplicate keys in {table}: {dupes}"


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
