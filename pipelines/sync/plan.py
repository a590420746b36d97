"""Build `sync.sync_plan` in the warehouse from the roster, the mapping and the current LearnUpon data.

The plan itself is SQL (sql/sync_plan.sql, written as a dbt model: named CTEs ending in
`select * from final`). This module writes the mapping into small tables it reads
(sync.sync_settings, sync_field_map, sync_group_rules, sync_managed_groups: dbt seeds or vars
later), checks that the LearnUpon fields the mapping names exist, runs the SQL in one
transaction, and exports the plan as CSV.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ..learnupon.errors import ConfigError
from . import journal
from .mapping import Mapping

PLAN_SQL = Path(__file__).with_name("sql") / "sync_plan.sql"
PLAN_TABLE = f"{journal.SCHEMA}.sync_plan"
WRITES = ("release_email", "create", "invite", "update", "join_group", "leave_group", "disable", "delete")
LEAVER_ACTIONS = ("disable", "delete")
# raw tables the plan reads; a portal without groups or custom data never had the latter three loaded
REQUIRED_RAW = ("users", "custom_user_fields")
OPTIONAL_RAW = {
    "user_custom_data": "user_id bigint, definition_id bigint, label varchar, value varchar, _dlt_valid_to timestamptz",
    "groups": "id bigint, title varchar, _dlt_load_id varchar",
    "group_memberships": "group_id bigint, user_id bigint, membership_id bigint, _dlt_valid_to timestamptz",
}


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


def write_mapping(con: duckdb.DuckDBPyConnection, mapping: Mapping, roster_run_id: str, roster_columns: list[str]) -> None:
    present = set(roster_columns)
    s = journal.SCHEMA
    con.execute(f"""
        create or replace table {s}.sync_settings as select
            ?::varchar as roster_run_id, ?::varchar as external_id_field, ?::varchar as external_id_column,
            ?::varchar as email_column, ?::varchar as first_name_column, ?::varchar as last_name_column,
            ?::varchar as active_column, ?::varchar as leavers, ?::varchar as email_conflicts,
            ?::varchar as placeholder_domain, ?::varchar as new_users, ?::integer as invite_expiry_days,
            ?::varchar as leave_groups
    """, [
        roster_run_id, mapping.external_id_field, mapping.external_id_column, mapping.email_column,
        mapping.first_name_column, mapping.last_name_column,
        mapping.active_column if mapping.active_column in present else None,
        mapping.leavers, mapping.email_conflicts, mapping.placeholder_domain, mapping.new_users,
        mapping.invite_expiry_days, mapping.leave_groups,
    ])
    con.execute(f"create or replace table {s}.sync_field_map (column_name varchar, field_label varchar)")
    fields = [(column, label) for column, label in mapping.fields.items() if column in present]
    if fields:
        con.executemany(f"insert into {s}.sync_field_map values (?, ?)", fields)
    con.execute(f"create or replace table {s}.sync_group_rules (rule_number integer, column_name varchar,"
                " from_value varchar, group_title varchar)")
    con.execute(f"create or replace table {s}.sync_managed_groups (rule_number integer, group_title varchar)")
    for number, rule in enumerate(mapping.groups, 1):
        if rule.values is None:
            con.execute(f"insert into {s}.sync_group_rules values (?, ?, null, null)", [number, rule.column])
        else:
            con.executemany(f"insert into {s}.sync_group_rules values (?, ?, ?, ?)",
                            [(number, rule.column, value, title) for value, title in rule.values.items()])
        if rule.manages:
            con.executemany(f"insert into {s}.sync_managed_groups values (?, ?)", [(number, t) for t in rule.manages])


def check_fields(con: duckdb.DuckDBPyConnection, mapping: Mapping, roster_columns: list[str]) -> None:
    """Every LearnUpon custom field the mapping names must exist on the portal: one clear line if not."""
    labels = {row[0].strip().lower(): row[0] for row in con.execute("select label from learnupon.custom_user_fields").fetchall() if row[0]}
    wanted = [("external_id_field", mapping.external_id_field)]
    wanted += [(f"fields.{column}", label) for column, label in mapping.fields.items() if column in roster_columns]
    for key, label in wanted:
        if label.strip().lower() not in labels:
            known = ", ".join(sorted(labels.values())) or "none"
            raise ConfigError(f"sync mapping {key}: LearnUpon has no custom user field {label!r} (its fields: {known})")


def build_plan(con: duckdb.DuckDBPyConnection, mapping: Mapping, roster_run_id: str, roster_columns: list[str]) -> Plan:
    """Write the mapping tables and sync.sync_plan, in one transaction; return the plan's rows."""
    raw = _tables(con, "learnupon")
    missing = [t for t in REQUIRED_RAW if t not in raw]
    if missing:
        raise ConfigError(
            f"the warehouse has no learnupon.{missing[0]}: load users first (sync plan/apply do, unless --no-extract)"
        )
    if "roster" not in _tables(con, "hr"):
        raise ConfigError("the warehouse has no hr.roster: load a roster first")
    journal.ensure_tables(con)
    check_fields(con, mapping, roster_columns)
    stand_ins = [t for t in OPTIONAL_RAW if t not in raw]
    con.execute("begin")
    try:
        # empty stand-ins for raw tables a portal never filled, dropped again before commit
        for table in stand_ins:
            con.execute(f"create view learnupon.{table} as select * from (select {_nulls(OPTIONAL_RAW[table])}) where false")
        write_mapping(con, mapping, roster_run_id, roster_columns)
        con.execute(f"create or replace table {PLAN_TABLE} as {PLAN_SQL.read_text(encoding='utf-8')}")
        for table in stand_ins:
            con.execute(f"drop view learnupon.{table}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return read_plan(con, mapping)


def read_plan(con: duckdb.DuckDBPyConnection, mapping: Mapping) -> Plan:
    """sync.sync_plan as it stands, with the user counts the safety cap needs."""
    cursor = con.execute(f"select * from {PLAN_TABLE} order by step, action, action_key")
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    users = con.execute("select count(*) from learnupon.users where _dlt_valid_to is null").fetchone()[0]
    managed = 0
    if "user_custom_data" in _tables(con, "learnupon"):
        managed = con.execute(
            "select count(distinct d.user_id) from learnupon.user_custom_data d"
            " join learnupon.custom_user_fields f on f.id = d.definition_id"
            " join learnupon.users u on u.id = d.user_id and u._dlt_valid_to is null"
            " where d._dlt_valid_to is null and lower(trim(f.label)) = lower(trim(?)) and nullif(trim(d.value), '') is not null",
            [mapping.external_id_field],
        ).fetchone()[0]
    roster_run_id = con.execute(f"select roster_run_id from {journal.SCHEMA}.sync_settings").fetchone()[0]
    roster_rows = con.execute("select count(*) from hr.roster where run_id = ?", [roster_run_id]).fetchone()[0]
    return Plan(rows=rows, users=users, managed_users=managed, roster_rows=roster_rows)


def _nulls(columns: str) -> str:
    return ", ".join(f"null::{kind} as {name}" for name, kind in (part.strip().split(" ") for part in columns.split(",")))


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
        return f"{who}: {row.get('email')}"
    detail = row.get("reason") or row.get("email") or ""
    return f"{who}: {detail}" if who else detail
