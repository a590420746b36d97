"""A page converts to Arrow in one pass when it is clean, column by column when not: the same table either way."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pytest

from pipelines.learnupon import schema
from pipelines.learnupon.arrow import IssueLog, convert_at_once, convert_by_column, to_arrow

SPEC = {"id": "int", "name": "text", "score": "float", "active": "bool", "seen_at": "timestamp", "extra": "json"}


def clean(i: int) -> dict:
    return {"id": i, "name": f"n{i}", "score": i / 2, "active": i % 2 == 0, "seen_at": "2026-01-02T03:04:05Z", "extra": None}


PAGES = {
    "clean": [clean(i) for i in range(1, 6)],
    "ints in a float column": [{**clean(i), "score": i} for i in range(1, 4)],
    "missing keys and nulls": [{"id": 1}, {"id": 2, "name": None, "seen_at": None}],
    "dates without a time": [{**clean(1), "seen_at": "2026-01-02"}, {**clean(2), "seen_at": "2026-01-03T00:00:00Z"}],
    "timestamps in every documented form": [
        {**clean(1), "seen_at": "2021-01-19 09:00:00 UTC"},
        {**clean(2), "seen_at": "2024-04-17T20:14:24.272Z"},
        {**clean(3), "seen_at": "2024-04-17T22:14:24+02:00"},
    ],
    "string booleans": [{**clean(1), "active": "true"}, {**clean(2), "active": "False"}],
    "numbers as text": [{**clean(1), "id": "7", "score": "1.5"}],
    "a number in a text column": [{**clean(1), "name": 12}],
    "json values": [{**clean(1), "extra": {"a": [1, 2]}}, {**clean(2), "extra": [3]}, {**clean(3), "extra": "x"}],
    "an unknown key": [{**clean(1), "new_field": {"b": 1}}, clean(2)],
    "an underscore key is not data": [{**clean(1), "_links": "x"}],
    "a record without its key": [clean(1), {**clean(2), "id": None}, {**clean(3), "id": ""}],
    "a key that is not a number": [clean(1), {**clean(2), "id": "abc"}],
    "a bad value": [clean(1), {**clean(2), "score": "lots"}, {**clean(3), "seen_at": "yesterday"}],
    "an integer too large": [{**clean(1), "id": 2**70}, clean(2)],
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_both_conversions_give_the_same_table_and_the_same_reports(name: str) -> None:
    rows = PAGES[name]
    fast_issues, slow_issues = IssueLog(), IssueLog()
    fast = to_arrow(rows, SPEC, table="t", key=["id"], issues=fast_issues)
    slow = convert_by_column(list(rows), SPEC, table="t", key=["id"], issues=slow_issues)
    fields = [f.with_nullable(False) if f.name == "id" else f for f in slow.schema]
    assert fast.equals(slow.cast(pa.schema(fields))), (fast.to_pylist(), slow.to_pylist())
    assert [(i.record_key, i.column, i.problem) for i in fast_issues.issues] == [
        (i.record_key, i.column, i.problem) for i in slow_issues.issues
    ]


def test_a_clean_page_takes_the_one_pass_and_a_messy_one_does_not() -> None:
    issues = IssueLog()
    table = convert_at_once(PAGES["clean"], SPEC, table="t", key=["id"], issues=issues)
    assert table is not None and table.num_rows == 5
    assert table.schema.field("seen_at").type == pa.timestamp("us", tz="UTC")
    assert table["seen_at"][0].as_py() == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    # a date-only column is still one pass for the rest, the column read value by value
    assert convert_at_once(PAGES["dates without a time"], SPEC, table="t", key=["id"], issues=issues) is not None
    for messy in ("string booleans", "an unknown key", "a record without its key", "a number in a text column"):
        assert convert_at_once(PAGES[messy], SPEC, table="t", key=["id"], issues=issues) is None, messy
    assert not issues.issues


def test_extra_columns_and_non_null_keys_as_before() -> None:
    rows = [{"id": 1, "user_id": 2, "course_id": 3, "status": "completed"}]
    table = to_arrow(rows, schema.ENROLLMENTS, table="enrollments", key=["id"], issues=IssueLog(), extra={"snapshot": "x"})
    assert table.column_names == [*schema.ENROLLMENTS, "snapshot"]
    assert not table.schema.field("id").nullable
    assert table.to_pylist()[0]["snapshot"] == "x"
