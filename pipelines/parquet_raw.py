"""Raw tables of a Parquet warehouse, as `learnupon.<table>` views the dbt project can read.

dlt's filesystem destination appends every run's rows to Parquet folders; these views present
the same shape as the DuckDB warehouse (newest row per key; SCD2 history with current rows
`_dlt_valid_to` null). The models of a Parquet warehouse are built in `<out>/reports.duckdb`
over these views. Kept apart from the dbt runner on purpose: the destinations issue replaces
this module (do not port it into dbt).
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

log = logging.getLogger("lms_warehouse.models")

RAW_SCHEMA = "learnupon"


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")


# SCD2 tables and the key of one entity (several versions per key over time)
SCD2_KEYS: dict[str, tuple[str, ...]] = {
    "users": ("id",),
    "user_custom_data": ("user_id",),
    "group_memberships": ("group_id", "user_id"),
    "group_courses": ("id",),
    "group_managers": ("id",),
    "course_instructors": ("id",),
    "learning_path_courses": ("learning_path_id", "course_id"),
    "session_instructors": ("session_id", "user_id"),
    "user_awards": ("user_id", "badge_id"),
}

# merge tables and their primary keys: the newest load of a key wins
MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "courses": ("id",),
    "enrollments": ("id",),
    "custom_user_fields": ("id",),
    "groups": ("id",),
    "modules": ("course_id", "id", "session_key"),
    "learning_paths": ("id",),
    "learning_path_enrollments": ("id",),
    "exams": ("exam_id",),
    "exam_questions": ("exam_id", "question_id"),
    "exam_question_options": ("exam_id", "question_id", "answer_id"),
    "exam_enrollments": ("exam_enrollment_id",),
    "exam_answers": ("exam_enrollment_id", "question_id"),
    "assignment_answers": ("id",),
    "markcompletes": ("id",),
    "sessions": ("session_id",),
    "session_attendance": ("session_id", "user_id"),
    "session_attendance_parts": ("session_id", "user_id", "part"),
    "session_attendance_enrollments": ("session_id", "user_id", "enrollment_id"),
    "ilt_sessions": ("ilt_key",),
    "locations": ("id",),
    "timezones": ("id",),
    "badges": ("id",),
    "certifications": ("guid",),
    "audit_trails": ("event_key",),
    "code_lookups": ("code_type", "code"),
}
# any other table (pipeline_runs, data_issues, audit_gaps, leaderboard_snapshots) is append-only:
# every row kept (stg_leaderboard_snapshots keeps the last snapshot of a day)

# dlt names files <load_id>.<file_id>.parquet
_LOAD_ID_FROM_FILE = r"regexp_extract(filename, '([0-9]+(\.[0-9]+)?)\.[^./]+\.parquet$', 1)"


class ParquetRaw:
    """`learnupon.<table>` views over the Parquet folders dlt's filesystem destination writes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def tables(self) -> dict[str, Path]:
        found = {}
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and not folder.name.startswith("_dlt") and any(folder.glob("*.parquet")):
                found[folder.name.lower()] = folder
        return found

    def completed_loads(self, con: duckdb.DuckDBPyConnection) -> list[str] | None:
        """Load ids dlt recorded as complete; None when the record cannot be read (no filter then)."""
        loads = self.root / "_dlt_loads"
        if not loads.is_dir() or not any(loads.iterdir()):
            return None
        try:
            rows = con.execute(
                f"select distinct cast(load_id as varchar) from read_json_auto('{_sql_path(loads)}/*.jsonl')"
                " where status = 0"
            ).fetchall()
        except duckdb.Error as exc:
            log.warning("could not read %s (%s): reading every Parquet file", loads, exc)
            return None
        return [r[0] for r in rows] or None

    def create_views(self, con: duckdb.DuckDBPyConnection) -> set[str]:
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        completed = self.completed_loads(con)
        tables = self.tables()
        for name, folder in tables.items():
            con.execute(f"create or replace view {RAW_SCHEMA}.{name} as\n{self.view_sql(con, name, folder, completed)}")
        return set(tables)

    def view_sql(
        self, con: duckdb.DuckDBPyConnection, table: str, folder: Path, completed: list[str] | None
    ) -> str:
        files = f"read_parquet('{_sql_path(folder)}/*.parquet', union_by_name = true, filename = true)"
        columns = [r[0] for r in con.execute(f"describe select * from {files}").fetchall()]
        load_id = (
            f"coalesce(cast(_dlt_load_id as varchar), {_LOAD_ID_FROM_FILE})"
            if "_dlt_load_id" in columns
            else _LOAD_ID_FROM_FILE
        )
        drop = [c for c in ("filename", "_dlt_load_id", "_dlt_valid_from", "_dlt_valid_to") if c in columns]
        if table not in SCD2_KEYS:
            drop = [c for c in drop if c not in ("_dlt_valid_from", "_dlt_valid_to")]
        exclude = f" exclude ({', '.join(drop)})" if drop else ""
        where = ""
        if completed:
            ids = ", ".join("'" + c.replace("'", "''") + "'" for c in completed)
            where = f"\n    where _dlt_load_id in ({ids})"
        raw = (
            f"with files as (\n    select *{exclude}, {load_id} as _dlt_load_id\n    from {files}\n),\n"
            f"loaded as (\n    select * from files{where}\n)"
        )
        if table in SCD2_KEYS:
            return raw + "\n" + _scd2_select(SCD2_KEYS[table], has_row_hash="row_hash" in columns)
        if table in MERGE_KEYS and all(k in columns for k in MERGE_KEYS[table]):
            keys = ", ".join(MERGE_KEYS[table])
            return (
                raw
                + f",\nranked as (\n    select *, row_number() over (partition by {keys}"
                " order by try_cast(_dlt_load_id as double) desc) as _row_rank\n    from loaded\n)\n"
                "select * exclude (_row_rank) from ranked where _row_rank = 1"
            )
        return raw + "\nselect * from loaded"


def _scd2_select(keys: tuple[str, ...], has_row_hash: bool) -> str:
    """SCD2 history from appended full listings.

    A version (key + row_hash) is valid from the first load that carried it until the load
    after the last one that did; versions in the table's newest load are current
    (_dlt_valid_to null), as dlt's SCD2 merge leaves them in DuckDB.
    """
    version = ", ".join(keys + (("row_hash",) if has_row_hash else ()))
    return f""",
loads as (
    select
        _dlt_load_id,
        lead(_dlt_load_id) over (order by try_cast(_dlt_load_id as double)) as next_load_id,
    from (select distinct _dlt_load_id from loaded)
),
versions as (
    select
        *,
        min(try_cast(_dlt_load_id as double)) over (partition by {version}) as _first_load,
        row_number() over (partition by {version} order by try_cast(_dlt_load_id as double) desc) as _row_rank,
    from loaded
)
select
    versions.* exclude (_first_load, _row_rank),
    to_timestamp(versions._first_load) as _dlt_valid_from,
    to_timestamp(try_cast(loads.next_load_id as double)) as _dlt_valid_to,
from versions
inner join loads on loads._dlt_load_id = versions._dlt_load_id
where versions._row_rank = 1"""
