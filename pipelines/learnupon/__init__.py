"""The `learnupon` dlt source.

Resources, their tables and how each loads (the README has the full table):
- users -> users (SCD2: a user missing from a complete listing is retired, its
  rows kept, `_dlt_valid_to` = when that was noticed), user_custom_data (SCD2),
  custom_user_fields (merge on id). The API has no change filter for users, so
  every run lists them all.
- courses -> courses (merge on id): every version, drafts and archived included.
- enrollments -> enrollments (merge on id): one search per course, incremental
  on updated_at through `date_from` with a look-back; the first run loads all.

Every resource yields Arrow tables (see arrow.py), so dlt loads Parquet without
its row-by-row normalizer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import dlt
import orjson
import pyarrow as pa
from dlt.sources import DltResource

from . import schema
from .arrow import to_arrow
from .context import ExtractContext, _safe_int
from .fanout import fan_out
from .records import field_definitions, extract_records
from .settings import (
    CUSTOM_USER_FIELDS_KEYS,
    CUSTOM_USER_FIELDS_PATH,
    ENROLLMENTS_KEYS,
    ENROLLMENTS_SEARCH_PATH,
    USERS_KEYS,
    USERS_PATH,
    USERS_VERSION_ID,
)

SCD2 = {"disposition": "merge", "strategy": "scd2", "row_version_column_name": "row_hash"}

ALL_RESOURCES = ("users", "courses", "enrollments")


def _row_hash(record: dict[str, Any]) -> str:
    return hashlib.blake2b(orjson.dumps(record, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


@dlt.source(name="learnupon", max_table_nesting=0)
def learnupon_source(context: ExtractContext) -> list[DltResource]:
    """All LearnUpon resources; pick some with `.with_resources(...)`."""

    @dlt.resource(name="users", write_disposition=SCD2, primary_key="id")
    def users() -> Iterator[Any]:
        client = context.client
        definitions: list[dict[str, Any]] = []
        saw_custom_data = False
        params = {"version_id": USERS_VERSION_ID}
        for page in client.paginate(USERS_PATH, params, record_keys=USERS_KEYS):
            records = page.records
            if not definitions:
                definitions = field_definitions(page.body)
            labels = {str(d.get("label", "")).strip().lower(): _safe_int(d.get("id")) for d in definitions}
            user_rows, custom_rows = [], []
            for record in records:
                user = {k: v for k, v in record.items() if k not in schema.USER_CUSTOM_DATA_KEYS}
                user["row_hash"] = _row_hash(user)
                user_rows.append(user)
                for row in _custom_values(record, labels):
                    saw_custom_data = True
                    row["row_hash"] = _row_hash(row)
                    custom_rows.append(row)
            yield to_arrow(user_rows, schema.USERS, table="users", key=["id"], issues=context.issues)
            if custom_rows:
                table = to_arrow(
                    custom_rows, schema.USER_CUSTOM_DATA, table="user_custom_data", key=["user_id"], issues=context.issues
                )
                yield dlt.mark.with_hints(
                    table,
                    dlt.mark.make_hints(table_name="user_custom_data", write_disposition=SCD2),
                )
            context.progress.update("users", pages=1, rows=len(records))
        if not definitions and saw_custom_data:
            # the listing did not carry the definitions: one call fetches them
            body = client.get_json(CUSTOM_USER_FIELDS_PATH)
            definitions = extract_records(body, CUSTOM_USER_FIELDS_KEYS, "GET /users/customuserdata")
        if definitions:
            table = to_arrow(
                definitions, schema.CUSTOM_USER_FIELDS, table="custom_user_fields", key=["id"], issues=context.issues
            )
            yield dlt.mark.with_hints(
                table,
                dlt.mark.make_hints(table_name="custom_user_fields", write_disposition="merge", primary_key="id"),
            )
        context.progress.done("users")

    @dlt.resource(name="courses", write_disposition="merge", primary_key="id")
    def courses() -> Iterator[pa.Table]:
        records = context.courses()
        for start in range(0, len(records), 1000):
            yield to_arrow(records[start : start + 1000], schema.COURSES, table="courses", key=["id"], issues=context.issues)
        context.progress.done("courses")

    lookback = timedelta(days=context.options.enrollment_lookback_days)

    @dlt.resource(name="enrollments", write_disposition="merge", primary_key="id")
    def enrollments(
        updated_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            "updated_at",
            initial_value=None,
            # keep re-read rows inside the look-back window (plus the day date_from truncates)
            lag=(lookback + timedelta(days=1)).total_seconds(),
        ),
    ) -> Iterator[pa.Table]:
        params: dict[str, Any] = {}
        if updated_at.last_value is not None:
            params["date_from"] = _date_from(updated_at.last_value, lookback)
        elif context.options.initial_date:
            params["date_from"] = context.options.initial_date
        client = context.client

        def search(course_id: int) -> Iterator[pa.Table]:
            query = {"course_id": course_id, **params}
            for page in client.paginate(ENROLLMENTS_SEARCH_PATH, query, record_keys=ENROLLMENTS_KEYS):
                if page.records:
                    context.progress.update("enrollments", pages=1, rows=len(page.records))
                    yield to_arrow(
                        page.records, schema.ENROLLMENTS, table="enrollments", key=["id"], issues=context.issues
                    )
                else:
                    context.progress.update("enrollments", pages=1)

        yield from fan_out(context.enrollable_course_ids(), search, context.options.workers)
        context.progress.done("enrollments")

    return [users, courses, enrollments]


def _date_from(last_value: Any, lookback: timedelta) -> str:
    if isinstance(last_value, str):
        from .records import parse_timestamp

        last_value = parse_timestamp(last_value)
    if last_value.tzinfo is None:
        last_value = last_value.replace(tzinfo=timezone.utc)
    return (last_value.astimezone(timezone.utc) - lookback).date().isoformat()


def _custom_values(record: dict[str, Any], labels: dict[str, int | None]) -> Iterator[dict[str, Any]]:
    """Custom user data as rows, from either documented shape.

    customDataFieldValues: [{"definition_id": 231, "value": "Support"}, ...]
    CustomData: {"department": "Support", ...} keyed by field label
    """
    user_id = record.get("id")
    values = record.get("customDataFieldValues")
    if isinstance(values, list):
        for item in values:
            if isinstance(item, dict):
                yield {
                    "user_id": user_id,
                    "definition_id": item.get("definition_id"),
                    "label": None,
                    "value": _value_text(item.get("value")),
                }
    for key in ("CustomData", "custom_data", "customData"):
        data = record.get(key)
        if isinstance(data, dict):
            for label, value in data.items():
                yield {
                    "user_id": user_id,
                    "definition_id": labels.get(str(label).strip().lower()),
                    "label": label,
                    "value": _value_text(value),
                }


def _value_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()
