"""The simulated portal's people as values a scan of a warehouse looks for: names, emails, usernames."""

from __future__ import annotations

from typing import Any

import duckdb


def person_values(portal: Any) -> set[str]:
    """Every user's first, last and full name, email and username, lower case (instructors and managers are users too)."""
    values: set[str] = set()
    for user in portal.state.users.values():
        for value in (user.first_name, user.last_name, user.name, user.email, user.username):
            if value:
                values.add(value.strip().lower())
    return values


def columns_holding(con: duckdb.DuckDBPyConnection, schema: str, values: set[str]) -> dict[str, int]:
    """`table.column` -> cells equal to one of `values` (case and surrounding blanks ignored), over every text
    column of every table in `schema`; text inside lists is read too (a list's items each compared)."""
    con.execute("create or replace temp table scan_values (v varchar)")
    con.executemany("insert into scan_values values (?)", [[v] for v in sorted(values)])
    found: dict[str, int] = {}
    columns = con.execute(
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_schema = ? and (data_type = 'VARCHAR' or data_type like 'VARCHAR[]%')",
        [schema],
    ).fetchall()
    for table, column, kind in columns:
        cell = f'"{column}"'
        text = f"lower(trim(array_to_string({cell}, ' ')))" if kind.endswith("[]") else f"lower(trim({cell}))"
        items = f"list_transform({cell}, x -> lower(trim(x)))" if kind.endswith("[]") else None
        condition = (
            f"{text} in (select v from scan_values)"
            + (f" or len(list_intersect({items}, (select list(v) from scan_values))) > 0" if items else "")
        )
        count = con.execute(f'select count(*) from "{schema}"."{table}" where {condition}').fetchone()[0]
        if count:
            found[f"{table}.{column}"] = count
    return found
