"""The SQL models in sql/: find them, order them, build them into the warehouse.

A model is one file: sql/staging/stg_<entity>.sql becomes a view in schema `staging`,
sql/marts/<mart>.sql a table in schema `reporting`. Dependencies are read from the SQL
itself: `learnupon.<table>` is a raw table, `staging.<model>` / `reporting.<model>` another
model. A model whose raw tables are missing (a run that loaded only some resources) is
skipped with a message, and so is every model that depends on it.

On a Parquet warehouse the raw tables are folders of files that dlt's filesystem destination
appends to on every run; `learnupon.<table>` views over them present the same shape as the
DuckDB warehouse (newest row per key; SCD2 history with current rows `_dlt_valid_to` null),
so the same SQL runs on both. The models are built in `<out>/reports.duckdb` (not
"reporting.duckdb": DuckDB names a file's catalog after it, and a catalog called `reporting`
makes every `reporting.<table>` ambiguous) and every reporting table is also written to
`<out>/reporting/<table>/data.parquet`.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from .learnupon.errors import ConfigError

log = logging.getLogger("lms_warehouse.models")

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
RAW_SCHEMA = "learnupon"
LAYERS = {"staging": "staging", "marts": "reporting"}  # folder -> schema
REPORTS_DB = "reports.duckdb"  # where a Parquet warehouse's models are built, beside parquet/

_REFERENCE = re.compile(r"\b(learnupon|staging|reporting)\s*\.\s*([a-z_][a-z0-9_]*)\b", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*")
_STRING = re.compile(r"'(?:[^']|'')*'")


class ModelError(Exception):
    """A model's SQL failed; the build was rolled back."""


@dataclass(frozen=True)
class Model:
    name: str  # e.g. "stg_users", "compliance_status"
    layer: str  # "staging" or "reporting"
    path: Path
    sql: str
    depends_on: tuple[str, ...]  # other model names, parsed from the SQL
    sources: tuple[str, ...]  # raw learnupon tables it reads, parsed from the SQL

    @property
    def relation(self) -> str:
        return f"{self.layer}.{self.name}"


