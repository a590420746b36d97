"""Helpers the resource modules share."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

# SCD2 with our own row hash: Arrow tables carry no `_dlt_id` hash of their own
SCD2 = {"disposition": "merge", "strategy": "scd2", "row_version_column_name": "row_hash"}


def row_hash(record: dict[str, Any]) -> str:
    """A stable hash of a record's content: what SCD2 compares to see a change."""
    return hashlib.blake2b(orjson.dumps(record, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


def json_text(value: Any) -> str | None:
    """Strings as they are; numbers, lists and objects as JSON text."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def child_table(table: Any, name: str, disposition: Any, key: list[str], merge_key: str | None = None) -> Any:
    """Send an Arrow table to another table than the resource's own, with its own hints.

    The key must be stated: a table left without one inherits the resource's
    primary key, which it may not even have as a column.
    """
    import dlt

    hints = dlt.mark.make_hints(table_name=name, write_disposition=disposition, primary_key=key, merge_key=merge_key)
    return dlt.mark.with_hints(table, hints, create_table_variant=True)
