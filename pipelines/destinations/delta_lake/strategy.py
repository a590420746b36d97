"""How each table is written to Delta, derived from the dlt hints the resources already declare.

dlt merges Delta tables only by `upsert`, `insert-only` or `cdc` (one Delta MERGE per table and
load), while the resources declare `delete-insert` and `scd2`. Each declared disposition maps to
a Delta write plus, where needed, one step after the load (history.py), so every table holds the
same rows as on DuckDB. This table is the one place that says so; every resource and every
table variant it yields is translated by `adapt_source`:

| declared by the resource                      | written by dlt to Delta                          | after the load (history.py)                                    |
|-----------------------------------------------|--------------------------------------------------|----------------------------------------------------------------|
| `merge` (delete-insert or default), key only  | `upsert` on the primary key                      | nothing                                                        |
| `merge` delete-insert with a `merge_key`      | `upsert` on the primary key                      | rows of a merge-key value its newest load did not write: deleted |
| `merge` scd2 (row version, optional merge_key)| `append` to `<table>__scd2_listing` (the listing)| one Delta MERGE into `<table>`: new versions inserted, versions missing from the listing (within the merge-key values listed) get `_dlt_valid_to`; the listing rows are then deleted |
| `replace`, `append`                           | the same                                         | nothing                                                        |

Upsert equals delete-insert on a primary key: a key's row is replaced by the loaded one. A
delete-insert with a merge key replaces every row of each merge-key value loaded (leaderboard
snapshots: the day's standings), which the step after the load completes. SCD2 keeps dlt's own
columns and rules (`_dlt_valid_from`, `_dlt_valid_to`, versions told apart by the row version
column, active rows `_dlt_valid_to is null`, boundary = the load's time).
"""

from __future__ import annotations

from typing import Any

from dlt.extract.hints import HintsMeta
from dlt.extract.items import DataItemWithMeta

TABLE_FORMAT = "delta"
LISTING_SUFFIX = "__scd2_listing"  # where an SCD2 table's listing lands before the merge into its history
HISTORY_HINT = "x-lake-scd2"  # on a listing table: {"table", "row_version", "merge_key"} of the history it feeds
REPLACE_BY_HINT = "x-lake-replace-by"  # on an upserted table: the merge key whose values a load replaces whole
UPSERT = {"disposition": "merge", "strategy": "upsert"}


def lake_table_name(table: str) -> str:
    """The table a dlt table stands for: a listing's history table, any other table itself."""
    return table[: -len(LISTING_SUFFIX)] if table.endswith(LISTING_SUFFIX) else table


def _keys(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def translate(hints: dict[str, Any], default_table: str) -> dict[str, Any]:
    """Resource hints (dlt's template) as they are written to Delta; see the module's table."""
    hints = dict(hints)
    hints["table_format"] = TABLE_FORMAT
    disposition = hints.get("write_disposition")
    if disposition is None or callable(disposition):
        return hints
    declared = disposition if isinstance(disposition, dict) else {"disposition": disposition}
    if declared.get("disposition") != "merge":
        return hints
    strategy = declared.get("strategy", "delete-insert")
    merge_key = _keys(hints.get("merge_key"))
    # both hints always stated: a table variant starts from its resource's hints, which may carry the other
    extra = {**(hints.get("additional_table_hints") or {}), HISTORY_HINT: None, REPLACE_BY_HINT: None}
    if strategy == "scd2":
        table = hints.get("table_name") or default_table
        extra[HISTORY_HINT] = {
            "table": table,
            "row_version": declared.get("row_version_column_name", "_dlt_id"),
            "merge_key": merge_key,
        }
        hints.update(table_name=table + LISTING_SUFFIX, write_disposition="append", merge_key="")
    elif strategy in ("delete-insert", "upsert"):
        if merge_key and strategy == "delete-insert":
            extra[REPLACE_BY_HINT] = merge_key
        hints.update(write_disposition=dict(UPSERT), merge_key="")
    else:  # insert-only, cdc: Delta takes them as they are
        return hints
    hints["additional_table_hints"] = extra
    return hints


def declared_hints(resource: Any) -> dict[str, Any]:
    """What `translate` reads of a resource's hints, through dlt's public API: the write disposition as
    declared (a dict for SCD2), the table name when it is not the resource's, the merge key."""
    hints: dict[str, Any] = {"write_disposition": resource.write_disposition}
    if resource.table_name != resource.name:
        hints["table_name"] = resource.table_name
    if not callable(resource.write_disposition) and not resource.has_dynamic_table_name:
        columns = resource.compute_table_schema().get("columns", {})
        if merge_key := [name for name, column in columns.items() if column.get("merge_key")]:
            hints["merge_key"] = merge_key
    return hints


def adapt_source(source: Any) -> Any:
    """Write every table of `source` to Delta (returns the same source, its hints translated)."""
    for resource in source.resources.selected.values():
        resource.apply_hints(**_as_arguments(translate(declared_hints(resource), resource.name)))
        resource.add_map(_translate_item_hints)
    return source


def _as_arguments(hints: dict[str, Any]) -> dict[str, Any]:
    # a merge key of "" removes it (apply_hints keeps a hint given as None)
    return {k: v for k, v in hints.items() if k in _APPLY_HINTS_ARGUMENTS}


_APPLY_HINTS_ARGUMENTS = ("table_name", "write_disposition", "merge_key", "table_format", "additional_table_hints")


def _translate_item_hints(item: Any, meta: Any = None) -> Any:
    """Items a resource sends to another table (dlt.mark.with_hints) carry their own hints: translate those too."""
    if isinstance(meta, HintsMeta) and meta.hints:
        hints = translate(dict(meta.hints), meta.hints.get("table_name"))
        return DataItemWithMeta(HintsMeta(hints, meta.create_table_variant), item)
    return item
