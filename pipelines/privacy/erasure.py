"""Erasure of people: `lms-warehouse erase --user-id ID` / `--email ADDRESS`, and retention (docs/personal-data.md).

One portal's people at a time (ids repeat across a realm's portals: `--portal`, required when the warehouse
holds several). Under the run lock: the people's personal data is replaced in every table of the warehouse, history included
(erasure_sql.py: direct identifiers and other quasi-identifiers become keyed pseudonyms, free text NULL, ids and
facts stay); the erasure is recorded in `erasures` (the user id and keyed pseudonyms of the person's emails,
usernames and full names, never the values); the models are built again (same as-of date), so the marts'
counts do not change; then every copy is rewritten so no byte of the old values remains: the destination
rewrites its files (a DuckDB file copied whole and swapped in, Delta tables rewritten and vacuumed, PostgreSQL
VACUUM FULL), dlt's loaded packages and trace are deleted, and what readers read (the snapshot, the Parquet
folders, the report) is published again from the erased warehouse. Later loads keep the person erased: the
load's column policy (load_columns.py) pseudonymises rows naming an id or identifier erased in their portal.
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
    "portal": "text",  # the portal the person was erased in (ids repeat across a realm's portals)
    "erasure_id": "text",
    "erased_at": "timestamp",
    "reason": "text",  # request | retention
    "user_id": "int",  # NULL: an email no user of the portal has
    "identifiers": "json",  # keyed pseudonyms of the person's emails, usernames and full names
    "tables": "json",  # schema.table -> rows changed (by the whole erasure)
    "rows_changed": "int",
}

# portal -> (the LearnUpon user ids, their normalised identifiers) of the people to erase in that portal
Targets = dict[str, tuple[set[int], set[str]]]


@dataclass
class Erased:
    """What one erasure did."""

    erasure_id: str
    user_ids: dict[str, list[int]]  # per portal
    identifiers: int  # distinct emails, usernames and names erased
    tables: dict[str, int] = field(default_factory=dict)
    models_rebuilt: bool = False
    report_rewritten: bool = False


def warehouse_portals(warehouse: Any) -> list[str]:
    """The portals the warehouse's users table holds."""
    from ..learnupon.tables import PORTAL, USERS

    try:
        with warehouse.backend.raw_connection() as con:
            rows = con.execute(f'select distinct "{PORTAL}" from "{warehouse.dataset}"."{USERS}"').fetchall()
    except Exception as exc:
        raise ConfigError(f"no users table to erase from in {warehouse.location}: run the pipeline first") from exc
    return sorted(str(r[0]) for r in rows)


def chosen_portal(warehouse: Any, portal: str | None) -> str:
    """The portal an erasure is for: the one named (it must be in the warehouse), else the warehouse's only one."""
    portals = warehouse_portals(warehouse)
    if portal:
        if portal not in portals:
            raise ConfigError(f"--portal {portal}: the warehouse holds no users of it (its portals: {', '.join(portals) or 'none'})")
        return portal
    if len(portals) > 1:
        raise ConfigError(f"the warehouse holds several portals ({', '.join(portals)}): name the person's with --portal NAME")
    if not portals:
        raise ConfigError(f"no users to erase in {warehouse.location}: run the pipeline first")
    return portals[0]


def resolve(warehouse: Any, portal: str, user_ids: Iterable[int], emails: Iterable[str]) -> tuple[set[int], set[str]]:
    """The ids and identifiers (normalised emails, usernames, full names) of every version of these people of
    `portal` (an email is resolved within the portal only)."""
    from ..learnupon.tables import PORTAL, USERS

    ids, wanted = {int(i) for i in user_ids}, {normalised(e) for e in emails}
    values = set(wanted)
    with warehouse.backend.raw_connection() as con:
        rows = con.execute(
            f'select id, first_name, last_name, email, username, display_name from "{warehouse.dataset}"."{USERS}"'
            f' where "{PORTAL}" = ?',
            [portal],
        ).fetchall()
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


