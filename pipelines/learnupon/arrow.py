"""Turn a page of API records into a typed Arrow table, quarantining bad values.

dlt loads Arrow tables as Parquet without its row-by-row normalizer, which is an
order of magnitude faster than yielding dicts. Each table has a column spec in
schema.py. A column converts in one vectorised step when every value already
has the right type; only a column that fails falls back to per-value parsing,
where a value that cannot be read becomes NULL and is reported as a data issue
(never a reason to stop the load). A record without a usable primary key is
dropped and reported. Keys the spec does not know are kept as text columns, so
a field LearnUpon adds later is not lost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timezone
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from .records import parse_bool, parse_float, parse_int, parse_timestamp

TS = pa.timestamp("us", tz="UTC")
ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "text": pa.string(),
    "timestamp": TS,
    "json": pa.string(),
}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_PARSERS: dict[str, Callable[[Any], Any]] = {
    "int": parse_int,
    "float": parse_float,
    "bool": parse_bool,
    "timestamp": parse_timestamp,
}


def _to_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class DataIssue:
    table: str
    record_key: str | None
    column: str | None
    raw_value: str | None
    problem: str

    def as_row(self, noticed_at: datetime) -> dict[str, Any]:
        return {
            "table_name": self.table,
            "record_key": self.record_key,
            "column_name": self.column,
            "raw_value": (self.raw_value or "")[:200] or None,
            "problem": self.problem,
            "noticed_at": noticed_at,
        }


@dataclass
class FieldsSeen:
    """Per table, over one run: records read, fields seen, and fields no spec knows (count and one example)."""

    records: int = 0
    seen: set[str] = field(default_factory=set)
    unexpected: dict[str, list[Any]] = field(default_factory=dict)  # field -> [records carrying it, example]


@dataclass
class IssueLog:
    """Data problems found while converting; loaded to the `data_issues` table and printed in the run summary.

    It also watches the contract: per table, the fields the API sent that the spec
    does not know and the spec's fields that never came (`drift_rows`), so an API
    change shows in the warehouse (`contract_drift`) before it breaks a report.
    """

    issues: list[DataIssue] = field(default_factory=list)
    # the portal whose records this log's conversions read (`tables.to_table`: its erased people stay erased)
    portal: str = ""
    fields: dict[str, FieldsSeen] = field(default_factory=dict)
    _lock: Any = field(default_factory=lambda: __import__("threading").Lock(), repr=False)

    def add(self, *args: Any) -> None:
        from ..privacy.load_columns import active

        issue = DataIssue(*args)
        issue.raw_value = active().issue_value(issue.table, issue.column, issue.raw_value)  # a blocked value: never kept
        self.issues.append(issue)

    def observe(self, table: str, rows: Sequence[dict[str, Any]], seen: set[str], columns: dict[str, str]) -> None:
        unknown = [name for name in seen.difference(columns) if not name.startswith("_")]
        with self._lock:
            entry = self.fields.setdefault(table, FieldsSeen())
            entry.records += len(rows)
            entry.seen |= seen
            for name in unknown:
                carrying = [r[name] for r in rows if name in r]
                slot = entry.unexpected.setdefault(name, [0, None])
                slot[0] += len(carrying)
                if slot[1] is None:
                    slot[1] = next((v for v in carrying if v is not None), None)

    def drift_rows(self, specs: dict[str, dict[str, str]] | None = None, endpoints: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """One row per (table, field) that drifted from the spec this run."""
        from .tables import TABLE_ENDPOINTS, TABLE_SPECS

        specs = specs or TABLE_SPECS
        endpoints = endpoints or TABLE_ENDPOINTS
        rows: list[dict[str, Any]] = []
        for table, entry in sorted(self.fields.items()):
            base = {"table_name": table, "endpoint": endpoints.get(table)}
            for name, (count, example) in sorted(entry.unexpected.items()):
                rows.append({**base, "field": name, "drift": "unexpected field", "records": count, "example": mask(example)})
            spec = specs.get(table) or {}
            if entry.records:
                for name in sorted(n for n in spec if not n.startswith("_") and n not in entry.seen):
                    rows.append({**base, "field": name, "drift": "expected field missing", "records": entry.records, "example": None})
        return rows

    def rows(self) -> list[dict[str, Any]]:
        now = datetime.now(timezone.utc)
        return [i.as_row(now) for i in self.issues]


def mask(value: Any) -> str | None:
    """An example value with personal data masked: its type and shape, never its content."""
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, (int, float)):
        return f"{type(value).__name__}"
    if isinstance(value, str):
        if "@" in value:
            return "email-like string"
        return f"string of {len(value)} characters" if value else "empty string"
    if isinstance(value, dict):
        return "object with keys " + ", ".join(sorted(str(k) for k in value)[:10])
    if isinstance(value, list):
        return f"list of {len(value)}"
    return type(value).__name__


def to_arrow(
    records: Sequence[dict[str, Any]],
    columns: dict[str, str],
    *,
    table: str,
    key: Sequence[str],
    issues: IssueLog,
    extra: dict[str, Any] | None = None,
) -> pa.Table:
    """Typed Arrow table for `records` following the `columns` spec (name -> kind).

    `key` names the primary key columns: records missing one are dropped and
    reported. `extra` adds constant columns (e.g. a parent id or snapshot date).
    """
    rows = records if isinstance(records, list) else list(records)
    if rows:
        seen: set[str] = set()
        for r in rows:
            seen.update(r)
        issues.observe(table, rows, seen, columns)
    result = convert_at_once(rows, columns, table=table, key=key, issues=issues)
    if result is None:
        result = convert_by_column(rows, columns, table=table, key=key, issues=issues)
    if extra:
        for name, value in extra.items():
            result = result.append_column(name, pa.array([value] * len(result)))
    if key:  # keys are never NULL: say so, as dlt's schema does for primary keys
        fields = [f.with_nullable(False) if f.name in key else f for f in result.schema]
        result = result.cast(pa.schema(fields, metadata=result.schema.metadata))
    return result


@lru_cache(maxsize=256)
def _struct_type(spec: tuple[tuple[str, str], ...]) -> pa.StructType:
    """The row type a clean page converts to in one pass: timestamps arrive as text and are cast after."""
    return pa.struct([(name, pa.string() if kind == "timestamp" else ARROW_TYPES[kind]) for name, kind in spec])


def convert_at_once(
    rows: list[dict[str, Any]], columns: dict[str, str], *, table: str, key: Sequence[str], issues: IssueLog
) -> pa.Table | None:
    """The page converted by Arrow in one pass over the records, or None when it is not clean.

    Clean: no key the spec does not know, every number, boolean and text already of
    its column's type, every record with its key. Anything else goes column by column
    (`convert_by_column`), which decides NULLs and reports; both give the same table for a
    clean page. Timestamps arrive as text and are cast after, a column that does not
    cast in one step (dates without a time, say) being read value by value; JSON
    columns hold objects and lists, which a struct cannot take as text, so they are
    converted on their own.
    """
    if not rows:
        return None
    seen: set[str] = set()
    for r in rows:
        seen.update(r)
    if any(not name.startswith("_") for name in seen.difference(columns)):
        return None
    spec = tuple((name, kind) for name, kind in columns.items() if kind != "json")
    try:
        parsed = pa.Table.from_struct_array(pa.array(rows, type=_struct_type(spec)))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        return None
    for k in key:
        column = parsed[k]
        if column.null_count or (pa.types.is_string(column.type) and pc.any(pc.equal(column, "")).as_py()):
            return None
    arrays: list[Any] = []
    for name, kind in columns.items():
        if kind == "timestamp":
            try:
                arrays.append(pc.cast(parsed[name], TS))
                continue
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        elif kind != "json":
            arrays.append(parsed[name])
            continue
        arrays.append(_column([r.get(name) for r in rows], kind, name, rows, key, table, issues))
    return pa.Table.from_arrays(arrays, names=list(columns))


def convert_by_column(
    rows: list[dict[str, Any]],
    columns: dict[str, str],
    *,
    table: str,
    key: Sequence[str],
    issues: IssueLog,
) -> pa.Table:
    """Column by column: a column with a bad value is read value by value, the bad value becomes NULL and is reported."""
    if key:
        kept = []
        for r in rows:
            if any(r.get(k) in (None, "") for k in key):
                issues.add(table, None, ",".join(key), _to_text(r)[:200], "record without its primary key: dropped")
            else:
                kept.append(r)
        rows = kept

    seen: set[str] = set()
    for r in rows:
        seen.update(r.keys())
    unknown = sorted(k for k in seen - columns.keys() if not k.startswith("_"))

    arrays: list[pa.Array] = []
    names: list[str] = []
    for name, kind in list(columns.items()) + [(k, "json") for k in unknown]:
        values = [r.get(name) for r in rows]
        arrays.append(_column(values, kind, name, rows, key, table, issues))
        names.append(name)
    result = pa.Table.from_arrays(arrays, names=names)

    # key columns must be valid, or the row cannot be merged: drop rows whose key failed to parse
    if key and len(result):
        mask = None
        for k in key:
            valid = pc.is_valid(result[k])
            mask = valid if mask is None else pc.and_(mask, valid)
        if not pc.all(mask).as_py():
            result = result.filter(mask)
    return result


def _column(
    values: list[Any],
    kind: str,
    name: str,
    rows: list[dict[str, Any]],
    key: Sequence[str],
    table: str,
    issues: IssueLog,
) -> pa.Array:
    target = ARROW_TYPES[kind]
    if kind in ("text", "json"):
        try:
            return pa.array(values, type=pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            return pa.array([_to_text(v) for v in values], type=pa.string())
    if kind == "timestamp":
        try:
            return pc.cast(pa.array(values, type=pa.string()), TS)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
            pass
    else:
        try:
            return pa.array(values, type=target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            pass
    # slow path: one value at a time, so one bad value costs one cell, not the page
    parse = _PARSERS[kind]
    out: list[Any] = []
    for value, row in zip(values, rows):
        try:
            parsed = parse(value)
            if kind == "int" and parsed is not None and not _INT64_MIN <= parsed <= _INT64_MAX:
                raise OverflowError(value)  # a number no warehouse column can hold
            out.append(parsed)
        except (ValueError, TypeError, OverflowError):
            out.append(None)
            issues.add(table, _key_text(row, key), name, _to_text(value), f"not a valid {kind}: set to NULL")
    return pa.array(out, type=target)


def _key_text(row: dict[str, Any], key: Sequence[str]) -> str | None:
    if not key:
        return None
    return ",".join(str(row.get(k)) for k in key)


BATCH_ROWS = 10_000


class ItemBatches:
    """A resource's items as dlt should get them: the pages' Arrow tables of each table joined into tables of
    about `rows` rows, every other item in its place.

    dlt's extract costs a few milliseconds per item whatever its size (it computes and merges the table's
    schema for every Arrow item, checks hints, writes a buffer), so a million enrollments handed over as
    500-row pages spent seconds there, and a small portal's run of 40 tables most of its extract. An item
    that is not an Arrow table with rows (an empty table that creates one, anything else) first lets every
    batch go, so it never overtakes rows yielded before it. Items sent to another table keep their hints
    (dlt's DataItemWithMeta: `meta` and `data`); a batch holds items with equal hints only. Tables whose
    columns cannot be joined (a field's type changed between pages) go on as they came.
    """

    def __init__(self, rows: int = BATCH_ROWS) -> None:
        self.rows = rows
        self.open: dict[str, tuple[Any, list[pa.Table], int]] = {}  # table -> (the item's meta, tables, rows)

    def add(self, item: Any, table: str) -> list[Any]:
        """Keep `item` (going to `table`) if it joins a batch; what is ready to go, in order."""
        meta = getattr(item, "meta", None)
        data = getattr(item, "data", item) if meta is not None else item
        if not isinstance(data, pa.Table) or not data.num_rows:
            return [*self.flush(), item]
        ready: list[Any] = []
        kept = self.open.get(table)
        if kept is not None and not _same_meta(kept[0], meta):
            ready += self._take(table)
            kept = None
        _, tables, rows = kept or (meta, [], 0)
        tables.append(data)
        self.open[table] = (meta, tables, rows + data.num_rows)
        if rows + data.num_rows >= self.rows:
            ready += self._take(table)
        return ready

    def flush(self) -> list[Any]:
        """Every batch still open, joined, in the order the tables first came."""
        return [item for table in list(self.open) for item in self._take(table)]

    def _take(self, table: str) -> list[Any]:
        meta, tables, _ = self.open.pop(table)
        try:
            joined = [pa.concat_tables(tables, promote_options="permissive")] if len(tables) > 1 else tables
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            joined = tables
        if meta is None:
            return joined
        from dlt.extract.items import DataItemWithMeta

        return [DataItemWithMeta(meta, t) for t in joined]


def _same_meta(a: Any, b: Any) -> bool:
    """Whether two items' dlt metas (HintsMeta: hints and create_table_variant) send them to a table alike."""
    if a is None or b is None or type(a) is not type(b):
        return a is b
    slots = getattr(type(a), "__slots__", ())
    return a is b or (bool(slots) and all(getattr(a, s, None) == getattr(b, s, None) for s in slots))
