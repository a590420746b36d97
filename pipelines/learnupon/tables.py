"""The table registry: every raw table the source writes, declared once.

Each `Table` says which resource writes it, the endpoint its rows come from, its columns
(schema.py's spec), its primary key and write disposition, how it loses rows (the lifecycle
rule, lifecycle.py) and what it holds. Everything else derives from it: the resources' dlt
hints (`hints`, `child_hints`) and Arrow conversions (`to_table`), the lifecycle rules
(`LIFECYCLES`), the contract-drift specs (`TABLE_SPECS`, `TABLE_ENDPOINTS`), the resources and
their order (`ALL_RESOURCES`), Dagster's assets and key checks (`TABLE_RESOURCES`, `unique_key`),
the resources Dagster loads hourly (`CHANGES_ALL_DAY`) and dbt's sources
(`sql/models/staging/_learnupon__sources.yml`, written with the data dictionary by
`python -m pipelines.dictionary` and checked by the tests). Adding a table, or a column to every table, is one edit here.

A resource's own table is the entry named after it; the other tables a resource writes (child
tables) get their rows with `resources.common.child_table`, which marks them with their hints.

The schema is stable: the first run that completes a resource creates every table of that
resource, empty when the portal has none of its rows (`empty_tables`), so a reader's query on
`sessions` works on a portal without live learning. dlt creates a table from an empty Arrow
table with its columns and types (declared columns without a row create nothing), and does so
only once: a table that has seen data is not written again, so an empty SCD2 table never reads
as "every row vanished".
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import schema
from .lifecycle import LISTING_SCOPES, LISTING_SCOPES_COLUMNS, VALID_TO, Lifecycle, Owner
from .personal_data import DIRECT, FREE_TEXT, QUASI, column_classes
from .settings import (
    AUDIT_TRAILS_PATH,
    COURSES_PATH,
    CUSTOM_USER_FIELDS_PATH,
    ENROLLMENTS_SEARCH_PATH,
    GROUP_MEMBERSHIPS_PATH,
    ILTS_SEARCH_PATH,
    LEADERBOARD_PATH,
    LEARNING_PATHS_PATH,
    LISTINGS,
    LP_ENROLLMENTS_SEARCH_PATH,
    MODULES_PATH,
    PORTALS_PATH,
    SESSIONS_SEARCH_PATH,
    USERS_PATH,
)

# SCD2 with our own row hash: Arrow tables carry no `_dlt_id` hash of their own
SCD2 = {"disposition": "merge", "strategy": "scd2", "row_version_column_name": "row_hash"}
# incremental searches: a re-read replaces the rows it names; the load holds no duplicate keys, so dlt
# skips its ROW_NUMBER pass over the staged rows (seconds and memory on a first load of a million rows)
DELETE_INSERT_DEDUPLICATED = {"disposition": "merge", "strategy": "delete-insert", "deduplicated": True}


# the configured portal a row came from (pipelines/config.py names portals): a column of every raw table, the first
# column of every key, merge key and SCD2 identity, so that ids repeating across portals never collide and a run
# retires only its own portal's rows. Declared here once (`portal_scoped`), added to every item by `with_portal`
PORTAL = "portal"
ROW_HASH = "row_hash"  # SCD2's row version (the SCD2 hint above): it carries the portal too

# the raw tables other layers read by name (the deletion facts, the user sync, Dagster's checks and
# schedules, the benchmark) ask the registry for their names rather than spell them
USERS = "users"
CUSTOM_USER_FIELDS = "custom_user_fields"
GROUPS = "groups"
GROUP_MEMBERSHIPS = "group_memberships"
COURSES = "courses"
COURSE_INSTRUCTORS = "course_instructors"
ENROLLMENTS = "enrollments"
LEARNING_PATH_ENROLLMENTS = "learning_path_enrollments"
AUDIT_TRAILS = "audit_trails"
AUDIT_GAPS = "audit_gaps"
SESSIONS = "sessions"
SESSION_ATTENDANCE = "session_attendance"
PORTALS = "portals"
EXAM_ANSWER_FETCHES = "exam_answer_fetches"


@dataclass(frozen=True)
class Table:
    name: str
    resource: str  # the resource that writes it ("": every resource that lists something whole)
    endpoint: str | None  # "GET /path" its rows come from; None: the pipeline's own bookkeeping
    columns: dict[str, str]
    primary_key: tuple[str, ...]
    write_disposition: Any
    description: str  # one line, for dbt's sources (and so for `dbt docs`)
    # how a row disappears besides SCD2 (lifecycle.py): "listed" | "signalled"; None: never, or on purpose
    retired: str | None = None
    scope: str | None = None  # the column a partial listing is complete for; None: the whole table
    owners: tuple[Owner, ...] = ()  # rows retired with their owner's row
    merge_key: str | tuple[str, ...] | None = None  # the registry makes it a tuple, the portal first
    required: tuple[str, ...] | None = None  # columns a row must have (Arrow drops it otherwise); default: the key
    unique: tuple[str, ...] | None = None  # the key checked unique (among current rows); default: the key
    changes_all_day: bool = False  # a resource's own table: Dagster loads it hourly, not only daily
    # personal-data class -> its columns (personal_data.py says what each class means); every other column: none.
    # A name the spec does not type is a field the reference documents that lands as a text column all the same
    personal: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def scd2(self) -> bool:
        return self.write_disposition == SCD2

    @property
    def row_key(self) -> tuple[str, ...]:
        return self.primary_key if self.required is None else self.required

    @property
    def unique_key(self) -> tuple[str, ...]:
        return self.primary_key if self.unique is None else self.unique

    @property
    def personal_data(self) -> dict[str, str]:
        """Each column's personal-data class: the spec's columns, then the untyped fields `personal` names."""
        return column_classes(self.columns, self.personal)

    @property
    def lifecycle(self) -> Lifecycle | None:
        how = "scd2" if self.scd2 else self.retired
        return None if how is None else Lifecycle(self.name, how, self.scope, self.owners)


USER = Owner("user_id", "users")
PERSON = ("first_name", "last_name", "email", "username")
# a module's creator and (live learning) tutor: fields the reference documents that the spec leaves untyped
MODULE_PEOPLE = tuple(f"{role}_{name}" for role in ("creator", "tutor") for name in PERSON)
_PATHS = {listing.resource: listing.path for listing in LISTINGS}


def _listed(name: str) -> str:
    return f"GET {_PATHS[name]}"


# in the source's order (resources run one after another; a list one fetched is reused by those after it),
# each resource's own table first
_TABLES: tuple[Table, ...] = (
    Table(
        USERS, USERS, f"GET {USERS_PATH}", schema.USERS, ("id",), SCD2,
        "Users, SCD2 (every version kept; a deleted user has no current version).",
        personal={DIRECT: (*PERSON, "display_name", "sf_contact_id", "sf_user_id"), QUASI: ("id", "locale", "timezone_id")},
    ),
    Table(
        "user_custom_data", USERS, f"GET {USERS_PATH}", schema.USER_CUSTOM_DATA, ("row_hash",), SCD2,
        "Each user's custom user data, one row per user and field (SCD2).",
        owners=(USER,), required=("user_id",),
        unique=("user_id", "definition_id"),  # a current row is one (user, field definition)
        personal={QUASI: ("user_id", "value")},
    ),
    Table(
        CUSTOM_USER_FIELDS, USERS, f"GET {CUSTOM_USER_FIELDS_PATH}", schema.CUSTOM_USER_FIELDS, ("id",), "merge",
        "The portal's custom user field definitions (label, type, choice values).",
        retired="listed",
    ),
    Table(GROUPS, GROUPS, _listed(GROUPS), schema.GROUPS, ("id",), "merge", "Groups on the portal.", retired="listed"),
    Table(
        GROUP_MEMBERSHIPS, GROUP_MEMBERSHIPS, f"GET {GROUP_MEMBERSHIPS_PATH}", schema.GROUP_MEMBERSHIPS,
        ("group_id", "user_id"), SCD2, "Which users belong to which group (SCD2; removed memberships retired).",
        owners=(USER,),
        personal={DIRECT: PERSON, QUASI: ("user_id", "membership_id")},
    ),
    Table(
        "group_courses", "group_courses", _listed("group_courses"), schema.GROUP_COURSES, ("id",), SCD2,
        "Courses a group makes required for its members (SCD2).",
    ),
    Table(
        "group_managers", "group_managers", _listed("group_managers"), schema.GROUP_MANAGERS, ("id",), SCD2,
        "Which manager users manage which group (SCD2).", owners=(USER,),
        personal={DIRECT: PERSON, QUASI: ("user_id",)},
    ),
    Table(
        COURSES, COURSES, f"GET {COURSES_PATH}", schema.COURSES, ("id",), "merge",
        "Every version of every course (each version its own id; source_id ties them).", retired="listed",
        personal={DIRECT: ("owner_first_name", "owner_last_name", "owner_email"), QUASI: ("owner_id",)},
    ),
    Table(
        "course_instructors", "course_instructors", _listed("course_instructors"), schema.COURSE_INSTRUCTORS, ("id",),
        SCD2, "Which users instruct which course (SCD2).",
        personal={DIRECT: PERSON, QUASI: ("user_id",)},  # the instructor's name and email: untyped fields
    ),
    Table(
        "modules", "modules", f"GET {MODULES_PATH}", schema.MODULES, ("course_id", "id", "session_key"), "merge",
        "Modules as placed in a course version; exam modules carry exam_id.",
        retired="listed", scope="course_id", owners=(Owner("course_id", "courses"),),
        personal={DIRECT: MODULE_PEOPLE, QUASI: ("creator_id", "session_tutor_id")},
    ),
    # learning paths are kept: the reference cannot tell an archived path from a deleted one
    Table(
        "learning_paths", "learning_paths", f"GET {LEARNING_PATHS_PATH}", schema.LEARNING_PATHS, ("id",), "merge",
        "Learning paths (kept when the listing no longer shows them: archived paths still count).",
    ),
    # SCD2 scoped to the paths listed now: an archived path, no longer listed, keeps its courses
    Table(
        "learning_path_courses", "learning_paths", f"GET {LEARNING_PATHS_PATH}", schema.LEARNING_PATH_COURSES,
        ("learning_path_id", "course_id"), SCD2, "The courses of each learning path, in sequence (SCD2).",
        merge_key="learning_path_id",
    ),
    # before the enrollment searches: its "User unenrolled" events tell them whom to re-read
    Table(
        AUDIT_TRAILS, AUDIT_TRAILS, f"GET {AUDIT_TRAILS_PATH}", schema.AUDIT_TRAILS, ("event_key",), "merge",
        "Audit events (the API keeps 30 days).", changes_all_day=True,
        personal={
            DIRECT: ("initiated_by_user", "initiated_by_user_email", "impacted_user", "impacted_user_email"),
            FREE_TEXT: ("impacted_data",),
        },
    ),
    Table(
        AUDIT_GAPS, AUDIT_TRAILS, None, schema.AUDIT_GAPS, ("gap_start", "gap_end"), "append",
        "Windows of audit events lost for good (no load within the API's 30 days).", required=(),
    ),
    Table(
        ENROLLMENTS, ENROLLMENTS, f"GET {ENROLLMENTS_SEARCH_PATH}", schema.ENROLLMENTS, ("id",),
        DELETE_INSERT_DEDUPLICATED, "Course enrollments (a learner on one course version).",
        retired="signalled", owners=(USER, Owner("course_id", "courses")), changes_all_day=True,
        personal={DIRECT: PERSON, QUASI: ("user_id",)},
    ),
    Table(
        LEARNING_PATH_ENROLLMENTS, LEARNING_PATH_ENROLLMENTS, f"GET {LP_ENROLLMENTS_SEARCH_PATH}",
        schema.LEARNING_PATH_ENROLLMENTS, ("id",), DELETE_INSERT_DEDUPLICATED,
        "Learning path enrollments (incremental on updated_at, like course enrollments).",
        retired="signalled", owners=(USER,), changes_all_day=True,
        personal={DIRECT: PERSON, QUASI: ("user_id",)},
    ),
    Table(
        "exams", "exams", "GET /exams/{id}", schema.EXAMS, ("exam_id",), "merge",
        "Exam and survey settings (pass percentage or mark, attempts allowed).", retired="listed", scope="exam_id",
    ),
    Table(
        "exam_questions", "exams", "GET /exams/{id}/questions", schema.EXAM_QUESTIONS, ("exam_id", "question_id"),
        "merge", "Questions of each exam.", retired="listed", scope="exam_id",
    ),
    Table(
        "exam_question_options", "exams", "GET /exams/{id}/questions", schema.EXAM_QUESTION_OPTIONS,
        ("exam_id", "question_id", "answer_id"), "merge", "Answer options of each exam question.",
        retired="listed", scope="exam_id",
    ),
    Table(
        "exam_enrollments", "exam_enrollments", "GET /exams/{id}/enrollments", schema.EXAM_ENROLLMENTS,
        ("exam_enrollment_id",), "merge", "Learner enrollments on exams (status, score, attempts used, time taken).",
        retired="listed", scope="exam_id", owners=(USER,), changes_all_day=True,
        personal={QUASI: ("user_id", "portal_membership_id")},
    ),
    Table(
        "exam_answers", "exam_answers", "GET /exams/{id}/answers/{id}", schema.EXAM_ANSWERS,
        ("exam_enrollment_id", "question_id"), "merge", "Each learner's answer to each exam question.",
        retired="listed", scope="exam_enrollment_id",
        owners=(Owner("exam_enrollment_id", "exam_enrollments", "exam_enrollment_id"),), changes_all_day=True,
        personal={DIRECT: ("user", "email"), FREE_TEXT: ("given_answer", "given_answers_json")},
    ),
    Table(
        EXAM_ANSWER_FETCHES, "exam_answers", None, schema.EXAM_ANSWER_FETCHES, ("exam_enrollment_id",), "merge",
        "Whose exam answers were fetched, at which fingerprint of the exam enrollment.",
    ),
    Table(
        "assignment_answers", "assignment_answers", "GET /assignments/{id}/answers", schema.ASSIGNMENT_ANSWERS, ("id",),
        "merge", "Learners' answers to assignments, with their review.",
        retired="listed", scope="assignment_id", owners=(USER,),
        personal={FREE_TEXT: ("answer", "feedback"), QUASI: ("user_id", "reviewed_by_user_id", "rejected_by_user_id")},
    ),
    Table(
        "markcompletes", "markcompletes", _listed("markcompletes"), schema.MARKCOMPLETES, ("id",), "merge",
        "Enrollments marked complete by hand.", retired="listed",
        personal={FREE_TEXT: ("notes",), QUASI: ("user_id",)},
    ),
    # sessions and legacy ILTs are kept: a cancelled session keeps its status
    Table(
        SESSIONS, SESSIONS, f"GET {SESSIONS_SEARCH_PATH}", schema.SESSIONS, ("session_id",), "merge",
        "Live-learning sessions.",
        personal={DIRECT: ("instructor_name",)},
    ),
    # SCD2 scoped to the sessions re-read now: only they can retire an instructor
    Table(
        "session_instructors", SESSIONS, "GET /live-learnings/events/{id}/sessions/{id}", schema.SESSION_INSTRUCTORS,
        ("session_id", "user_id"), SCD2, "The instructors of each live-learning session (SCD2).", merge_key="session_id",
        personal={DIRECT: PERSON, QUASI: ("user_id",)},
    ),
    Table(
        SESSION_ATTENDANCE, SESSION_ATTENDANCE, "GET /sessions/{id}/attendance", schema.SESSION_ATTENDANCE,
        ("session_id", "user_id"), "merge", "Registration and status of each learner on each session.",
        retired="listed", scope="session_id", owners=(USER,), changes_all_day=True,
        personal={QUASI: ("user_id", "pm_id")},
    ),
    Table(
        "session_attendance_parts", SESSION_ATTENDANCE, "GET /sessions/{id}/attendance",
        schema.SESSION_ATTENDANCE_PARTS, ("session_id", "user_id", "part"), "merge",
        "Attendance marks per part of a session.", retired="listed", scope="session_id", owners=(USER,),
        personal={QUASI: ("user_id",)},
    ),
    Table(
        "session_attendance_enrollments", SESSION_ATTENDANCE, "GET /sessions/{id}/attendance",
        schema.SESSION_ATTENDANCE_ENROLLMENTS, ("session_id", "user_id", "enrollment_id"), "merge",
        "The course enrollments each session registration belongs to.",
        retired="listed", scope="session_id", owners=(USER,),
        personal={QUASI: ("user_id",)},
    ),
    Table(
        "ilt_sessions", "ilt_sessions", f"GET {ILTS_SEARCH_PATH}", schema.ILT_SESSIONS, ("ilt_key",), "merge",
        "Legacy instructor-led training sessions (no id in the API: ilt_key hashes course, title and start).",
        personal={DIRECT: ("instructor_name",)},
    ),
    Table("locations", "locations", _listed("locations"), schema.LOCATIONS, ("id",), "merge", "Session locations.", retired="listed"),
    Table("timezones", "timezones", _listed("timezones"), schema.TIMEZONES, ("id",), "merge", "Time zones the portal knows.", retired="listed"),
    Table("badges", "badges", _listed("badges"), schema.BADGES, ("id",), "merge", "Badges learners can earn.", retired="listed", personal={QUASI: ("created_by", "updated_by")}),
    Table(
        "certifications", "certifications", _listed("certifications"), schema.CERTIFICATIONS, ("guid",), "merge",
        "Certificates the portal awards.", retired="listed",
    ),
    Table(
        "user_awards", "user_awards", "GET /users/{id}", schema.USER_AWARDS, ("user_id", "badge_id"), SCD2,
        "The badges each user holds (SCD2).", owners=(USER,), merge_key="user_id",
        personal={QUASI: ("user_id",)},
    ),
    # appended daily, so history accumulates (a day's snapshot taken again replaces that day's)
    Table(
        "leaderboard_snapshots", "leaderboard_snapshots", f"GET {LEADERBOARD_PATH}", schema.LEADERBOARD_SNAPSHOTS,
        ("snapshot_date", "user_id"), {"disposition": "merge", "strategy": "delete-insert"},
        "The leaderboard as each day's load saw it.", merge_key="snapshot_date",
        personal={DIRECT: ("login", "name"), QUASI: ("user_id",)},
    ),
    # read from a top-level portal only (the `top_level` setting); SCD2, so licence use has a history
    Table(
        PORTALS, PORTALS, f"GET {PORTALS_PATH}", schema.PORTALS, ("id",), SCD2,
        "The realm's sub-portals as the top-level portal lists them: members, licences purchased and used (SCD2:"
        " a version per change).",
    ),
    # written whole each run, from the codes the reference documents (merged: every portal has its copy)
    Table(
        "code_lookups", "code_lookups", None, schema.CODE_LOOKUPS, ("code_type", "code"), "merge",
        "Documented integer codes and their labels.",
    ),
    # written by every resource that lists something whole; appended (the key only keeps the resource's off it)
    Table(
        LISTING_SCOPES, "", None, LISTING_SCOPES_COLUMNS, ("table_name", "run_id"), "append",
        "One row per (table, scope value) a load listed completely: what retirement reads.", required=(),
    ),
)



def portal_scoped(table: Table) -> Table:
    """`table` with the portal first in its key, its unique key and its merge key.

    Rows still need only their own key from the API (`row_key`): the portal is added after conversion
    (`with_portal`). An SCD2 table without a merge key gets the portal as one (dlt's SCD2 then retires
    only versions of the portals in the load), one with a merge key gets it prepended; so does a
    delete-insert merge key (a day's leaderboard replaces only that portal's day).
    """
    merge_key: tuple[str, ...] | None = None
    if table.merge_key:
        merge_key = (PORTAL, table.merge_key) if isinstance(table.merge_key, str) else (PORTAL, *table.merge_key)
    elif table.scd2:
        merge_key = (PORTAL,)
    return replace(
        table,
        primary_key=(PORTAL, *table.primary_key),
        required=table.row_key,
        unique=(PORTAL, *table.unique_key),
        merge_key=merge_key,
    )


_TABLES = tuple(portal_scoped(t) for t in _TABLES)
TABLES: dict[str, Table] = {table.name: table for table in _TABLES}

# the resources, in the order the source runs them
ALL_RESOURCES: tuple[str, ...] = tuple(t.name for t in _TABLES if t.name == t.resource)
# raw table -> the resource that writes it (Dagster wires model assets to resource assets with it)
TABLE_RESOURCES: dict[str, str] = {t.name: t.resource for t in _TABLES if t.resource}
# the tables written from API data: their column specs and endpoints (contract drift is reported per table)
TABLE_SPECS: dict[str, dict[str, str]] = {t.name: t.columns for t in _TABLES if t.endpoint}
TABLE_ENDPOINTS: dict[str, str] = {t.name: t.endpoint for t in _TABLES if t.endpoint}
# how each table tells current rows from history (lifecycle.py states the rule)
LIFECYCLES: dict[str, Lifecycle] = {t.name: lc for t in _TABLES if (lc := t.lifecycle) is not None}
# tables whose `_dlt_valid_to` the pipeline writes itself (dlt writes it in SCD2 tables)
RETIRED_BY_PIPELINE: tuple[str, ...] = tuple(name for name, lc in LIFECYCLES.items() if lc.how != "scd2")
# the resources whose data changes all day (Dagster loads them hourly; the daily run loads everything)
CHANGES_ALL_DAY: tuple[str, ...] = tuple(t.name for t in _TABLES if t.changes_all_day)

# tables whose retired rows the pipeline marks carry `_dlt_valid_to` (NULL: current), like SCD2 tables
for _name in RETIRED_BY_PIPELINE:
    TABLES[_name].columns[VALID_TO] = "timestamp"

# raw table -> column -> personal-data class (the pseudonymised reporting and the load's column policy read it)
PERSONAL_DATA: dict[str, dict[str, str]] = {t.name: t.personal_data for t in _TABLES}


def own_columns(resource: str) -> dict[str, str]:
    return TABLES[resource].columns


def child_tables(resource: str) -> list[Table]:
    """The tables `resource` writes besides its own."""
    return [t for t in _TABLES if t.resource == resource and t.name != resource]


def hints(resource: str) -> dict[str, Any]:
    """The `dlt.resource` arguments of the resource writing its own table `resource`."""
    table = TABLES[resource]
    return {
        "name": table.name,
        "write_disposition": table.write_disposition,
        "primary_key": list(table.primary_key) or None,
        "merge_key": list(table.merge_key or ()) or None,
    }


def child_hints(name: str) -> dict[str, Any]:
    """dlt hints that send an item to the child table `name` (each states its key, or it would inherit the resource's)."""
    table = TABLES[name]
    return {
        "table_name": name,
        "write_disposition": table.write_disposition,
        "primary_key": list(table.primary_key),
        "merge_key": list(table.merge_key or ()) or None,
    }


def to_table(name: str, records: Any, issues: Any) -> Any:
    """`records` as the typed Arrow table of raw table `name` (rows without its key columns are dropped and reported)."""
    from ..privacy.load_columns import active
    from .arrow import to_arrow

    table = TABLES[name]
    records = active().apply(name, records, issues.portal)  # columns blocked, hashed or erased: before anything sees them
    return to_arrow(records, table.columns, table=name, key=list(table.row_key), issues=issues)


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
    for child in child_tables(resource):
        if unseen(child.name):
            table = to_arrow([], child.columns, table=child.name, key=list(child.row_key), issues=issues)
            hinted = dlt.mark.make_hints(**child_hints(child.name))
            items.append(dlt.mark.with_hints(table, hinted, create_table_variant=True))
    return items


def with_portal(item: Any, portal: str) -> Any:
    """An Arrow table a resource yields, with the `portal` column first and the portal in its SCD2 row hash
    (identical records of two portals are two versions, never one). Other items pass unchanged."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(item, pa.Table) or PORTAL in item.column_names:
        return item
    if ROW_HASH in item.column_names:
        index = item.column_names.index(ROW_HASH)
        prefixed = pc.binary_join_element_wise(pa.scalar(portal), item[ROW_HASH], ":")
        item = item.set_column(index, item.schema.field(index), prefixed)
    column = pa.array([portal] * item.num_rows, type=pa.string())
    return item.add_column(0, pa.field(PORTAL, pa.string(), nullable=False), column)


def portal_row_hash(portal_sql: str, row_hash_sql: str) -> str:
    """`with_portal`'s row hash in SQL (the migration of rows written before the portal column)."""
    return f"{portal_sql} || ':' || {row_hash_sql}"


def item_table(item: Any, resource: str) -> str:
    """The table an item a resource yields goes to: its own hints' table, else the resource's."""
    hints = getattr(getattr(item, "meta", None), "hints", None) or {}
    return hints.get("table_name") or resource


# ---- dbt's sources, generated ------------------------------------------------------------------------

SOURCES_YML = Path(__file__).resolve().parents[2] / "sql" / "models" / "staging" / "_learnupon__sources.yml"
SOURCES_HEADER = """\
# Generated from the table registry (pipelines/learnupon/tables.py) by `python -m pipelines.dictionary`:
# edit the registry, not this file.
version: 2

sources:
  - name: learnupon
    description: >
      Raw tables dlt loads from the LearnUpon API (pipelines/learnupon/). Each is written by one
      dlt resource; Dagster draws that resource's asset upstream of every model that reads the
      table. A row is current when `_dlt_valid_to` is null (or the table has no such column).
      Every table has `portal` (the configured portal the row came from, never null), the first
      column of its key: ids repeat across portals.
    schema: "{{ var('raw_schema', 'learnupon') }}"
    tables:
"""


def sources_yml() -> str:
    """dbt's source declaration of every raw table a resource writes, with its description."""
    lines = [SOURCES_HEADER.rstrip("\n")]
    for table in _TABLES:
        if table.resource:
            lines += [f"      - name: {table.name}", f"        description: {_yaml_text(table.description)}"]
    return "\n".join(lines) + "\n"


def _yaml_text(text: str) -> str:
    """A one-line YAML scalar: plain when YAML reads it back unchanged, else double-quoted."""
    import yaml

    try:
        if yaml.safe_load(f"k: {text}") == {"k": text}:
            return text
    except yaml.YAMLError:
        pass
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
