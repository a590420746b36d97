"""The Parquet destination: Parquet folders any reader gets right, published from a DuckDB working warehouse.

`--destination parquet` loads exactly as `--destination duckdb` does, into `<out>/warehouse.duckdb`
(SCD2, retirement, resumed loads, exam-answer fingerprints: one code path), and after each
successful load PUBLISHES every raw table as Parquet (docs/destinations.md, "Parquet"):

    <out>/parquet/<table>/            current rows only (`_dlt_valid_to` kept, always null)
    <out>/parquet/history/<table>/    tables that keep history: every row, current and past
    <out>/parquet/marts/<mart>/       the reporting tables, after each model build

A reader reads a folder with `read_parquet('<table>/*.parquet')`, pandas, Polars, Power BI or
Tableau and sees one row per key without de-duplicating anything.

Atomicity: `<table>` is a symbolic link to `.versions/<table>/<version>/`, a folder written whole
before the link is switched to it (a new link renamed over the old one: atomic on POSIX). File
names are unique per version, so a reader that listed one version can never open a file of
another: no mix, and never an empty or half-written folder. The previous version stays until the
next publication, so a reader in the middle of a read finishes it. (Replacing one file in place
is not enough: DuckDB opens a file twice per query, and a swap between the two opens makes it
read the new file with the old file's footer.)

Change detection: each file carries, in its Parquet key-value metadata, a fingerprint of the
table it was written from (columns, rows, newest `_dlt_load_id`, rows retired); a table whose
fingerprint did not change is not written again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ..learnupon.errors import ConfigError
from ..learnupon.lifecycle import VALID_TO

log = logging.getLogger("lms_warehouse.parquet")

HISTORY = "history"  # <parquet>/history/<table>: every row of tables that keep history
MARTS = "marts"  # <parquet>/marts/<mart>: the reporting tables
VERSIONS = ".versions"  # <folder>/.versions/<table>/<version>/: what the links point at
RESERVED = (HISTORY, MARTS)  # folder names that are not raw tables
FINGERPRINT_KEY = "lms_warehouse_fingerprint"
# the layout before this one: dlt's filesystem destination appended every load under parquet/<dataset>/,
# and the models were built in reports.duckdb over views of it
OLD_REPORTS_DB = "reports.duckdb"


@dataclass
class Publication:
    """What one publication wrote: tables rewritten, tables unchanged, rows per current table, and its cost."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    current_rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def marts_dir(warehouse: Any) -> Path:
    return Path(warehouse.parquet_dir) / MARTS


def check_layout(warehouse: Any) -> None:
    """Refuse an --out that holds the old appended Parquet layout: its rows would never be read again."""
    old = [p for p in (Path(warehouse.parquet_dir) / warehouse.dataset, Path(warehouse.out_dir) / OLD_REPORTS_DB) if p.exists()]
    if old:
        raise ConfigError(
            f"--out {warehouse.out_dir} holds the old appended Parquet layout ({', '.join(str(p) for p in old)}), which this"
            " version no longer reads: use a new --out for --destination parquet (a first run loads everything again),"
            " or delete those"
        )


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def published_files(folder: Path) -> list[Path]:
    """The Parquet files of a published table (through its link); none when it was never published."""
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def published_fingerprint(folder: Path) -> str | None:
    """The fingerprint in the published version's metadata; None when there is none to compare."""
    files = published_files(folder)
    if len(files) != 1:
        return None
    try:
        import pyarrow.parquet as pq

        metadata = pq.read_metadata(files[0]).metadata or {}
    except Exception as exc:  # a damaged file is simply written again
        log.warning("could not read %s (%s): publishing it again", files[0], exc)
        return None
    value = metadata.get(FINGERPRINT_KEY.encode())
    return value.decode() if value is not None else None