class BuildResult(dict):
    """Rows per model built (a plain dict to callers), plus why the others were skipped."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped: dict[str, str] = {}
        self.as_of: date | None = None
        self.database: Path | None = None


def references(sql: str) -> list[tuple[str, str]]:
    """(schema, name) pairs the SQL refers to, ignoring comments and string literals."""
    code = _STRING.sub("''", _COMMENT.sub("", sql))
    seen: dict[tuple[str, str], None] = {}
    for schema, name in _REFERENCE.findall(code):
        seen[(schema.lower(), name.lower())] = None
    return list(seen)


def discover_models(sql_dir: Path = SQL_DIR) -> list[Model]:
    """Every model under sql_dir, dependencies before dependents (ties by layer, then name)."""
    found: dict[str, Model] = {}
    for folder, layer in LAYERS.items():
        for path in sorted((Path(sql_dir) / folder).glob("*.sql")):
            sql = path.read_text(encoding="utf-8")
            refs = references(sql)
            name = path.stem
            if name in found:
                raise ValueError(f"two models are named {name}: {found[name].path} and {path}")
            found[name] = Model(
                name=name,
                layer=layer,
                path=path,
                sql=sql,
                depends_on=tuple(sorted({n for s, n in refs if s != RAW_SCHEMA and n != name})),
                sources=tuple(sorted({n for s, n in refs if s == RAW_SCHEMA})),
            )
    for model in found.values():
        for dep in model.depends_on:
            if dep not in found:
                raise ValueError(f"{model.path.name} refers to {dep}, which is not a model in {sql_dir}")
            if f"{found[dep].layer}.{dep}" not in {f"{s}.{n}" for s, n in references(model.sql)}:
                raise ValueError(f"{model.path.name} refers to {dep} in the wrong schema (it is {found[dep].layer})")
    return _topological(found)


def _topological(models: dict[str, Model]) -> list[Model]:
    order = {"staging": 0, "reporting": 1}
    waiting = {name: set(m.depends_on) for name, m in models.items()}
    done: list[Model] = []
    while waiting:
        ready = sorted((n for n, deps in waiting.items() if not deps), key=lambda n: (order[models[n].layer], n))
        if not ready:
            raise ValueError(f"models depend on each other in a cycle: {', '.join(sorted(waiting))}")
        for name in ready:
            done.append(models[name])
            del waiting[name]
        for deps in waiting.values():
            deps.difference_update(ready)
    return done


def build_models(
    warehouse: Any,
    as_of: date | None = None,
    select: Sequence[str] | None = None,
    *,
    sql_dir: Path = SQL_DIR,
    export_parquet: bool | None = None,
) -> dict[str, int]:
    """Build the models into the warehouse; return rows per model built.

    warehouse: pipelines.runner.Warehouse. as_of: the reports' "as of" date (default: today,
    UTC), visible to the SQL as getvariable('as_of'). select: build only these models (their
    dependencies must already exist). Skipped models are logged and listed in `.skipped` of
    the returned dict. export_parquet (default: on for a Parquet warehouse) also writes each
    reporting table to <out>/reporting/<table>/data.parquet.
    """
    models = discover_models(sql_dir)
    names = {m.name for m in models}
    if select is not None:
        unknown = sorted(set(select) - names)
        if unknown:
            raise ConfigError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(sorted(names))}")
    chosen = set(select) if select is not None else names
    as_of = as_of or datetime.now(timezone.utc).date()
    parquet = warehouse.destination == "parquet"
    if export_parquet is None:
        export_parquet = parquet

    result = BuildResult()
    result.as_of = as_of
    db_path = database_path(warehouse)
    _check_raw(warehouse)
    result.database = db_path
    con = duckdb.connect(str(db_path), config=warehouse.models_duckdb_config)  # the one writer for the whole build
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"set variable as_of = date '{as_of.isoformat()}'")
        if parquet:
            raw_tables = ParquetRaw(warehouse.parquet_dir / warehouse.dataset).create_views(con)
        else:
            raw_tables = _tables_in(con, warehouse.dataset)
        existing = _relations(con)
        con.execute("begin transaction")
        try:
            for schema in ("staging", "reporting"):
                con.execute(f"create schema if not exists {schema}")
            for model in models:
                if model.name not in chosen:
                    continue
                reason = _skip_reason(model, raw_tables, result, chosen, existing, models)
                if reason:
                    result.skipped[model.name] = reason
                    log.warning("skipped %s: %s", model.name, reason)
                    continue
                result[model.name] = _build_one(con, model, dataset=None if parquet else warehouse.dataset)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        if export_parquet:
            built = [m for m in models if m.name in result and m.layer == "reporting"]
            export_reporting_parquet(con, built, warehouse.out_dir / "reporting")
    finally:
        con.close()
    return result


def database_path(warehouse: Any) -> Path:
    """The DuckDB file that holds the staging views and reporting tables of this warehouse."""
    if warehouse.destination == "parquet":
        return Path(warehouse.out_dir) / REPORTS_DB
    return Path(warehouse.duckdb_path)


def _check_raw(warehouse: Any) -> None:
    if warehouse.destination == "parquet":
        raw = warehouse.parquet_dir / warehouse.dataset
        if not raw.is_dir():
            raise ConfigError(f"no Parquet warehouse at {raw}: run the pipeline with --destination parquet first")
    elif not warehouse.duckdb_path.exists():
        raise ConfigError(f"no warehouse at {warehouse.duckdb_path}: run the pipeline first")


def _tables_in(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]
    ).fetchall()
    return {r[0].lower() for r in rows}


def _relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()
    return {r[0].lower() for r in rows}


def _skip_reason(
    model: Model,
    raw_tables: set[str],
    result: BuildResult,
    chosen: set[str],
    existing: set[str],
    models: list[Model],
) -> str | None:
    missing = [t for t in model.sources if t not in raw_tables]
    if missing:
        listed = ", ".join(f"{RAW_SCHEMA}.{t}" for t in missing)
        return f"raw table{'s' if len(missing) > 1 else ''} {listed} missing (not loaded yet?)"
    layer_of = {m.name: m.layer for m in models}
    for dep in model.depends_on:
        if dep in result.skipped:
            return f"needs {layer_of[dep]}.{dep}, which was skipped"
        if dep not in chosen and f"{layer_of[dep]}.{dep}" not in existing:
            return f"needs {layer_of[dep]}.{dep}, which has not been built"
    return None


def _build_one(con: duckdb.DuckDBPyConnection, model: Model, dataset: str | None) -> int:
    sql = model.sql.strip().rstrip(";").strip()
    if dataset and dataset.lower() != RAW_SCHEMA:
        # the SQL names the raw schema `learnupon`; a warehouse may use another dataset name
        sql = re.sub(rf"\b{RAW_SCHEMA}\s*\.", f"{dataset}.", sql, flags=re.IGNORECASE)
    kind = "view" if model.layer == "staging" else "table"
    try:
        con.execute(f"create or replace {kind} {model.relation} as\n{sql}\n")
        return con.execute(f"select count(*) from {model.relation}").fetchone()[0]
    except duckdb.Error as exc:
        raise ModelError(f"model {model.name} ({model.path}) failed: {exc}") from exc


def export_reporting_parquet(con: duckdb.DuckDBPyConnection, models: Sequence[Model], root: Path) -> None:
    """Write each reporting table to root/<table>/data.parquet so a reader never sees half a file.

    The file is written in a temporary folder beside the target and renamed into place (a
    rename within one file system is atomic); a first export renames the whole folder.
    """
    root.mkdir(parents=True, exist_ok=True)
    for model in models:
        target = root / model.name
        staging_dir = root / f".tmp-{model.name}-{uuid.uuid4().hex[:8]}"
        staging_dir.mkdir()
        try:
            tmp_file = staging_dir / "data.parquet"
            con.execute(f"copy {model.relation} to '{_sql_path(tmp_file)}' (format parquet)")
            if not target.exists():
                os.rename(staging_dir, target)
                continue
            os.replace(tmp_file, target / "data.parquet")
        finally:
            if staging_dir.exists():
                shutil.rmtree(staging_dir, ignore_errors=True)


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")


# ---- raw tables of a Parquet warehouse ------------------------------------------------------

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
