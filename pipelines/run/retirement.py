"""After a load: mark rows that disappeared upstream as history (`_dlt_valid_to`), as lifecycle.py declares.

Runs after every load on a SQL destination, through dlt's own SQL client, and is
idempotent: each step only touches rows that are still current, so a run killed
half-way is finished by the next one.

1. Listing markers (`listing_scopes` rows not yet applied): a table, or one scope
   value of it (a course's modules, a user's enrollments), was listed completely
   by the load that carries the marker; current rows of that scope written by an
   older load were not listed again, so they are retired as of the marker.
2. Owners: rows whose owner row is no longer current anywhere (a deleted user's
   enrollments, exam results and attendance; a retired exam enrollment's answers)
   are retired with it.
"""

from __future__ import annotations

import logging
from typing import Any

from ..learnupon.lifecycle import LIFECYCLES, LISTING_SCOPES, VALID_TO

log = logging.getLogger("lms_warehouse.retirement")


def retire_vanished_rows(pipeline: Any) -> dict[str, int]:
    """Apply every pending retirement; returns rows retired per table (only tables that changed)."""
    retired: dict[str, int] = {}
    with pipeline.sql_client() as client:
        tables = _existing_tables(client)
        if LISTING_SCOPES in tables:
            _apply_listing_markers(client, tables, retired)
        _apply_owners(client, tables, retired)
    if retired:
        log.info("retired rows that vanished upstream: %s", retired)
    return retired


def _existing_tables(client: Any) -> set[str]:
    rows = client.execute_sql(
        "select table_name from information_schema.tables where table_schema = %s", client.dataset_name
    )
    return {r[0] for r in rows or []}


def _q(client: Any, table: str) -> str:
    return client.make_qualified_table_name(table)


def _count(client: Any, sql: str, *args: Any) -> int:
    rows = client.execute_sql(sql, *args)
    return int(rows[0][0]) if rows else 0


def _add(retired: dict[str, int], table: str, count: int) -> None:
    if count:
        retired[table] = retired.get(table, 0) + count


def _apply_listing_markers(client: Any, tables: set[str], retired: dict[str, int]) -> None:
    markers = _q(client, LISTING_SCOPES)
    has_keep = "keep" in _columns(client, LISTING_SCOPES)
    not_keep = "keep is not true" if has_keep else "true"
    pending = client.execute_sql(
        f"select table_name, scope_column, _dlt_load_id, min(noticed_at) from {markers}"
        f" where applied_at is null and {not_keep} group by 1, 2, 3 order by 3"
    ) or []
    for table, scope_column, load_id, noticed_at in pending:
        lifecycle = LIFECYCLES.get(table)
        if lifecycle is not None and table in tables:
            target = _q(client, table)
            where = f"{VALID_TO} is null and _dlt_load_id < %s"
            args: list[Any] = [load_id]
            if scope_column:
                # only the scope values this load listed completely
                where += (
                    f" and cast({scope_column} as varchar) in (select scope_value from {markers}"
                    f" where table_name = %s and _dlt_load_id = %s and {not_keep})"
                )
                args += [table, load_id]
            elif has_keep:
                # rows the listing deliberately did not read again stay current
                for (column,) in client.execute_sql(
                    f"select distinct scope_column from {markers} where table_name = %s and _dlt_load_id = %s and keep",
                    table, load_id,
                ) or []:
                    where += (
                        f" and cast({column} as varchar) not in (select scope_value from {markers}"
                        f" where table_name = %s and _dlt_load_id = %s and keep and scope_column = %s)"
                    )
                    args += [table, load_id, column]
            stale = _count(client, f"select count(*) from {target} where {where}", *args)
            if stale:
                client.execute_sql(f"update {target} set {VALID_TO} = %s where {where}", noticed_at, *args)
            _add(retired, table, stale)
        client.execute_sql(
            f"update {markers} set applied_at = %s where table_name = %s and _dlt_load_id = %s and applied_at is null",
            noticed_at, table, load_id,
        )


def _columns(client: Any, table: str) -> set[str]:
    rows = client.execute_sql(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
        client.dataset_name, table,
    )
    return {r[0] for r in rows or []}


def _apply_owners(client: Any, tables: set[str], retired: dict[str, int]) -> None:
    # owners first: a user retires exam enrollments, which then retire their answers
    for lifecycle in owner_order():
        if lifecycle.table not in tables:
            continue
        target = _q(client, lifecycle.table)
        for owner in lifecycle.owners:
            if owner.table not in tables:
                continue
            parent = _q(client, owner.table)
            # retired everywhere: rows exist for the id, none of them current
            gone = (
                f"select {owner.table_column} from {parent} group by {owner.table_column}"
                f" having count(*) = count({VALID_TO})"
            )
            where = f"{VALID_TO} is null and {owner.column} in ({gone})"
            stale = _count(client, f"select count(*) from {target} where {where}")
            if stale:
                client.execute_sql(
                    f"update {target} set {VALID_TO} = (select max(p.{VALID_TO}) from {parent} p"
                    f" where p.{owner.table_column} = {target}.{owner.column}) where {where}"
                )
            _add(retired, lifecycle.table, stale)


def owner_order() -> list[Any]:
    """Tables with owners, each after its owners' own retirement, so a chain (user -> exam enrollment -> answer) resolves in one pass."""
    ordered: list[Any] = []
    pending = [lc for lc in LIFECYCLES.values() if lc.owners]
    while pending:
        for lc in list(pending):
            if all(o.table not in {p.table for p in pending if p is not lc} for o in lc.owners):
                ordered.append(lc)
                pending.remove(lc)
                break
        else:  # a cycle cannot happen with the declarations, but never loop forever
            ordered.extend(pending)
            break
    return ordered
