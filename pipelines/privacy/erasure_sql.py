"""Erasing one or more people in SQL tables (DuckDB, PostgreSQL, or DuckDB over Delta tables read into it).

People are erased in their portal (ids repeat across a realm's portals): in a table with a `portal` column only
that portal's rows are matched; a table without one (the sync's, the HR roster) is matched by the person's
emails, usernames and names alone, never by an id another portal may share.

Three passes, each over the tables present:
1. the raw tables (the dataset and dlt's staging dataset), by the registry's people (person_columns.py): where a
   row names an erased person (by id, email, username, login or full name), that person's direct identifiers and
   other quasi-identifiers become keyed pseudonyms and the free text about them NULL; ids and facts stay;
2. the user sync's records: the HR roster's rows naming the person (every text cell pseudonymised) and the sync
   journal's actions on them;
3. a sweep of every text column of every other table and of the raw ones: a cell that contains an erased email,
   full name or (long enough) username becomes its pseudonym (data_issues' raw values, the models' tables, a
   run's error text).

The values searched for are in temporary tables of the session only; never in SQL text, logs or errors.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any

from ..learnupon.tables import PORTAL
from .person_columns import Person, people
from .pseudonyms import pseudonym

IDS, VALUES, SWEPT, MAP = "lms_erase_ids", "lms_erase_values", "lms_erase_swept", "lms_erase_map"
SWEEP_MIN_LENGTH = 8  # a username shorter than this is matched whole only: inside other text it may be a common word
TEXT_TYPES = ("varchar", "text", "character varying", "json", "jsonb")


class EraseEngine(ABC):
    """A writable SQL session (one engine's dialect differences are these methods)."""

    marker = "?"  # a query parameter

    @abstractmethod
    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows a query returns."""

    @abstractmethod
    def changed(self, sql: str) -> int:
        """Rows an UPDATE changed."""

    @abstractmethod
    def insert(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """One INSERT statement run for each of `rows`."""

    def tables(self) -> dict[tuple[str, str], dict[str, str]]:
        """(schema, table) -> column -> data type (lower case), for every base table."""
        found: dict[tuple[str, str], dict[str, str]] = {}
        for schema, table, column, kind in self.rows(
            "select c.table_schema, c.table_name, c.column_name, lower(c.data_type) from information_schema.columns c"
            " join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name"
            " where t.table_type = 'BASE TABLE' and c.table_schema not in ('information_schema', 'pg_catalog')"
            " and c.table_schema not like 'pg_temp%' and c.table_schema not like 'pg_toast%'"
            " order by c.table_schema, c.table_name, c.ordinal_position"
        ):
            found.setdefault((schema, table), {})[column] = kind
        return found


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(kind: str) -> bool:
    return kind.startswith(TEXT_TYPES) and not kind.endswith("[]")


def erase_people(engine: EraseEngine, dataset: str, targets: Mapping[str, tuple[set[int], set[str]]], key: bytes) -> dict[str, int]:
    """Erase, per portal, the people with these LearnUpon ids and identifiers (normalised emails, usernames, full
    names) in every table of the session's database; returns rows changed per `schema.table`."""
    from ..learnupon.tables import TABLES
    from ..sync.journal import SCHEMA as sync_schema
    from ..sync.roster import HR_DATASET as hr_dataset

    m = engine.marker
    engine.rows(f"create temp table {IDS} (erased_portal varchar, erased_id bigint)")
    engine.rows(f"create temp table {VALUES} (erased_portal varchar, erased_value varchar)")
    engine.rows(f"create temp table {SWEPT} (erased_portal varchar, erased_value varchar)")
    engine.rows(f"create temp table {MAP} (c varchar, v varchar, p varchar)")
    ids = [(portal, int(i)) for portal, (user_ids, _) in sorted(targets.items()) for i in sorted(user_ids)]
    values = [(portal, v) for portal, (_, found) in sorted(targets.items()) for v in sorted(found)]
    # found inside other text: emails, full names, and usernames long enough to mean the person
    swept = [(portal, v) for portal, v in values if "@" in v or " " in v or len(v) >= SWEEP_MIN_LENGTH]
    for temp, rows in ((IDS, ids), (VALUES, values), (SWEPT, swept)):
        if rows:
            engine.insert(f"insert into {temp} values ({m}, {m})", rows)
    counts: dict[str, int] = {}
    tables = engine.tables()
    try:
        for (schema, table), columns in tables.items():
            if table.startswith("_dlt"):
                continue
            rules: list[Person] = []
            if schema in (dataset, f"{dataset}_staging") and table in TABLES:
                rules = list(people(table))
            elif schema == sync_schema and table == "sync_actions":
                rules = [Person("", "learnupon_user_id", ("email",), None, (), ("email", "external_id"), ("changes", "detail", "error"))]
            elif schema.startswith(hr_dataset) and table == "roster":
                text = tuple(c for c, kind in columns.items() if _text(kind) and not c.startswith("_dlt") and c != "run_id")
                rules = [Person("", None, text, None, (), text, ())]
            scoped = PORTAL in columns
            changed = sum(_erase_rows(engine, schema, table, columns, rule, key, scoped) for rule in rules)
            if swept:
                changed += _sweep(engine, schema, table, columns, key, scoped)
            if changed:
                counts[f"{schema}.{table}"] = changed
    finally:
        for temp in (IDS, VALUES, SWEPT, MAP):
            engine.rows(f"drop table if exists {temp}")
    return counts


def _in(temp: str, column: str, value_sql: str, scoped: bool) -> str:
    """SQL true when `value_sql` is one of `temp`'s erased values (`column`), of the row's portal when `scoped`."""
    portal = f" and erased_portal = {_q(PORTAL)}" if scoped else ""
    return f"exists (select 1 from {temp} where {column} = {value_sql}{portal})"


def _match(person: Person, columns: dict[str, str], scoped: bool) -> str | None:
    """SQL true when a row names `person` (an erased one, in the row's portal when `scoped`); None when the table
    has nothing to find them by. An id is matched only within a portal: unscoped, another portal may share it."""
    clauses = []
    if person.id_column in columns and scoped:
        clauses.append(_in(IDS, "erased_id", _q(person.id_column), scoped))  # type: ignore[arg-type]
    for column in (*person.unique, *person.full_names):
        if column in columns:
            clauses.append(_in(VALUES, "erased_value", f"lower(trim(cast({_q(column)} as varchar)))", scoped))
    if person.first_last and all(c in columns for c in person.first_last):
        first, last = (_q(c) for c in person.first_last)
        clauses.append(_in(VALUES, "erased_value", f"lower(trim({first}) || ' ' || trim({last}))", scoped))
    return " or ".join(f"({c})" for c in clauses) or None


def _pseudonymise(engine: EraseEngine, key: bytes, source: str, column: str) -> str:
    """Add the pseudonyms of `column`'s values in `source` (a subquery) to the map; the expression replacing it."""
    found = [r[0] for r in engine.rows(f"select distinct cast({_q(column)} as varchar) from {source} where {_q(column)} is not null")]
    if found:
        engine.insert(
            f"insert into {MAP} values ({engine.marker}, {engine.marker}, {engine.marker})",
            [(column, v, pseudonym(key, v)) for v in found],
        )
    return f"(select p from {MAP} where c = '{column}' and v = cast({_q(column)} as varchar))"


def _erase_rows(engine: EraseEngine, schema: str, table: str, columns: dict[str, str], person: Person, key: bytes,
                scoped: bool) -> int:
    match = _match(person, columns, scoped)
    if match is None:
        return 0
    name = f"{_q(schema)}.{_q(table)}"
    engine.rows(f"delete from {MAP}")
    # text is pseudonymised; free text, JSON and other types are dropped
    replaced = [c for c in person.replaced if c in columns and _text(columns[c]) and not columns[c].startswith("json")]
    dropped = [c for c in dict.fromkeys((*person.dropped, *person.replaced)) if c in columns and c not in replaced]
    matched = f"(select * from {name} where {match}) as m"
    assignments = [f"{_q(c)} = {_pseudonymise(engine, key, matched, c)}" for c in replaced]
    assignments += [f"{_q(c)} = null" for c in dropped]
    if not assignments:
        return 0
    # one statement: every assignment reads the row as it was, so a row found by its email loses its names too
    return engine.changed(f"update {name} set {', '.join(assignments)} where {match}")


def _sweep(engine: EraseEngine, schema: str, table: str, columns: dict[str, str], key: bytes, scoped: bool) -> int:
    """Cells of any text column that contain an erased identifier (of the row's portal when `scoped`) become
    their pseudonym (JSON: NULL)."""
    name = f"{_q(schema)}.{_q(table)}"
    changed = 0
    for column, kind in columns.items():
        if not _text(kind) or column.startswith("_dlt"):
            continue
        portal = f" and erased_portal = {_q(PORTAL)}" if scoped else ""
        holds = f"exists (select 1 from {SWEPT} where strpos(lower(cast({_q(column)} as varchar)), erased_value) > 0{portal})"
        engine.rows(f"delete from {MAP}")
        replacement = _pseudonymise(engine, key, f"(select * from {name} where {holds}) as m", column)
        if engine.rows(f"select count(*) from {MAP}")[0][0]:
            if kind.startswith("json"):
                replacement = "null"
            changed = max(changed, engine.changed(f"update {name} set {_q(column)} = {replacement} where {holds}"))
    return changed
