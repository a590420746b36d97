"""Build `sync.sync_plan` in the warehouse from the roster, the mapping and the current LearnUpon data.

The plan is the dbt model `sync_plan` (sql/models/sync/, tagged `sync`, with the models it reads,
one folder per layer: staging/ the roster and the portal's users, fields, groups; matching/ each
roster row's user; actions/ per field, user and membership; docs/user-sync.md). This
module checks that the LearnUpon fields the mapping names exist, builds those models through
pipelines.models (dbt in-process, with the mapping as the dbt var `sync`: the mapping is declared
once, in mapping.py), reads the plan back and exports it as CSV.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ..learnupon.errors import ConfigError
from ..learnupon.tables import CUSTOM_USER_FIELDS, USERS
from ..models import BuildResult, ModelError, build_models
from . import journal
from .mapping import Mapping

SYNC_TAG = "sync"  # the dbt tag of the sync's models (sql/dbt_project.yml)
PLAN_MODEL = "sync_plan"
PLAN_TABLE = f"{journal.SCHEMA}.{PLAN_MODEL}"
USERS_VIEW = f"{journal.SCHEMA}.sync_users"
LEAVER_ACTIONS = ("disable", "delete")
# raw tables the plan cannot do without; groups, memberships and custom data may be missing (a portal never filled them)
REQUIRED_RAW = (USERS, CUSTOM_USER_FIELDS)


@dataclass
class Plan:
    rows: list[dict[str, Any]]
    users: int  # current LearnUpon users
    managed_users: int  # of them, with an external id
    roster_rows: int

    @property
    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(row["action"] for row in self.rows).items()))

    @property
    def writes(self) -> list[dict[str, Any]]:
        return sorted((r for r in self.rows if r["is_write"]), key=lambda r: (r["step"], r["action_key"]))

    @property
    def leavers(self) -> int:
        return sum(1 for r in self.rows if r["action"] in LEAVER_ACTIONS)

    @property
    def leaver_share(self) -> float:
        return self.leavers / self.users if self.users else (1.0 if self.leavers else 0.0)

    @property
    def invalid_rows(self) -> int:
        return sum(1 for r in self.rows if r["action"] == "invalid_row")


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    rows = con.execute("select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()
    return {r[0] for r in rows}


def plan_settings(mapping: Mapping, roster_run_id: str, roster_columns: list[str], portal: str | None = None) -> dict[str, Any]:
    """The mapping as the dbt var `sync` (macros/sync_mapping.sql): the settings, the field map and the group rules.

    A column the roster lacks is left out (null), so the models never pick a value from it. portal: the
    portal the roster is for (the models read its rows only); None: every row (a warehouse of one portal).
    """
    present = set(roster_columns)

    def column(name: str) -> str | None:
        return name if name in present else None

    settings = {
        "roster_run_id": roster_run_id,
        "portal": portal,
        "external_id_field": mapping.external_id_field,
        "identify_by": mapping.identify_by,
        "external_id_column": mapping.external_id_column,
        "email_column": column(mapping.email_column),
        "username_column": column(mapping.username_column) if mapping.identify_by == "username" else None,
        "first_name_column": column(mapping.first_name_column),
        "last_name_column": column(mapping.last_name_column),
        "active_column": column(mapping.active_column),
        "manager_column": column(mapping.manager_column),
        "leavers": mapping.leavers,
        "email_conflicts": mapping.email_conflicts,
        "placeholder_domain": mapping.placeholder_domain,
        "new_users": mapping.new_users,
        "invite_expiry_days": mapping.invite_expiry_days,
        "leave_groups": mapping.leave_groups,
    }
    field_map = [{"column_name": c, "field_label": label} for c, label in mapping.fields.items() if c in present]
    group_rules, managed_groups = [], []
    for number, rule in enumerate(mapping.groups, 1):
        if rule.values is None:
            group_rules.append({"rule_number": number, "column_name": rule.column})
        else:
            group_rules += [{"rule_number": number, "column_name": rule.column, "from_value": value, "group_title": title}
                            for value, title in rule.values.items()]
        managed_groups += [{"rule_number": number, "group_title": title} for title in rule.manages]
    return {"settings": settings, "field_map": field_map, "group_rules": group_rules, "managed_groups": managed_groups}


def sync_portal(con: duckdb.DuckDBPyConnection, portal: str | None) -> str | None:
    """The portal the roster is for: the one named (--portal), else the warehouse's only one. A roster is for one
    portal; a warehouse of several needs the name. None: the raw tables carry no portal column."""
    if not con.execute(
        "select count(*) from information_schema.columns where table_schema = 'learnupon' and table_name = ? and column_name = 'portal'",
        [USERS],
    ).fetchone()[0]:
        return portal
    portals = [row[0] for row in con.execute(f"select distinct portal from learnupon.{USERS} order by 1").fetchall()]
    if portal is not None and portal not in portals:
        raise ConfigError(f"sync --portal: the warehouse has no users of portal {portal!r} (its portals: {', '.join(portals) or 'none'})")
    if portal is None and len(portals) > 1:
        raise ConfigError(f"sync: the warehouse holds several portals ({', '.join(portals)}): name the roster's with --portal")
    return portal if portal is not None else (portals[0] if portals else None)


def check_fields(con: duckdb.DuckDBPyConnection, mapping: Mapping, roster_columns: list[str], portal: str | None = None) -> None:
    """Every LearnUpon custom field the mapping names must exist on the portal: one clear line if not."""
    scope, params = ("where portal = ?", [portal]) if portal is not None else ("", [])
    labels = {
        row[0].strip().lower(): row[0]
        for row in con.execute(f"select label from learnupon.{CUSTOM_USER_FIELDS} {scope}", params).fetchall()
        if row[0]
    }
    wanted = [("external_id_field", mapping.external_id_field)]
    wanted += [(f"fields.{column}", label) for column, label in mapping.fields.items() if column in roster_columns]
    for key, label in wanted:
        if label.strip().lower() not in labels:
            known = ", ".join(sorted(labels.values())) or "none"
            raise ConfigError(f"sync mapping {key}: LearnUpon has no custom user field {label!r} (its fields: {known})")


def check_inputs(con: duckdb.DuckDBPyConnection, mapping: Mapping, roster_columns: list[str], portal: str | None = None) -> str | None:
    """What the plan reads is there: the users and field definitions, a roster, the fields the mapping names.
    Returns the portal the plan is for (sync_portal)."""
    raw = _tables(con, "learnupon")
    missing = [t for t in REQUIRED_RAW if t not in raw]
    if missing:
        raise ConfigError(
            f"the warehouse has no learnupon.{missing[0]}: load users first (sync plan/apply do, unless --no-extract)"
        )
    if "roster" not in _tables(con, "hr"):
        raise ConfigError("the warehouse has no hr.roster: load a roster first")
    journal.ensure_tables(con)  # the plan reads the journal (pending invitations, memberships it made)
    portal = sync_portal(con, portal)
    check_fields(con, mapping, roster_columns, portal)
    return portal


def build_plan(warehouse: Any, mapping: Mapping, roster_run_id: str, roster_columns: list[str], *,
               unit_tests: bool = False, portal: str | None = None) -> BuildResult:
    """`dbt build` of the models tagged `sync` (sync.sync_plan and what it reads), with their data tests.

    Call check_inputs first. A failed model or data test stops here: a plan that breaks its own
    grain or names an unknown action is never applied. unit_tests: run the sync's dbt unit tests too.
    """
    result = build_models(warehouse, tag=SYNC_TAG, variables={"sync": plan_settings(mapping, roster_run_id, roster_columns, portal)},
                          export_parquet=False, unit_tests=unit_tests)
    if PLAN_MODEL in result.skipped:
        raise ModelError(f"{PLAN_TABLE} was not built: {result.skipped[PLAN_MODEL]}")
    if result.failed_tests:
        failed = ", ".join(f"{t.name} ({t.failures or 0} rows)" for t in result.failed_tests)
        raise ModelError(f"{PLAN_TABLE} failed its tests, so it is not applied: {failed}")
    return result


def read_plan(con: duckdb.DuckDBPyConnection) -> Plan:
    """sync.sync_plan as it stands, with the user counts the safety cap needs."""
    cursor = con.execute(f"select * from {PLAN_TABLE} order by step, action, action_key")
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    users, managed = con.execute(f"select count(*), count(external_id) from {USERS_VIEW}").fetchone()
    roster_rows = con.execute("select count(*) from hr.roster").fetchone()[0]  # the latest roster only (replaced per load)
    return Plan(rows=rows, users=users, managed_users=managed, roster_rows=roster_rows)


def export_csv(con: duckdb.DuckDBPyConnection, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    con.execute(f"copy (select * from {PLAN_TABLE} order by step, action, action_key) to '{_sql_text(tmp)}' (header, delimiter ',')")
    tmp.replace(path)
    return path


def _sql_text(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")


def describe(row: dict[str, Any]) -> str:
    """One plan row in a line: who, and what changes."""
    who = row.get("external_id") or (f"row {row['roster_row']}" if row.get("roster_row") else "")
    if row["action"] == "missing_group":
        return row.get("reason") or ""
    if row.get("changes"):
        changes = json.loads(row["changes"])
        text = ", ".join(f"{name.removeprefix('CustomData.')} {c.get('from')!s} -> {c.get('to')!s}" for name, c in changes.items())
        return f"{who}: {text}"
    if row["action"] in ("join_group", "leave_group"):
        return f"{who}: {row.get('group_title')}"
    if row["action"] in ("create", "invite"):
        return f"{who}: {row.get('username') or row.get('email')}"
    detail = row.get("reason") or row.get("email") or ""
    return f"{who}: {detail}" if who else detail
