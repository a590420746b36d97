"""After a load: mark rows that disappeared upstream as history (`_dlt_valid_to`), as lifecycle.py declares.

The rules, for every destination; how a destination reads its tables and sets `_dlt_valid_to` on
the rows a rule selects is its `RetiringTables` (`Destination.retiring_tables`: dlt's SQL client on
DuckDB, Parquet's working file and PostgreSQL, a Delta MERGE on the lake). Idempotent: each step
only touches rows that are still current, and markers are marked applied after their rows are
retired, so a run killed half-way is finished by the next one.

1. Listing markers (`listing_scopes` rows not yet applied): a table, or one scope
   value of it (a course's modules, a user's enrollments), was listed completely
   by the load that carries the marker; current rows of that scope written by an
   older load were not listed again, so they are retired as of the marker.
2. Owners: rows whose owner row is no longer current anywhere (a deleted user's
   enrollments, exam results and attendance; a retired exam enrollment's answers)
   are retired with it.

The tables the mass-retirement guard watches after the load (pipelines/run/mass_retirement.py:
enrollments) are weighed before they are touched: what their markers and owners would retire is
counted once every other table's markers are applied (a course retired now retires its
enrollments); a table that would lose most of its current rows keeps them, and its markers are set
aside (applied without retiring: a later complete listing decides again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..learnupon.lifecycle import LIFECYCLES, LISTING_SCOPES, VALID_TO

if TYPE_CHECKING:
    from .mass_retirement import MassRetirementGuard

log = logging.getLogger("lms_warehouse.retirement")

LOAD_ID = "_dlt_load_id"  # which load wrote a row: older than a marker's load means not listed again


class RetiringTables(Protocol):
    """One destination's raw tables as retirement reads and changes them (SQL in DuckDB's dialect)."""

    param: str  # the query parameter's placeholder

    def tables(self) -> set[str]:
        """The raw tables that exist."""

    def columns(self, table: str) -> set[str]:
        """The columns of a raw table."""

    def qualified(self, table: str) -> str:
        """The table's name in SQL."""

    def rows(self, sql: str, *args: Any) -> list[tuple]:
        """A query's rows."""

    def retire(self, table: str, where: str, args: list[Any], valid_to: str, valid_to_args: list[Any]) -> int:
        """Set `_dlt_valid_to` to `valid_to` (an expression over the table's row, by its qualified name)
        on the rows `where` selects (each still current); returns how many."""

    def mark_applied(self, applied: dict[tuple[str, str], Any]) -> None:
        """(table, load id) -> when: the markers of that table and load are applied as of then."""


def retire_vanished_rows(target: RetiringTables, guard: MassRetirementGuard | None = None) -> dict[str, int]:
    """Apply every pending retirement; returns rows retired per table (only tables that changed).

    `guard`: tables it stops keep their rows (the reason is in `guard.stopped`).
    """
    from .mass_retirement import GUARDED_AFTER_LOAD

    retired: dict[str, int] = {}
    tables = target.tables()
    steps, applied = _listing_marker_steps(target, tables) if LISTING_SCOPES in tables else ([], {})
    guarded = set(GUARDED_AFTER_LOAD) if guard is not None else set()
    for step in steps:
        if step.table not in guarded:
            _add(retired, step.table, step.apply(target))
    kept: set[str] = set()
    for table in sorted(guarded & tables):
        if _may_retire(target, tables, table, [s for s in steps if s.table == table], guard):
            for step in steps:
                if step.table == table:
                    _add(retired, table, step.apply(target))
        else:
            kept.add(table)
    if applied:
        target.mark_applied(applied)  # a stopped table's markers too: set aside, not left to apply later
    _apply_owners(target, tables, retired, skip=kept)
    if retired:
        log.info("retired rows that vanished upstream: %s", retired)
    return retired


@dataclass(frozen=True)
class _Step:
    """One retirement statement: rows of `table` that `where` selects (still current) get `_dlt_valid_to`."""

    table: str
    where: str
    args: tuple[Any, ...]
    valid_to: str
    valid_to_args: tuple[Any, ...] = ()

    def apply(self, target: RetiringTables) -> int:
        return target.retire(self.table, self.where, list(self.args), self.valid_to, list(self.valid_to_args))


