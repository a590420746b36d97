"""A read-only copy of the warehouse for BI tools and `duckdb -readonly`, so a reader never blocks a load.

DuckDB lets one process write a file and, while any process holds it open, no other may
write it: a BI tool connected to `warehouse.duckdb` would stop the next load. Readers
open `<out>/snapshot.duckdb` instead. After every successful load and every model build
the pipeline brings a file other than the snapshot up to date with the warehouse and renames
it over the snapshot: the swap is atomic, a reader that has the old snapshot open keeps reading
it undisturbed, and the next connection sees the new one. Called with the run lock held
(pipelines.run.lock), so no load writes the warehouse while it is copied, and the partial
copies of a killed or failed publish are removed by the next one (and at the start of every run).

A refresh costs what changed, not the warehouse's size. The snapshot that a publish replaces is
kept as the spare (`.snapshot-spare.duckdb`), with a manifest of what it holds: a fingerprint
of every table (its definition, row count and a hash of its rows, computed by DuckDB in one
read of each table) and every view's definition. The next publish opens the spare, replaces
the tables and views whose fingerprint differs from the warehouse's now, drops what the
warehouse no longer has, and swaps it in; the snapshot it replaces becomes the next spare. The
spare is rewritten whole instead when it cannot be trusted or opened: no spare or manifest,
a manifest of another file (a killed swap), a reader still holding it (DuckDB refuses the
write), a file more than half free space, or catalog objects other than schemas, tables and
views that changed. The price is disk: two snapshots are kept.

Every file is written in DuckDB 1.1's storage format (pipelines/destinations/duckdb_storage.py:
the file older BI drivers open); a spare keeps the format it was created in. The snapshot holds
what readers read: the raw schema with the run records, and the models' schemas. dlt's working
schema (`learnupon_staging`: the last load's rows on their way into merged tables) stays in the
warehouse.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("lms_warehouse.snapshot")

SNAPSHOT_FILE = "snapshot.duckdb"
SPARE_FILE = ".snapshot-spare.duckdb"
MANIFEST_SUFFIX = ".manifest.json"  # beside each file: what it holds (`.snapshot.duckdb.manifest.json` is not
# used: a failed publish must leave no `.snapshot.duckdb*` file behind)
# the copy streams table by table; unbounded, DuckDB held 451 MiB copying a million enrollments,
# at this limit (two threads, insertion order not kept) 332 MiB for 0.6 s more
COPY_MEMORY_LIMIT = "256MB"
ATTACHED = "snapshot_copy"


@dataclass
class Refresh:
    """What a publish did: `whole` (a new file written) or not, the tables and views it wrote, and why."""

    path: Path
    whole: bool
    tables: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows written (deleted + inserted, or copied)
    views: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    reason: str = ""
    seconds: float = 0.0


def snapshot_path(out_dir: Path) -> Path:
    return Path(out_dir) / SNAPSHOT_FILE


def spare_path(out_dir: Path) -> Path:
    return Path(out_dir) / SPARE_FILE


def manifest_path(database: Path) -> Path:
    """`snapshot.duckdb` -> `.snapshot.manifest.json`, `.snapshot-spare.duckdb` -> `.snapshot-spare.manifest.json`."""
    stem = database.name.removesuffix(".duckdb").lstrip(".")
    return database.with_name(f".{stem}{MANIFEST_SUFFIX}")


def publish_snapshot(warehouse: Any) -> Refresh | None:
    """Bring `<out>/snapshot.duckdb` up to date with the DuckDB warehouse as it is now (the DuckDB destination
    calls it: pipelines/destinations/duckdb.py); None when there is no warehouse file yet."""
    if not warehouse.duckdb_path.exists():
        return None
    import duckdb

    started = time.perf_counter()
    out_dir = Path(warehouse.out_dir)
    target, spare = snapshot_path(out_dir), spare_path(out_dir)
    remove_partial_files(out_dir)
    with duckdb.connect(str(warehouse.duckdb_path)) as con:
        con.execute(f"set memory_limit = '{COPY_MEMORY_LIMIT}'")
        con.execute("set threads = 2")
        con.execute("set preserve_insertion_order = false")  # a table's rows have no order to keep
        source = con.execute("select current_database()").fetchone()[0]
        now = catalog(con, source, working_schema(warehouse.dataset))
        refresh = None
        held = read_manifest(spare)
        why = _why_not_in_place(held, now)
        if why is None:
            manifest_path(spare).unlink(missing_ok=True)  # from here on the spare holds neither its old nor the new state
            try:
                refresh = _update_in_place(con, source, spare, held, now)
                why = None if refresh else "the spare was more than half free space"
            except duckdb.Error as exc:  # a reader holding the spare (its lock), or a file DuckDB refuses
                why = f"the spare could not be updated ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
                _detach(con, source)
        if refresh is None:
            refresh = _write_whole(con, source, out_dir, warehouse.dataset, why or "")
    refresh.seconds = time.perf_counter() - started
    _swap_in(Path(refresh.path), target, spare, now, refresh)
    refresh.path = target
    if refresh.whole:
        log.info("published the read-only snapshot %s whole (%s)", target, refresh.reason)
    else:
        log.info("published the read-only snapshot %s: %d table(s) and %d view(s) rewritten, %d dropped",
                 target, len(refresh.tables), len(refresh.views), len(refresh.dropped))
    return refresh


@dataclass
class Catalog:
    """What a snapshot of the warehouse holds: per table a fingerprint, per view its definition,
    the schemas, and the definitions of any other catalog object (sequences, macros, types)."""

    schemas: list[str]
    tables: dict[str, str]  # "schema"."table" -> fingerprint
    views: dict[str, str]  # "schema"."view" -> create statement
    table_sql: dict[str, str]  # "schema"."table" -> create statement
    others: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"schemas": self.schemas, "tables": self.tables, "views": self.views, "others": self.others}


def catalog(con: Any, database: str, leave_out: str) -> Catalog:
    """The warehouse's schemas, tables and views but `leave_out` (dlt's working schema), each table fingerprinted:
    its definition, row count and the sum of its rows' hashes (one parallel read of the table, no write)."""
    of = "database_name = ? and schema_name <> ?"  # every catalog function has database_name and schema_name
    schemas = [r[0] for r in con.execute(
        f"select schema_name from duckdb_schemas() where {of} and not internal order by 1", [database, leave_out]).fetchall()]
    table_sql = {
        _qualified(schema, table): sql
        for schema, table, sql in con.execute(
            f"select schema_name, table_name, sql from duckdb_tables() where {of} and not temporary order by 1, 2",
            [database, leave_out],
        ).fetchall()
    }
    # every table's row count and hash sum in one statement: one query per table cost a millisecond or more each
    fingerprints = " union all ".join(
        f'select {i} as i, count(*) as n, sum(hash(t)) as h from "{database}".{name} t' for i, name in enumerate(table_sql)
    )
    counted = {i: (rows, digest) for i, rows, digest in con.execute(fingerprints).fetchall()} if table_sql else {}
    tables = {name: f"{sql}|{counted[i][0]}|{counted[i][1]}" for i, (name, sql) in enumerate(table_sql.items())}
    views = {
        _qualified(schema, view): sql
        for schema, view, sql in con.execute(
            f"select schema_name, view_name, sql from duckdb_views() where {of} and not internal and not temporary"
            " order by view_oid", [database, leave_out]  # the order they were made in (mostly: a view after its inputs)
        ).fetchall()
    }
    others = sorted(
        str(row[0]) for query in (
            f"select sql from duckdb_sequences() where {of} and not temporary",
            f"select macro_definition from duckdb_functions() where {of} and not internal and function_type like '%macro'",
            f"select type_name || ':' || logical_type from duckdb_types() where {of} and not internal",
        ) for row in con.execute(query, [database, leave_out]).fetchall()
    )
    return Catalog(schemas, tables, views, table_sql, others)


