"""The HR roster in: a CSV or Parquet file, or a query over the warehouse, loaded by dlt into dataset `hr`.

Every column is kept as text, as HR wrote it (names lower-cased, other characters as '_'), with
`row_number` (1 = the first row after a CSV header) and the sync run's `run_id`. Nothing is judged
here: rows with a missing id, a bad email or a duplicate id are reported by the plan, not dropped.
`hr.roster` holds the latest roster (replaced on every load); `hr.roster_loads` has one row per
load (when, from where, how many rows, the file's SHA-256).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pyarrow as pa

from ..learnupon.errors import ConfigError
from .mapping import GROUPS_SECTION, Mapping, column_name

HR_DATASET = "hr"
HR_PIPELINE = "lms_warehouse_hr"
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
RESERVED = ("row_number", "run_id")
# what a sync does without an optional identity column
MISSING_NOTES = {
    "active": "no {name} column: every row counts as active",
    "manager": "no {name} column: managers are not checked",
}


@dataclass(frozen=True)
class Roster:
    table: pa.Table  # text columns, plus row_number
    source: str  # the file's path or "sql: <query>"
    sha256: str | None  # of the file's bytes (None for a query)

    @property
    def columns(self) -> list[str]:
        return [name for name in self.table.column_names if name != "row_number"]

    @property
    def rows(self) -> int:
        return self.table.num_rows


def read_roster(path: Path | None = None, query: str | None = None, warehouse_path: Path | None = None) -> Roster:
    """The roster from a file (CSV or Parquet by its suffix) or from a query over the warehouse."""
    if (path is None) == (query is None):
        raise ConfigError("give exactly one of --roster FILE or --roster-sql QUERY")
    with duckdb.connect() as con:
        if path is not None:
            path = Path(path)
            if not path.is_file():
                raise ConfigError(f"roster file {path} does not exist")
            suffix = path.suffix.lower()
            quoted = "'" + str(path).replace("'", "''") + "'"
            if suffix in CSV_SUFFIXES:
                relation = f"read_csv({quoted}, all_varchar = true, header = true)"
            elif suffix in PARQUET_SUFFIXES:
                relation = f"read_parquet({quoted})"
            else:
                raise ConfigError(f"roster file {path} must be .csv or .parquet, not {path.suffix or 'no suffix'}")
            try:
                raw = con.sql(f"select * from {relation}").to_arrow_table()
            except duckdb.Error as exc:
                raise ConfigError(f"roster file {path} could not be read: {str(exc).splitlines()[0]}") from None
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            source = str(path)
        else:
            if warehouse_path is None or not Path(warehouse_path).is_file():
                raise ConfigError("--roster-sql needs a DuckDB warehouse to query (no warehouse.duckdb yet)")
            con.execute(f"attach '{Path(warehouse_path).resolve()}' as warehouse (read_only)")
            con.execute("use warehouse")
            try:
                raw = con.sql(query).to_arrow_table()  # type: ignore[arg-type]
            except duckdb.Error as exc:
                raise ConfigError(f"--roster-sql failed: {str(exc).splitlines()[0]}") from None
            digest, source = None, f"sql: {query}"
    if raw.num_rows == 0:  # an empty export would make every managed user a leaver
        raise ConfigError(f"the roster ({source}) has no rows: nothing was planned")
    return Roster(table=as_text(raw), source=source, sha256=digest)


def as_text(raw: pa.Table) -> pa.Table:
    """Every column as text under its warehouse name, plus row_number."""
    names = [column_name(name) for name in raw.column_names]
    clashes = sorted({n for n in names if names.count(n) > 1 or n in RESERVED or not n})
    if clashes:
        raise ConfigError(f"roster columns must have distinct names other than {', '.join(RESERVED)}: {clashes[0] or 'an empty name'}")
    columns = [_text_column(raw.column(i)) for i in range(raw.num_columns)]
    numbers = pa.array(range(1, raw.num_rows + 1), type=pa.int64())
    return pa.table([numbers, *columns], names=["row_number", *names])


def _text_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return column.cast(pa.string())
    if pa.types.is_boolean(kind):
        return pa.chunked_array([pa.array([None if v is None else ("true" if v else "false") for v in column.to_pylist()], pa.string())])
    return column.cast(pa.string())


def check_columns(roster: Roster, mapping: Mapping) -> list[str]:
    """Stop on columns the mapping needs and the roster lacks; returns notes on columns left unused.

    The external id and identifier (email, or username) columns are always required; the other
    columns a mapping file names are required too, while those only the defaults name are skipped
    (with a note) when absent.
    """
    present = set(roster.columns)
    notes = []
    for role, name in mapping.identity_columns.items():
        if name in present:
            continue
        if role in mapping.required_roles or f"{role}_column" in mapping.explicit:
            raise ConfigError(f"the roster has no {name} column ({role}); its columns: {', '.join(roster.columns)}")
        notes.append(MISSING_NOTES.get(role, "no {name} column: {role} is not synced").format(name=name, role=role))
    for section, columns in (("fields", list(mapping.fields)), (GROUPS_SECTION, [rule.column for rule in mapping.groups])):
        for column in columns:
            if column in present:
                continue
            if section in mapping.explicit:
                raise ConfigError(f"the roster has no {column} column, which [{section}] in {mapping.source} uses")
            notes.append(f"no {column} column: the default mapping's use of it is skipped")
    return notes


def load_roster(warehouse: Any, roster: Roster, run_id: str) -> None:
    """Load the roster into `hr.roster` (replaced) and note the load in `hr.roster_loads`, through dlt."""
    table = roster.table.append_column("run_id", pa.array([run_id] * roster.rows, pa.string()))
    load = {
        "run_id": run_id,
        "loaded_at": datetime.now(timezone.utc),
        "source": roster.source,
        "rows": roster.rows,
        "columns": ",".join(roster.columns),
        "sha256": roster.sha256,
    }
    pipeline = replace(warehouse, dataset=HR_DATASET).pipeline(name=HR_PIPELINE)
    info = pipeline.run(
        [
            dlt.resource(table, name="roster", write_disposition="replace", columns={"row_number": {"data_type": "bigint"}}),
            dlt.resource([load], name="roster_loads", write_disposition="append"),
        ]
    )
    info.raise_on_failed_jobs()