def erase(warehouse: Any, portal: str | None = None, user_ids: Iterable[int] = (), emails: Iterable[str] = (),
          reason: str = "request") -> Erased:
    """Erase these people of `portal` (None: the warehouse's only portal) from every copy the warehouse keeps
    (the module's docstring), under the run lock."""
    from ..run.lock import run_lock

    user_ids, emails = list(user_ids), list(emails)
    pseudonym_key("erase")  # a missing key stops here, before the warehouse is opened
    # the lock file names its holder's command: never the person's id or email
    with run_lock(warehouse.out_dir, command="lms-warehouse erase"):
        chosen = chosen_portal(warehouse, portal)
        return erase_locked(warehouse, {chosen: resolve(warehouse, chosen, user_ids, emails)}, reason)


def erase_locked(warehouse: Any, targets: Targets, reason: str) -> Erased:
    """`erase` of people already resolved per portal, the caller holding the run lock (retention, after a run)."""
    key = pseudonym_key("erase")
    backend = warehouse.backend
    backend.check_writable("nothing was erased")
    _refuse_pending(warehouse)
    erasure_id = uuid.uuid4().hex
    tables = backend.erase_rows(targets, key)
    record_erasures(warehouse, erasure_id, reason, targets, tables, key)
    done = Erased(erasure_id, {p: sorted(ids) for p, (ids, _) in targets.items()}, sum(len(v) for _, v in targets.values()), tables)
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


def record_erasures(warehouse: Any, erasure_id: str, reason: str, targets: Targets, tables: dict[str, int],
                    key: bytes) -> None:
    """One `erasures` row per portal and user id (one with no id for an email no user of the portal has), through
    dlt (every destination), by the pipeline that records the model builds."""
    import dlt
    from dlt.common.schema.typing import C_DLT_LOAD_ID

    from ..models.build_records import RECORDS_PIPELINE

    from ..learnupon.arrow import IssueLog, to_arrow

    now = datetime.now(timezone.utc)
    rows = [
        {
            "portal": portal,
            "erasure_id": erasure_id,
            "erased_at": now,
            "reason": reason,
            "user_id": user_id,
            "identifiers": orjson.dumps(sorted(pseudonym(key, v) for v in values)).decode(),
            "tables": orjson.dumps(tables).decode(),
            "rows_changed": sum(tables.values()),
        }
        for portal, (ids, values) in sorted(targets.items())
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

def deleted_users_due(warehouse: Any, days: int, portals: Iterable[str]) -> dict[str, set[int]]:
    """Per portal, the users deleted upstream (no current version) more than `days` days ago, not erased yet:
    the end of their last version's validity (when the pipeline saw the deletion) is the deletion time."""
    from ..learnupon.tables import PORTAL, USERS

    cutoff = datetime.now(timezone.utc) - timedelta(days=days)
    erased = erased_people(warehouse).user_ids
    wanted = set(portals)
    with warehouse.backend.raw_connection() as con:
        rows = con.execute(
            f'select "{PORTAL}", id from "{warehouse.dataset}"."{USERS}" group by "{PORTAL}", id'
            " having count(*) filter (where _dlt_valid_to is null) = 0 and max(_dlt_valid_to) <= ?",
            [cutoff],
        ).fetchall()
    due: dict[str, set[int]] = {}
    for portal, id_ in rows:
        if portal in wanted and (portal, int(id_)) not in erased:
            due.setdefault(str(portal), set()).add(int(id_))
    return due


def apply_retention(warehouse: Any, days: int | None, portals: Iterable[str]) -> Erased | None:
    """After a run (its lock held): erase the users of `portals` deleted upstream more than `days` ago (None:
    retention off), by the same path as `erase`."""
    if days is None:
        return None
    due = deleted_users_due(warehouse, days, portals)
    if not due:
        return None
    log.info("retention: erasing %d user(s) deleted upstream more than %d days ago", sum(map(len, due.values())), days)
    targets = {portal: resolve(warehouse, portal, ids, ()) for portal, ids in due.items()}
    return erase_locked(warehouse, targets, reason="retention")