def read_manifest(database: Path) -> dict[str, Any] | None:
    """The manifest of `database` when it is that file's (same inode, size and modification time), else None."""
    try:
        manifest = json.loads(manifest_path(database).read_text())
        return manifest if manifest.get("file") == _identity(database) else None
    except (OSError, ValueError, AttributeError):
        return None


def _write_manifest(database: Path, now: Catalog, refresh: Refresh) -> None:
    manifest = manifest_path(database)
    partial = manifest.with_name(f"{manifest.name}.{os.getpid()}.tmp")
    written = {"whole": refresh.whole, "reason": refresh.reason, "tables": refresh.tables, "rows": refresh.rows,
               "views": refresh.views,
               "dropped": refresh.dropped, "seconds": round(refresh.seconds, 3)}
    partial.write_text(json.dumps({"file": _identity(database), **now.as_json(), "written": written}))
    os.replace(partial, manifest)


def last_refresh(out_dir: Path) -> dict[str, Any] | None:
    """How the current snapshot was written (`whole` and why, or the tables and views rewritten in place), from
    its manifest; None when unknown."""
    manifest = read_manifest(snapshot_path(out_dir))
    return manifest.get("written") if manifest else None


def _identity(database: Path) -> list[int]:
    status = database.stat()
    return [status.st_ino, status.st_size, status.st_mtime_ns]


