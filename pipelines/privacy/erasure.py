"""Erasure of people: `lms-warehouse erase --user-id ID` / `--email ADDRESS`, and retention (docs/personal-data.md).

Under the run lock: the people's personal data is replaced in every table of the warehouse, history included
(erasure_sql.py: direct identifiers and other quasi-identifiers become keyed pseudonyms, free text NULL, ids and
facts stay); the erasure is recorded in `erasures` (the user id and keyed pseudonyms of the person's emails,
usernames and full names, never the values); the models are built again (same as-of date), so the marts'
counts do not change; then every copy is rewritten so no byte of the old values remains: the destination
rewrites its files (a DuckDB file copied whole and swapped in, Delta tables rewritten and vacuumed, PostgreSQL
VACUUM FULL), dlt's loaded packages and trace are deleted, and what readers read (the snapshot, the Parquet
folders, the report) is published again from the erased warehouse. Later loads keep the person erased: the
load's column policy (load_columns.py) pseudonymises rows naming an erased id or identifier.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

from ..learnupon.errors import ConfigError
from .erased import ERASURES, erased_people
from .person_columns import full_name, normalised
from .pseudonyms import pseudonym
from .settings import pseudonym_key

log = logging.getLogger("lms_warehouse.erasure")

ERASURES_COLUMNS = {
    "erasure_id": "text",
    "erased_at": "timestamp",
    "reason": "text",  # request | retention
    "user_id": "int",  # NULL: an email no user of the warehouse has
    "identifiers": "json",  # keyed pseudonyms of the person's emails, usernames and full names
    "tables": "json",  # schema.table -> rows changed
    "rows_changed": "int",
}


@dataclass
class Erased:
    """What one erasure did."""

    erasure_id: str
    user_ids: list[int]
    identifiers: int  # distinct emails, usernames and names erased
    tables: dict[str, int] = field(default_factory=dict)
    models_rebuilt: bool = False
    report_rewritten: bool = False


def resolve(warehouse: Any, user_ids: Iterable[int], emails: Iterable[str]) -> tuple[set[int], set[str]]:
    """The ids and identifiers (normalised emails, usernames, full names) of every version of these people."""
    ids, wanted = {int(i) for i in user_ids}, {normalised(e) for e in emails}
    values = set(wanted)
    try:
        with warehouse.backend.raw_connection() as con:
            rows = con.execute(
                f'select id, first_name, last_name, email, username, display_name from "{warehouse.dataset}".users'
            ).fetchall()
    except Exception as exc:
        raise ConfigError(f"no users table to erase from in {warehouse.location}: run the pipeline first") from exc
    for id_, *_rest, email, _username, _display in rows:
        if email and normalised(email) in wanted:
            ids.add(int(id_))
    for id_, first, last, email, username, display in rows:
        if int(id_) in ids:
            values |= {normalised(v) for v in (email, username, display) if v}
            name = full_name(first, last)
            if name:
                values.add(name)
    return ids, {v for v in values if v}


def erase(warehouse: Any, user_ids: Iterable[int] = (), emails: Iterable[str] = (), reason: str = "request",
          locked: bool = False) -> Erased:
    """Erase these people from every copy the warehouse keeps (the module's docstring); `locked`: the caller
    holds the run lock (retention, after a run)."""
    from contextlib import nullcontext

    from ..run.lock import run_lock

    key = pseudonym_key("erase")
    backend = warehouse.backend
    with nullcontext() if locked else run_lock(warehouse.out_dir):
        backend.check_writable("nothing was erased")
        _refuse_pending(warehouse)
        ids, values = resolve(warehouse, user_ids, emails)
        erasure_id = uuid.uuid4().hex
        tables = backend.erase_rows(ids, values, key)
        record_erasures(warehouse, erasure_id, reason, ids, values, tables, key)
        done = Erased(erasure_id, sorted(ids), len(values), tables)
        backend.discard_published()  # what readers read is published again below, from the erased warehouse
        done.models_rebuilt = _rebuild_models(warehouse)
        backend.compact(tables)  # no freed block, old file version or dead tuple keeps an erased value
        remove_loaded_packages(warehouse.pipelines_dir)
        backend.publish_loads()
        done.report_rewritten = _rewrite_report(warehouse)
    return done


def _refuse_pending(warehouse: Any) -> None:
    """A package not yet loaded would bring erased values back: the next run must load it first."""
    root = Path(warehouse.pipelines_dir)
    for stage in ("normalize", "load/normalized", "load/new"):
        for folder in root.glob(f"*/{stage}/*"):
            if folder.is_dir() and any(folder.iterdir()):
                raise ConfigError(
                    f"a load is pending in {root} ({folder.parent.parent.name}): run the pipeline once to finish it, then erase"
                )


def record_erasures(warehouse: Any, erasure_id: str, reason: str, ids: set[int], values: set[str],
                    tables: dict[str, int], key: bytes) -> None:
    """One `erasures` row per user id (one with no id for an email no user has), through dlt (every destination),
    by the pipeline that records the model builds."""
    import dlt
    from dlt.common.schema.typing import C_DLT_LOAD_ID

    from ..models.build_records import RECORDS_PIPELINE

    from ..learnupon.arrow import IssueLog, to_arrow

    now = datetime.now(timezone.utc)
    identifiers = orjson.dumps(sorted(pseudonym(key, v) for v in values)).decode()
    rows = [
        {
            "erasure_id": erasure_id,
            "erased_at": now,
            "reason": reason,
            "user_id": user_id,
            "identifiers": identifiers,
            "tables": orjson.dumps(tables).decode(),
            "rows_changed": sum(tables.values()),
        }
        for user_id in (sorted(ids) or [None])
    ]
    arrow = to_arrow(rows, ERASURES_COLUMNS, table=ERASURES, key=[], issues=IssueLog())
    load_id = {C_DLT_LOAD_ID: {"name": C_DLT_LOAD_ID, "data_type": "text", "nullable": True}}
    resource = dlt.resource([arrow], name=ERASURES, write_disposition="append", columns=load_id)
    warehouse.pipeline(RECORDS_PIPELINE).run(resource, table_format=warehouse.backend.table_format).raise_on_failed_jobs()


def remove_loaded_packages(pipelines_dir: Path) -> None:
    """dlt keeps every loaded package (every row as loaded) and the last run's trace: both go. The state stays
    (cursors and hashes, no personal data); a removed folder is what `rm -rf <out>/.dlt` would do, but safer."""
    for pipeline in Path(pipelines_dir).iterdir() if Path(pipelines_dir).is_dir() else ():
        for package in (pipeline / "load" / "loaded").glob("*"):
            shutil.rmtree(package, ignore_errors=False) if package.is_dir() else package.unlink()
        (pipeline / "trace.pickle").unlink(missing_ok=True)


def last_as_of(warehouse: Any) -> date | None:
    """The as-of date of the last model build, if the models were ever built."""
    from ..models.build_records import MODEL_BUILDS

    try:
        with warehouse.backend.raw_connection() as con:
            row = con.execute(
                f'select as_of from "{warehouse.dataset}"."{MODEL_BUILDS}" order by finished_at desc limit 1'
            ).fetchone()
    except Exception:
        return None
    return date.fromisoformat(str(row[0])[:10]) if row and row[0] else None


def _rebuild_models(warehouse: Any) -> bool:
    """The models built again, as of the last build's date, when they were built (and the pseudonymised ones)."""
    from ..models import build_models
    from ..privacy.reporting import MARTS_SCHEMA

    as_of = last_as_of(warehouse)
    if as_of is None:
        return False
    backend = warehouse.backend
    build_models(warehouse, as_of=as_of)
    relations = backend.relations(backend.models_database) if backend.models_database else set()
    if any(r.startswith(f"{MARTS_SCHEMA}.") for r in relations):
        build_models(warehouse, as_of=as_of, pseudonymised=True)
    return True


def _rewrite_report(warehouse: Any) -> bool:
    """The HTML report (and its pages) written again from the erased marts, if there was one."""
    from ..report import pages_folder, write_report

    output = Path(warehouse.out_dir) / "compliance_report.html"
    if not output.exists():
        return False
    shutil.rmtree(pages_folder(output), ignore_errors=True)
    as_of = last_as_of(warehouse)
    write_report(warehouse, output, as_of=as_of, build=False)
    return True


# ---- retention --------------------------------------------------------------------------------------------

def deleted_users_due(warehouse: Any, days: int) -> list[int]:
    """Users deleted upstream (no current version) more than `days` days ago, not erased yet."""
    cutoff = datetime.now(timezone.utc) - timedelta(days=days)
    erased = erased_people(warehouse).user_ids
    with warehouse.backend.raw_connection() as con:
        rows = con.execute(
            f'select id from "{warehouse.dataset}".users group by id'
            " having count(*) filter (where _dlt_valid_to is null) = 0 and max(_dlt_valid_to) <= ?",
            [cutoff],
        ).fetchall()
    return sorted(int(r[0]) for r in rows if int(r[0]) not in erased)


def apply_retention(warehouse: Any, days: int | None) -> Erased | None:
    """After a run (its lock held): erase the users deleted upstream more than `days` ago (None: retention off)."""
    if days is None:
        return None
    due = deleted_users_due(warehouse, days)
    if not due:
        return None
    log.info("retention: erasing %d user(s) deleted upstream more than %d days ago", len(due), days)
    return erase(warehouse, user_ids=due, reason="retention", locked=True)