def _add(retired: dict[str, int], table: str, count: int) -> None:
    if count:
        retired[table] = retired.get(table, 0) + count


def _listing_marker_steps(target: RetiringTables, tables: set[str]) -> tuple[list[_Step], dict[tuple[str, str], Any]]:
    """The statements the pending listing markers call for, and the markers to mark applied after them."""
    p = target.param
    markers = target.qualified(LISTING_SCOPES)
    has_keep = "keep" in target.columns(LISTING_SCOPES)
    not_keep = "keep is not true" if has_keep else "true"
    pending = target.rows(
        f"select table_name, scope_column, {LOAD_ID}, min(noticed_at) from {markers}"
        f" where applied_at is null and {not_keep} group by 1, 2, 3 order by 3"
    )
    steps: list[_Step] = []
    applied: dict[tuple[str, str], Any] = {}
    for table, scope_column, load_id, noticed_at in pending:
        applied[(table, load_id)] = min(noticed_at, applied.get((table, load_id), noticed_at))
        if LIFECYCLES.get(table) is None or table not in tables:
            continue
        where = f"{VALID_TO} is null and {LOAD_ID} < {p}"
        args: list[Any] = [load_id]
        if scope_column:
            # only the scope values this load listed completely
            where += (
                f" and cast({scope_column} as varchar) in (select scope_value from {markers}"
                f" where table_name = {p} and {LOAD_ID} = {p} and {not_keep})"
            )
            args += [table, load_id]
        elif has_keep:
            # rows the listing deliberately did not read again stay current
            for (column,) in target.rows(
                f"select distinct scope_column from {markers} where table_name = {p} and {LOAD_ID} = {p} and keep",
                table, load_id,
            ):
                where += (
                    f" and cast({column} as varchar) not in (select scope_value from {markers}"
                    f" where table_name = {p} and {LOAD_ID} = {p} and keep and scope_column = {p})"
                )
                args += [table, load_id, column]
        steps.append(_Step(table, where, tuple(args), p, (noticed_at,)))
    return steps, applied


def _owner_conditions(target: RetiringTables, tables: set[str], table: str) -> list[tuple[str, str]]:
    """(where, valid_to) per owner of `table`: its current rows whose owner is retired everywhere."""
    lifecycle = LIFECYCLES.get(table)
    conditions = []
    row = target.qualified(table)
    for owner in lifecycle.owners if lifecycle else ():
        if owner.table not in tables:
            continue
        parent = target.qualified(owner.table)
        # retired everywhere: rows exist for the id, none of them current
        gone = (
            f"select {owner.table_column} from {parent} group by {owner.table_column}"
            f" having count(*) = count({VALID_TO})"
        )
        where = f"{VALID_TO} is null and {owner.column} in ({gone})"
        when = f"(select max(p.{VALID_TO}) from {parent} p where p.{owner.table_column} = {row}.{owner.column})"
        conditions.append((where, when))
    return conditions


def _may_retire(target: RetiringTables, tables: set[str], table: str, steps: list[_Step], guard: MassRetirementGuard) -> bool:
    """Whether the guard lets `steps` and the owner rules retire what they would of `table` (counted first)."""
    conditions = [(s.where, s.args) for s in steps] + [(w, ()) for w, _ in _owner_conditions(target, tables, table)]
    if not conditions:
        return True
    qualified = target.qualified(table)
    ((current,),) = target.rows(f"select count(*) from {qualified} where {VALID_TO} is null")
    either = " or ".join(f"({where})" for where, _ in conditions)
    args = [a for _, condition_args in conditions for a in condition_args]
    ((retiring,),) = target.rows(f"select count(*) from {qualified} where {VALID_TO} is null and ({either})", *args)
    return guard.check(table, int(current or 0), int(retiring or 0))


def _apply_owners(target: RetiringTables, tables: set[str], retired: dict[str, int], skip: set[str] = frozenset()) -> None:
    # owners first: a user retires exam enrollments, which then retire their answers
    for lifecycle in owner_order():
        if lifecycle.table not in tables or lifecycle.table in skip:
            continue
        for where, when in _owner_conditions(target, tables, lifecycle.table):
            _add(retired, lifecycle.table, target.retire(lifecycle.table, where, [], when, []))


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