def _why_not_in_place(held: dict[str, Any] | None, now: Catalog) -> str | None:
    if held is None:
        return "no spare whose contents are known"
    if held.get("others") != now.others:
        return "sequences, macros or types changed"
    return None


def _update_in_place(con: Any, source: str, spare: Path, held: dict[str, Any], now: Catalog) -> Refresh | None:
    """The spare brought up to date: only what differs from the warehouse is written. None when the spare is
    mostly free space (it is rewritten whole then)."""
    import duckdb

    con.execute(f"attach '{_quoted(spare)}' as {ATTACHED}")
    used, free = con.execute(
        "select used_blocks, free_blocks from pragma_database_size() where database_name = ?", [ATTACHED]
    ).fetchone()
    if free > used:
        con.execute(f"detach {ATTACHED}")
        return None
    refresh = Refresh(spare, whole=False)
    had_tables, had_views = held.get("tables", {}), held.get("views", {})
    con.execute("begin")
    for name in sorted(set(had_views) - set(now.views)) + sorted(v for v in now.views if had_views.get(v) not in (None, now.views[v])):
        con.execute(f"drop view if exists {ATTACHED}.{name}")
        refresh.dropped.append(name)
    for name in sorted(set(had_tables) - set(now.tables)):
        con.execute(f"drop table if exists {ATTACHED}.{name}")
        refresh.dropped.append(name)
    for schema in sorted(set(held.get("schemas", [])) - set(now.schemas)):
        con.execute(f'drop schema if exists {ATTACHED}."{schema}" cascade')
    for schema in now.schemas:
        con.execute(f'create schema if not exists {ATTACHED}."{schema}"')
    con.execute(f"use {ATTACHED}")  # the warehouse's create statements name schema.table, not the database
    for name, fingerprint in now.tables.items():
        if had_tables.get(name) == fingerprint:
            continue
        held_sql = had_tables.get(name, "").rsplit("|", 2)[0]
        written = _sync_rows(con, source, name, fingerprint) if held_sql == now.table_sql[name] else None
        if written is None:  # new, redefined, or rows the diff cannot tell apart (duplicates): copied whole
            con.execute(f"drop table if exists {name}")
            con.execute(now.table_sql[name])
            written = con.execute(f'insert into {name} select * from "{source}".{name}').fetchone()[0]
        refresh.tables.append(name)
        refresh.rows[name] = written
    con.execute("commit")
    # a view is checked against what it reads when it is made, and the warehouse's catalog does not say which
    # views read which: each round makes those whose inputs exist, until all are made (each its own statement)
    waiting = [name for name, sql in now.views.items() if had_views.get(name) != sql]
    while waiting:
        failed: dict[str, str] = {}
        for name in waiting:
            try:
                con.execute(f"create or replace {now.views[name].removeprefix('CREATE ')}")
                refresh.views.append(name)
            except duckdb.CatalogException as exc:
                failed[name] = str(exc).splitlines()[0]
        if len(failed) == len(waiting):
            raise duckdb.CatalogException(f"views that read what does not exist: {failed}")
        waiting = list(failed)
    con.execute(f'use "{source}"')
    con.execute(f"checkpoint {ATTACHED}")
    con.execute(f"detach {ATTACHED}")
    refresh.dropped = [name for name in refresh.dropped if name not in refresh.views]
    return refresh


def _sync_rows(con: Any, source: str, name: str, fingerprint: str) -> int | None:
    """Make the spare's table (the current database) hold the warehouse's rows by deleting the rows the warehouse
    no longer has and inserting those it has newly (rows compared by hash: dlt rewrites a merged row with a new
    `_dlt_load_id`, so a changed row and a rewritten one both count). Returns the rows deleted and inserted, or
    None when the result is not the warehouse's table (identical rows in it): the caller copies it whole."""
    rows, digest = fingerprint.rsplit("|", 2)[1:]
    theirs = f'(select hash(w) from "{source}".{name} w)'
    deleted = con.execute(f"delete from {name} where rowid in (select rowid from {name} s where hash(s) not in {theirs})").fetchone()[0]
    inserted = con.execute(
        f'insert into {name} select * from "{source}".{name} w where hash(w) not in (select hash(s) from {name} s)'
    ).fetchone()[0]
    now_rows, now_digest = con.execute(f"select count(*), sum(hash(s)) from {name} s").fetchone()
    return deleted + inserted if (str(now_rows), str(now_digest)) == (rows, digest) else None


