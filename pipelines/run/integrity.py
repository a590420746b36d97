"""Integrity of the raw tables: every key at most once among current rows, no row stored twice.

Keys come from the dlt schema (the resources declare them once) for the tables dlt
merges on them; every other table (append-only records, SCD2 tables keyed by their row
hash, replaced lookups) is checked for rows stored twice, column for column.
"""

from __future__ import annotations

from typing import Any

from ..learnupon.lifecycle import VALID_TO


def duplicate_keys(pipeline: Any, reader: Any = None) -> dict[str, int]:
    """Table -> rows beyond the first per key (current rows) or per identical row; only tables with any.

    reader: what the tables are read through (anything with dlt's `sql_client()`), when not the pipeline's own.
    """
    schema = pipeline.default_schema
    found: dict[str, int] = {}
    with (reader or pipeline).sql_client() as client:
        present = {
            row[0]
            for row in client.execute_sql(
                "select table_name from information_schema.tables where table_schema = %s", client.dataset_name
            )
            or []
        }
        for table in schema.data_table_names():
            if table not in present:
                continue
            columns = schema.get_table_columns(table)
            # a key is a grain only where dlt merges on it; append tables may hint one they do not honour
            merged = schema.get_table(table).get("write_disposition") == "merge"
            # an SCD2 table's row version (its row hash) is part of its key: dlt keeps no primary-key hint on it
            keyed = [name for name, column in columns.items() if column.get("primary_key") or column.get("x-row-version")]
            key = keyed if merged else []
            name = client.make_qualified_table_name(table)
            if key:
                where = f" where {VALID_TO} is null" if VALID_TO in columns else ""
                keys = ", ".join(client.escape_column_name(k) for k in key)
                sql = f"select coalesce(sum(n - 1), 0) from (select count(*) as n from {name}{where} group by {keys}) as per_key"
            else:
                sql = f"select (select count(*) from {name}) - (select count(*) from (select distinct * from {name}) as distinct_rows)"
            extra = int(client.execute_sql(sql)[0][0])
            if extra:
                found[table] = extra
    return found
