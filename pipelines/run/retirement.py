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
2. Owners: rows whose owner row is no longer current anywhere in its portal (a deleted user's
   enrollments, exam results and attendance; a retired exam enrollment's answers)
   are retired with it.

The tables the mass-retirement guard watches after the load (pipelines/run/mass_retirement.py:
enrollments) are weighed before they are touched: what their markers and owners would retire is
counted once every other table's markers are applied (a course retired now retires its
enrollments), per portal; a portal whose rows of the table would be mostly retired keeps them, and
its markers are set aside (applied without retiring: a later complete listing decides again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..learnupon.lifecycle import LIFECYCLES, LISTING_SCOPES, VALID_TO
from ..learnupon.tables import PORTAL

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

    `guard`: the portals' rows of a table it stops stay current (the reasons are in `guard.stopped`).
    """
    from .mass_retirement import GUARDED_AFTER_LOAD

    retired: dict[str, int] = {}
    tables = target.tables()
    steps, applied = _listing_marker_steps(target, tables) if LISTING_SCOPES in tables else ([], {})
    guarded = set(GUARDED_AFTER_LOAD) & tables if guard is not None else set()
    for step in steps:
        if step.table not in guarded:
            _add(retired, step.table, step.apply(target))
    kept: dict[str, set[str]] = {}  # table -> the portals whose rows the guard keeps
    for table in sorted(guarded):
        own = [s for s in steps if s.table == table]
        kept[table] = _portals_held(target, tables, table, own, guard)
        for step in own:
            if step.portal not in kept[table]:
                _add(retired, table, step.apply(target))
    if applied:
        target.mark_applied(applied)  # a stopped portal's markers too: set aside, not left to apply later
    _apply_owners(target, tables, retired, kept)
    if retired:
        log.info("retired rows that vanished upstream: %s", retired)
    return retired


@dataclass(frozen=True)
class _Step:
    """One retirement statement: rows of `table` that `where` selects (still current) get `_dlt_valid_to`."""

    table: str
    portal: str  # the portal whose rows it retires
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
    # a marker speaks for its own portal's rows only (a load package holds one portal's rows)
    pending = target.rows(
        f"select table_name, scope_column, {LOAD_ID}, {PORTAL}, min(noticed_at) from {markers}"
        f" where applied_at is null and {not_keep} group by 1, 2, 3, 4 order by 3"
    )
    steps: list[_Step] = []
    applied: dict[tuple[str, str], Any] = {}
    for table, scope_column, load_id, portal, noticed_at in pending:
        applied[(table, load_id)] = min(noticed_at, applied.get((table, load_id), noticed_at))
        if LIFECYCLES.get(table) is None or table not in tables:
            continue
        where = f"{VALID_TO} is null and {LOAD_ID} < {p} and {PORTAL} = {p}"
        args: list[Any] = [load_id, portal]
        mine = f"table_name = {p} and {LOAD_ID} = {p} and {PORTAL} = {p}"
        if scope_column:
            # only the scope values this load listed completely
            where += f" and cast({scope_column} as varchar) in (select scope_value from {markers} where {mine} and {not_keep})"
            args += [table, load_id, portal]
        elif has_keep:
            # rows the listing deliberately did not read again stay current
            for (column,) in target.rows(
                f"select distinct scope_column from {markers} where {mine} and keep", table, load_id, portal
            ):
                where += (
                    f" and cast({column} as varchar) not in (select scope_value from {markers}"
                    f" where {mine} and keep and scope_column = {p})"
                )
                args += [table, load_id, portal, column]
        steps.append(_Step(table, portal, where, tuple(args), p, (noticed_at,)))
    return steps, applied


def _owner_conditions(target: RetiringTables, tables: set[str], table: str) -> list[tuple[str, str]]:
    """(where, valid_to) per owner of `table`: its current rows whose owner is retired everywhere in its portal."""
    lifecycle = LIFECYCLES.get(table)
    conditions = []
    row = target.qualified(table)
    for owner in lifecycle.owners if lifecycle else ():
        if owner.table not in tables:
            continue
        parent = target.qualified(owner.table)
        # retired everywhere in its portal: rows exist for the (portal, id), none of them current
        gone = (
            f"select {PORTAL}, {owner.table_column} from {parent} group by {PORTAL}, {owner.table_column}"
            f" having count(*) = count({VALID_TO})"
        )
        where = f"{VALID_TO} is null and ({PORTAL}, {owner.column}) in ({gone})"
        when = (
            f"(select max(p.{VALID_TO}) from {parent} p"
            f" where p.{PORTAL} = {row}.{PORTAL} and p.{owner.table_column} = {row}.{owner.column})"
        )
        conditions.append((where, when))
    return conditions


def _portals_held(target: RetiringTables, tables: set[str], table: str, steps: list[_Step], guard: MassRetirementGuard) -> set[str]:
    """The portals whose rows of `table` the guard keeps: what `steps` and the owner rules would retire of
    each portal's current rows, counted before anything of the table is touched."""
    conditions = [(s.where, s.args) for s in steps] + [(w, ()) for w, _ in _owner_conditions(target, tables, table)]
    if not conditions:
        return set()
    qualified = target.qualified(table)
    current = dict(target.rows(f"select {PORTAL}, count(*) from {qualified} where {VALID_TO} is null group by 1"))
    either = " or ".join(f"({where})" for where, _ in conditions)
    args = [a for _, condition_args in conditions for a in condition_args]
    retiring = target.rows(
        f"select {PORTAL}, count(*) from {qualified} where {VALID_TO} is null and ({either}) group by 1", *args
    )
    return {
        portal for portal, count in retiring
        if not guard.check(table, int(current.get(portal) or 0), int(count or 0), portal=portal)
    }


def _apply_owners(target: RetiringTables, tables: set[str], retired: dict[str, int], kept: dict[str, set[str]]) -> None:
    # owners first: a user retires exam enrollments, which then retire their answers
    for lifecycle in owner_order():
        if lifecycle.table not in tables:
            continue
        held = kept.get(lifecycle.table, set())
        for where, when in _owner_conditions(target, tables, lifecycle.table):
            args: list[Any] = []
            if held:  # the portals whose rows of this table the guard keeps
                where += f" and {PORTAL} not in ({', '.join([target.param] * len(held))})"
                args = sorted(held)
            _add(retired, lifecycle.table, target.retire(lifecycle.table, where, args, when, []))


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
