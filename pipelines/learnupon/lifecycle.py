"""How raw tables tell current rows from history: the rule (each table's own is in tables.py).

The rule for analysts is one sentence: **a row is current when `_dlt_valid_to is
null`**, in every raw table whose rows can disappear upstream. What differs per
table is only how the pipeline notices a disappearance:

- `scd2`: dlt's SCD2 merge retires a version that is missing from a complete
  listing (or changed) and sets `_dlt_valid_to` itself.
- `listed`: the table is re-read whole, or whole per scope value (per course,
  per exam, per session...), and rows of that scope that the listing did not
  write again are retired after the load (a `listing_scopes` row travels in the
  same load package as the data, so the two commit together).
- `signalled`: incremental tables (enrollments): the API never lists them whole
  on a normal run, so a deletion is noticed by signals (the audit trail, course
  counters), each of which re-reads a scope (a user's, a course's enrollments),
  and by a periodic full reconciliation; both then retire like `listed`.

On top of that, rows whose owner is retired (a deleted user's enrollments and
exam results, the answers of a retired exam enrollment) are retired with it.
Retirement sets `_dlt_valid_to` to when the pipeline noticed; the row stays as
history. A row the API shows again is written again, current.

Tables without a rule cannot lose rows (code lookups, run records, audit events,
daily leaderboard snapshots) or keep them on purpose (sessions and legacy ILTs:
a cancelled session keeps its status; learning paths: the reference cannot tell
an archived path, hidden from its listing, from a deleted one, and an archived
path's enrollments and certificates still count, so paths are kept).
"""

from __future__ import annotations

from dataclasses import dataclass

VALID_TO = "_dlt_valid_to"  # the one column that says a row is history


@dataclass(frozen=True)
class Owner:
    """Rows whose `column` names a retired row of `table` (by its `table_column`) are retired too."""

    column: str
    table: str
    table_column: str = "id"


@dataclass(frozen=True)
class Lifecycle:
    table: str
    how: str  # "scd2" | "listed" | "signalled"
    scope: str | None = None  # the column a partial listing is complete for; None: the whole table
    owners: tuple[Owner, ...] = ()


# each table's rule is declared in its entry of the table registry (tables.py), which derives
# LIFECYCLES (table -> Lifecycle) and RETIRED_BY_PIPELINE; read here for the modules that apply the rules
_FROM_REGISTRY = ("LIFECYCLES", "RETIRED_BY_PIPELINE")


# the marker table: one row per (table, scope value) a load listed completely
LISTING_SCOPES = "listing_scopes"
LISTING_SCOPES_COLUMNS = {
    "table_name": "text",
    "scope_column": "text",
    "scope_value": "text",
    "run_id": "text",
    "noticed_at": "timestamp",
    "applied_at": "timestamp",
    "keep": "bool",  # true: scope_value names a row that stays current although this load did not write it
}


def __getattr__(name: str) -> object:
    if name in _FROM_REGISTRY:
        from . import tables

        return getattr(tables, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