def _write_whole(con: Any, source: str, out_dir: Path, dataset: str, reason: str) -> Refresh:
    """A fresh file with every schema, table and view of the warehouse but dlt's working schema."""
    from .duckdb_storage import STORAGE_VERSION

    spare = spare_path(out_dir)
    for old in (spare, Path(f"{spare}.wal"), manifest_path(spare)):  # its space is needed now
        old.unlink(missing_ok=True)
    partial = snapshot_path(out_dir).with_name(f".{SNAPSHOT_FILE}.{os.getpid()}.tmp")
    try:
        # a fresh file written in one go in DuckDB 1.1's format, not a byte copy of the warehouse:
        # DuckDB 1.1.3 was seen to refuse a warehouse file that DuckDB 2.0 had updated in place
        # ("Failed to load metadata pointer"), while files written whole read everywhere
        con.execute(f"attach '{_quoted(partial)}' as {ATTACHED} (storage_version '{STORAGE_VERSION}')")
        con.execute(f'copy from database "{source}" to {ATTACHED} (schema)')
        con.execute(f'drop schema if exists {ATTACHED}."{working_schema(dataset)}" cascade')
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = ?", [ATTACHED]
        ).fetchall()
        for schema, table in tables:
            name = _qualified(schema, table)
            con.execute(f'insert into {ATTACHED}.{name} select * from "{source}".{name}')
        con.execute(f"detach {ATTACHED}")
    except BaseException:
        _detach(con, source)
        for leftover in (partial, Path(f"{partial}.wal")):  # a failed checkpoint (a full disk) leaves the WAL
            leftover.unlink(missing_ok=True)
        raise
    return Refresh(partial, whole=True, tables=[_qualified(s, t) for s, t in tables], reason=reason or "")


def _swap_in(fresh: Path, target: Path, spare: Path, now: Catalog, refresh: Refresh) -> None:
    """`fresh` becomes the snapshot in one rename; the snapshot it replaces (which readers may hold) becomes the
    spare, with its manifest. A manifest names its file's identity, so a swap cut short leaves none trusted."""
    keep = target.with_name(f".{target.name}.{os.getpid()}.link.tmp")
    try:
        if target.is_file():
            os.link(target, keep)  # the replaced snapshot stays on disk under a name of ours
        os.replace(fresh, target)
        if keep.exists():
            if manifest_path(target).exists():
                os.replace(manifest_path(target), manifest_path(spare))
            os.replace(keep, spare)
        _write_manifest(target, now, refresh)
    finally:
        for leftover in (Path(f"{fresh}.wal"), keep, *((fresh,) if fresh != spare else ())):
            leftover.unlink(missing_ok=True)


def _detach(con: Any, source: str) -> None:
    """After a failed write to the attached file: its transaction rolled back, the warehouse the default again, detached."""
    for statement in ("rollback", f'use "{source}"', f"detach {ATTACHED}"):
        try:
            con.execute(statement)
        except Exception:  # nothing to roll back, or not attached
            pass


def working_schema(dataset: str) -> str:
    """dlt's staging dataset beside `dataset` (its default layout, `<dataset>_staging`)."""
    from dlt.common.destination.client import DestinationClientDwhConfiguration

    return DestinationClientDwhConfiguration.staging_dataset_name_layout % dataset


def remove_partial_files(out_dir: Path) -> list[Path]:
    """Remove the partial copies a killed or failed publish left behind (`.snapshot.duckdb.<pid>.tmp` and
    its `.wal`), and those of a killed storage conversion (pipelines/destinations/duckdb_storage.py). Call with the run
    lock held: no publish or conversion of this folder is running then. Returns what was removed."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    removed = []
    for pattern in (f".{SNAPSHOT_FILE}.*.tmp", f".{SNAPSHOT_FILE}.*.tmp.wal", ".warehouse.duckdb.*.convert",
                    ".warehouse.duckdb.*.convert.wal", f".*{MANIFEST_SUFFIX}.*.tmp"):
        for leftover in out_dir.glob(pattern):
            leftover.unlink(missing_ok=True)
            removed.append(leftover)
    if removed:
        log.info("removed partial files of killed or failed steps: %s", ", ".join(p.name for p in removed))
    return removed


def _qualified(schema: str, name: str) -> str:
    return f'"{schema}"."{name}"'


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def discard_snapshots(out_dir: Path) -> None:
    """Remove the snapshot, its spare and their manifests (after an erasure: they hold the erased values; the next
    publish writes the snapshot whole). Call with the run lock held."""
    for database in (snapshot_path(out_dir), spare_path(out_dir)):
        for path in (database, Path(f"{database}.wal"), manifest_path(database)):
            path.unlink(missing_ok=True)