def publish_version(con: duckdb.DuckDBPyConnection, select: str, link: Path, fingerprint: str | None = None) -> Path:
    """Write `select` as a new version of the table at `link`, switch the link to it, drop all but the last two.

    Returns the new version's folder.
    """
    versions = link.parent / VERSIONS / link.name
    version = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}"
    folder = versions / version
    partial = versions / f".{version}.partial"  # written here, renamed when whole: a crash leaves no half version
    partial.mkdir(parents=True)
    try:
        options = "format parquet, compression zstd"
        if fingerprint is not None:
            options += f", kv_metadata {{{FINGERPRINT_KEY}: '{fingerprint}'}}"
        con.execute(f"copy ({select}) to '{_sql_path(partial / f'{link.name}-{version}.parquet')}' ({options})")
        os.rename(partial, folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    previous = link.resolve() if link.is_symlink() else None
    if link.exists() and not link.is_symlink():  # a real folder where the link goes (written by hand): replaced
        shutil.rmtree(link)
    staged_link = link.parent / f".{link.name}.{version}.link"
    os.symlink(os.path.relpath(folder, link.parent), staged_link)
    os.replace(staged_link, link)
    for old in versions.iterdir():  # the new version and the one it replaced stay: readers may be in it
        if old != folder and (previous is None or old.resolve() != previous):
            shutil.rmtree(old, ignore_errors=True)
    return folder


def publish_marts(warehouse: Any, marts: dict[str, str]) -> None:
    """Publish each reporting table (name -> relation) as `<parquet>/marts/<name>/`, as the raw tables are."""
    if not marts:
        return
    root = marts_dir(warehouse)
    root.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse.duckdb_path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        for mart, relation in marts.items():
            publish_version(con, f"select * from {relation}", root / mart)


def publish_warehouse(warehouse: Any) -> Publication:
    """Publish every raw table of the working warehouse: current rows, and history where the table keeps it.

    Called with the run lock held (pipelines.run.lock), after a successful load: no load writes
    the working file meanwhile.
    """
    started = time.perf_counter()
    done = Publication()
    root = Path(warehouse.parquet_dir)
    root.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse.duckdb_path), read_only=True) as con:
        # the models' limit, not the load's: the Parquet writer holds a row group per thread, and the
        # load's 64MB ran out on a million enrollments (the benchmark found it)
        con.execute(f"set memory_limit = '{warehouse.models_memory_limit.strip()}'")
        con.execute("set TimeZone = 'UTC'")
        con.execute("set preserve_insertion_order = false")  # lets COPY stream in parallel, in little memory
        tables = _raw_tables(con, warehouse.dataset)
        for table, columns in tables.items():
            relation = f"{_quote(warehouse.dataset)}.{_quote(table)}"
            fingerprint = _fingerprint(con, relation, columns)
            keeps_history = VALID_TO in columns
            targets = {root / table: f"select * from {relation}" + (f" where {VALID_TO} is null" if keeps_history else "")}
            if keeps_history:
                targets[root / HISTORY / table] = f"select * from {relation}"
            if all(published_fingerprint(folder) == fingerprint for folder in targets):
                done.unchanged.append(table)
                continue
            for link, select in targets.items():
                link.parent.mkdir(parents=True, exist_ok=True)
                publish_version(con, select, link, fingerprint)
            done.written.append(table)
    done.removed = _remove_unlisted(root, set(tables))
    done.current_rows = published_counts(root)
    done.seconds = time.perf_counter() - started
    log.info("published %d Parquet table(s) (%d unchanged) in %.1f s", len(done.written), len(done.unchanged), done.seconds)
    return done


def _raw_tables(con: duckdb.DuckDBPyConnection, dataset: str) -> dict[str, dict[str, str]]:
    """Raw table -> {column: type}, dlt's own tables left out."""
    rows = con.execute(
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_schema = ? order by table_name, ordinal_position",
        [dataset],
    ).fetchall()
    tables: dict[str, dict[str, str]] = {}
    for table, column, kind in rows:
        if not table.startswith("_dlt") and table not in RESERVED:
            tables.setdefault(table, {})[column] = kind
    return tables


def _fingerprint(con: duckdb.DuckDBPyConnection, relation: str, columns: dict[str, str]) -> str:
    """What changes whenever a load or a retirement changes the table's rows.

    Every row a load writes carries that load's `_dlt_load_id` (newer loads have larger ids);
    a deleted row lowers the count; a retirement sets `_dlt_valid_to` on a current row.
    A table without `_dlt_load_id` gets a fingerprint of its own each time: always written.
    """
    if "_dlt_load_id" not in columns:
        return uuid.uuid4().hex
    measures = ["count(*)", "max(_dlt_load_id)"]
    if VALID_TO in columns:
        measures += [f"count({VALID_TO})", f"cast(max({VALID_TO}) as varchar)"]
    figures = con.execute(f"select {', '.join(measures)} from {relation}").fetchone()
    text = json.dumps([columns, [str(v) for v in figures]], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _remove_unlisted(root: Path, tables: set[str]) -> list[str]:
    """Published tables the working warehouse no longer has (it was reloaded from scratch) go too."""
    removed = []
    for parent in (root, root / HISTORY):
        for link in _published(parent):
            if link.name not in tables:
                target = link.parent / VERSIONS / link.name
                link.unlink()
                shutil.rmtree(target, ignore_errors=True)
                removed.append(str(link.relative_to(root)))
    return removed


def _published(parent: Path) -> list[Path]:
    """The table links in `parent` (history/ and marts/ are folders, not links)."""
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir() if p.is_symlink() and not p.name.startswith("."))


def published_counts(root: Path) -> dict[str, int]:
    """Rows per published current table, as a reader sees them (from the files' footers)."""
    import pyarrow.parquet as pq

    return {link.name: sum(pq.read_metadata(f).num_rows for f in published_files(link)) for link in _published(root)}
