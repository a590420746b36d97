"""Columns a load never stores, or stores only as keyed pseudonyms (docs/personal-data.md).

LMS_BLOCK_COLUMNS and LMS_HASH_COLUMNS (or `block_columns` / `hash_columns` under `[privacy]` in
.dlt/config.toml) name `table.column`s of the raw tables that hold personal data (a class other than
none in the table registry), never a key, a scope or an owner column the pipeline keys rows on. The
records a resource read are changed before they become Arrow tables (`tables.to_table`), so dlt, its
load packages, the warehouse, its history and `data_issues` only ever see what is left:
- blocked: the value is dropped; a column of the spec stays, always NULL (the schema and every model
  stay as documented), a field the spec does not type is not created;
- hashed: the value is replaced by its keyed pseudonym (pseudonyms.py, LMS_PSEUDONYM_KEY), so it still
  joins and counts but cannot be read.
A row hash (SCD2's version column) is computed again from what is kept, so history holds no trace of a
blocked value either. The default blocks and hashes nothing: the reports need every column they read.
Values stored before a column was blocked stay until they are erased; blocking applies from the next load.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..learnupon.errors import ConfigError
from ..learnupon.personal_data import NONE
from .pseudonyms import pseudonym
from .settings import names, pseudonym_key

ROW_HASH = "row_hash"


@dataclass(frozen=True)
class ColumnPolicy:
    blocked: dict[str, frozenset[str]] = field(default_factory=dict)
    hashed: dict[str, frozenset[str]] = field(default_factory=dict)
    key: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls) -> ColumnPolicy:
        """The configured policy, checked whole: one ConfigError line for the first problem."""
        blocked = _parse("block_columns")
        hashed = _parse("hash_columns")
        both = sorted(f"{t}.{c}" for t, cs in blocked.items() for c in cs & hashed.get(t, frozenset()))
        if both:
            raise ConfigError(f"{', '.join(both)} both blocked and hashed (LMS_BLOCK_COLUMNS, LMS_HASH_COLUMNS): choose one")
        for table, columns in hashed.items():
            from ..learnupon.tables import TABLES

            spec = TABLES[table].columns
            typed = sorted(c for c in columns if spec.get(c, "text") not in ("text", "json"))
            if typed:
                raise ConfigError(f"LMS_HASH_COLUMNS: {table}.{typed[0]} is not text; only text columns can be hashed")
        key = pseudonym_key("LMS_HASH_COLUMNS") if hashed else None
        return cls(blocked, hashed, key)

    def __bool__(self) -> bool:
        return bool(self.blocked or self.hashed)

    def apply(self, table: str, records: Any) -> Any:
        """`records` of raw table `table` with the blocked values dropped and the hashed ones pseudonymised."""
        blocked, hashed = self.blocked.get(table), self.hashed.get(table)
        if not blocked and not hashed:
            return records
        from ..learnupon.resources.common import row_hash
        from ..learnupon.tables import TABLES

        spec = TABLES[table].columns
        out = []
        for record in records:
            kept = dict(record)
            for column in blocked or ():
                if column in spec:
                    kept[column] = None
                else:
                    kept.pop(column, None)
            for column in hashed or ():
                if kept.get(column) is not None:
                    kept[column] = pseudonym(self.key, kept[column])  # type: ignore[arg-type]
            if ROW_HASH in kept:  # computed by the resource from the whole record: again, from what is kept
                kept[ROW_HASH] = row_hash({k: v for k, v in kept.items() if k != ROW_HASH})
            out.append(kept)
        return out

    def issue_value(self, table: str, column: str | None, value: str | None) -> str | None:
        """A `data_issues` raw value of a blocked column is dropped, of a hashed one pseudonymised."""
        if value is None or column is None:
            return value
        if column in self.blocked.get(table, ()):
            return None
        if column in self.hashed.get(table, ()):
            return pseudonym(self.key, value)  # type: ignore[arg-type]
        return value


def _parse(setting: str) -> dict[str, frozenset[str]]:
    from ..learnupon.tables import PERSONAL_DATA, TABLES

    env = f"LMS_{setting.upper()}"
    chosen: dict[str, set[str]] = {}
    for name in names(setting):
        table, _, column = name.partition(".")
        if table not in TABLES or not column:
            raise ConfigError(f"{env}: {name!r} is not table.column of a raw table (docs/data-dictionary.md lists them)")
        classes = PERSONAL_DATA[table]
        if column not in classes:
            raise ConfigError(f"{env}: {table} has no column {column!r}")
        if classes[column] == NONE:
            raise ConfigError(f"{env}: {name} holds no personal data (its class is none); only personal data can be {setting.split('_')[0]}ed")
        entry = TABLES[table]
        keyed = {*entry.primary_key, *entry.row_key, *entry.unique_key, *(entry.merge_key or ()), entry.scope, ROW_HASH}
        keyed |= {owner.column for owner in entry.owners}
        if column in keyed:
            raise ConfigError(f"{env}: {name} keys the table's rows (a key, scope or owner column): it cannot be {setting.split('_')[0]}ed")
        chosen.setdefault(table, set()).add(column)
    return {table: frozenset(columns) for table, columns in chosen.items()}


_active = ColumnPolicy()  # the policy of the run in progress in this process (resources run in its threads)


def active() -> ColumnPolicy:
    return _active


@contextmanager
def applied(policy: ColumnPolicy) -> Iterator[None]:
    global _active
    before, _active = _active, policy
    try:
        yield
    finally:
        _active = before
