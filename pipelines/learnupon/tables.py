"""Every raw table the source writes: which resource writes it, its columns and its load hints.

A resource's own table (named after it) takes its hints from the resource's decorator; the
other tables a resource writes (`CHILD_TABLES`) are declared here, once: the resources send
rows to them with `resources.common.child_table`, which reads these hints.

The schema is stable: the first run that completes a resource creates every table of that
resource, empty when the portal has none of its rows (`empty_tables`), so a reader's query on
`sessions` works on a portal without live learning. dlt creates a table from an empty Arrow
table with its columns and types (declared columns without a row create nothing), and does so
only once: a table that has seen data is not written again, so an empty SCD2 table never reads
as "every row vanished".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import schema
from .lifecycle import LISTING_SCOPES, LISTING_SCOPES_COLUMNS

# SCD2 with our own row hash: Arrow tables carry no `_dlt_id` hash of their own
SCD2 = {"disposition": "merge", "strategy": "scd2", "row_version_column_name": "row_hash"}


@dataclass(frozen=True)
class ChildTable:
    resource: str  # the resource that writes it
    columns: dict[str, str]
    write_disposition: Any
    primary_key: tuple[str, ...]
    merge_key: str | None = None


CHILD_TABLES: dict[str, ChildTable] = {
    "user_custom_data": ChildTable("users", schema.USER_CUSTOM_DATA, SCD2, ("row_hash",)),
    "custom_user_fields": ChildTable("users", schema.CUSTOM_USER_FIELDS, "merge", ("id",)),
    # SCD2 scoped to the paths listed now: an archived path, no longer listed, keeps its courses
    "learning_path_courses": ChildTable(
        "learning_paths", schema.LEARNING_PATH_COURSES, SCD2, ("learning_path_id", "course_id"), "learning_path_id"
    ),
    "exam_questions": ChildTable("exams", schema.EXAM_QUESTIONS, "merge", ("exam_id", "question_id")),
    "exam_question_options": ChildTable(
        "exams", schema.EXAM_QUESTION_OPTIONS, "merge", ("exam_id", "question_id", "answer_id")
    ),
    "exam_answer_fetches": ChildTable("exam_answers", schema.EXAM_ANSWER_FETCHES, "merge", ("exam_enrollment_id",)),
    # SCD2 scoped to the sessions re-read now: only they can retire an instructor
    "session_instructors": ChildTable(
        "sessions", schema.SESSION_INSTRUCTORS, SCD2, ("session_id", "user_id"), "session_id"
    ),
    "session_attendance_parts": ChildTable(
        "session_attendance", schema.SESSION_ATTENDANCE_PARTS, "merge", ("session_id", "user_id", "part")
    ),
    "session_attendance_enrollments": ChildTable(
        "session_attendance", schema.SESSION_ATTENDANCE_ENROLLMENTS, "merge", ("session_id", "user_id", "enrollment_id")
    ),
    "audit_gaps": ChildTable("audit_trails", schema.AUDIT_GAPS, "append", ("gap_start", "gap_end")),
    # written by every resource that lists something whole; appended (the key only keeps the resource's off it)
    LISTING_SCOPES: ChildTable("", LISTING_SCOPES_COLUMNS, "append", ("table_name", "run_id")),
}

# a resource's own table's columns, where they are not schema.TABLE_SPECS[resource]
OWN_COLUMNS: dict[str, dict[str, str]] = {"code_lookups": schema.CODE_LOOKUPS}


def own_columns(resource: str) -> dict[str, str]:
    return OWN_COLUMNS.get(resource) or schema.TABLE_SPECS[resource]


def table_resources(resources: tuple[str, ...]) -> dict[str, str]:
    """Raw table -> the resource that writes it, for the source's `resources`."""
    return {
        **{name: name for name in resources},
        **{name: child.resource for name, child in CHILD_TABLES.items() if child.resource},
    }


def child_hints(name: str) -> dict[str, Any]:
    """dlt hints that send an item to the child table `name`."""
    child = CHILD_TABLES[name]
    return {
        "table_name": name,
        "write_disposition": child.write_disposition,
        "primary_key": list(child.primary_key),
        "merge_key": child.merge_key,
    }


def empty_tables(resource: str, written: set[str], source_schema: Any, issues: Any) -> list[Any]:
    """Empty Arrow tables for the tables of `resource` that no run has written yet (see the module's docstring).

    `written`: the tables this run's items already went to. Items for child tables carry their hints.
    """
    import dlt
    from dlt.common.schema.utils import has_table_seen_data

    from .arrow import to_arrow

    def unseen(table: str) -> bool:
        stored = source_schema.tables.get(table) if source_schema is not None else None
        return table not in written and not (stored and has_table_seen_data(stored))

    items: list[Any] = []
    if unseen(resource):
        items.append(to_arrow([], own_columns(resource), table=resource, key=[], issues=issues))
    for name, child in CHILD_TABLES.items():
        if child.resource == resource and unseen(name):
            table = to_arrow([], child.columns, table=name, key=list(child.primary_key), issues=issues)
            items.append(dlt.mark.with_hints(table, dlt.mark.make_hints(**child_hints(name)), create_table_variant=True))
    return items


def item_table(item: Any, resource: str) -> str:
    """The table an item a resource yields goes to: its own hints' table, else the resource's."""
    hints = getattr(getattr(item, "meta", None), "hints", None) or {}
    return hints.get("table_name") or resource
