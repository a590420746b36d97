"""A first load of a merge table writes its rows into the table directly, as an append.

dlt writes every row of a merge load twice: the load's files into a staging copy of the table,
then SQL from the copy into the table (delete-insert, or SCD2's retire-and-insert). Into a table
that holds no rows yet that SQL changes nothing a plain append would not write, for two kinds of
table:

- SCD2 tables: every staged version is inserted, open (`_dlt_valid_from` = the load's boundary,
  the load package's creation time; `_dlt_valid_to` null), and nothing is retired. The append
  writes the same two columns on each row, with the same values and types.
- delete-insert tables whose load holds each key once (declared `deduplicated`, as the enrollment
  searches are): nothing to delete, every staged row is inserted.

So a table of those kinds with no rows (the facts the runner reads before extracting,
`WarehouseFacts.tables_with_rows`) is loaded with `append` in that run; from the next load on it
merges as declared. A table other merges need (a plain delete-insert, which de-duplicates its
staged rows; a replace) is left alone. A killed first load resumes as an append table does
(pipelines/run/resumed_load.py: the package's rows are deleted and its files copied again).
The dlt schema keeps `append` as the table's write disposition until the next run of its resource
declares the merge again; the rows are what the merge writes (tests/destinations/test_first_loads.py).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import dlt
import pyarrow as pa
from dlt.extract.hints import HintsMeta
from dlt.extract.items import DataItemWithMeta

from dlt.common.schema.typing import DEFAULT_VALIDITY_COLUMN_NAMES

from ..learnupon.tables import DELETE_INSERT_DEDUPLICATED, TABLES

VALID_FROM, VALID_TO = DEFAULT_VALIDITY_COLUMN_NAMES  # the SCD2 tables declare no names of their own
VALIDITY_TYPE = pa.timestamp("us", tz="UTC")


def appendable(table: str) -> bool:
    """A table whose merge into an empty table writes exactly what an append of its load writes."""
    entry = TABLES.get(table)
    return entry is not None and (entry.scd2 or entry.write_disposition == DELETE_INSERT_DEDUPLICATED)


def validity_columns() -> dict[str, dict[str, Any]]:
    """SCD2's two columns with the hints dlt's SCD2 merge gives them (so the next merge finds them as its own)."""
    return {
        VALID_FROM: {"name": VALID_FROM, "data_type": "timestamp", "nullable": True, "x-valid-from": True},
        VALID_TO: {"name": VALID_TO, "data_type": "timestamp", "nullable": True, "x-valid-to": True,
                   "x-active-record-timestamp": None},
    }


def append_first_loads(source: Any, tables_with_rows: set[str] | None) -> set[str]:
    """Load the appendable tables of `source` that hold no rows as appends (see the module); returns them.

    `tables_with_rows` None: unknown (the facts could not be read), nothing changes.
    """
    if tables_with_rows is None:
        return set()
    first = {name for name in TABLES if appendable(name) and name not in tables_with_rows}
    appended: set[str] = set()
    for resource in source.resources.selected.values():
        own = resource.table_name if not resource.has_dynamic_table_name else None
        if own in first:
            columns = validity_columns() if TABLES[own].scd2 else None
            resource.apply_hints(write_disposition="append", columns=columns)
        resource.add_map(_ItemsAppended(first, own if own in first else None))
        appended |= {t for t in first if TABLES[t].resource == resource.name}
    return appended


class _ItemsAppended:
    """Per item: an SCD2 table's rows get their validity columns; an item for another table (a child
    table, with its own hints) that loads as an append gets the append's hints."""

    def __init__(self, first: set[str], own: str | None) -> None:
        self.first, self.own = first, own

    def __call__(self, item: Any, meta: Any = None) -> Any:
        if isinstance(meta, HintsMeta) and meta.hints:
            table = meta.hints.get("table_name")
            if table not in self.first:
                return item
            hints = dict(meta.hints)
            hints["write_disposition"] = "append"
            if TABLES[table].scd2:
                hints["columns"] = {**(hints.get("columns") or {}), **validity_columns()}
                item = _with_validity(item, table)
            return DataItemWithMeta(HintsMeta(hints, meta.create_table_variant), item)
        if self.own is not None and TABLES[self.own].scd2:
            return _with_validity(item, self.own)
        return item


def _with_validity(item: Any, table: str) -> Any:
    """An SCD2 table's rows, open from the load's boundary: the columns dlt's SCD2 insert writes."""
    if not isinstance(item, pa.Table) or VALID_FROM in item.column_names:
        return item
    boundary = load_boundary()
    rows = item.num_rows
    item = item.append_column(pa.field(VALID_FROM, VALIDITY_TYPE), pa.array([boundary] * rows, VALIDITY_TYPE))
    return item.append_column(pa.field(VALID_TO, VALIDITY_TYPE), pa.nulls(rows, VALIDITY_TYPE))


def load_boundary() -> datetime:
    """SCD2's boundary when no `boundary_timestamp` is declared: the creation time of the load package being
    extracted, as dlt's SCD2 merge reads it when it loads that package."""
    created = dlt.current.load_package_state()["state"]["created_at"]
    return created.astimezone(timezone.utc)
