"""The sync's own records in the warehouse (schema `sync`): runs, every action of an apply, and the
values LearnUpon's choice fields allow (field_choices, read at every sync).

`sync_actions` is a write-ahead journal: an apply writes its whole plan as `planned` first, marks
an action `started` before the call and `succeeded` / `failed` / `skipped` after it, each in its own
committed statement, so a killed apply leaves an exact account behind. A run whose status is still
`running` was killed, one `stopped` ran into the weekly reserve: the next apply resumes it under the
same run_id and the same rows (one row per action key and run), re-planned against fresh data.
Rows never hold a password.

It is written with DuckDB directly, not through dlt: each status change must be durable before the
next API call, which a load package per action would make slow and heavy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import duckdb

SCHEMA = "sync"

TABLES = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.sync_runs (
    run_id varchar primary key,
    mode varchar,              -- plan | apply
    status varchar,            -- planned | running | succeeded | failed | refused | stopped
    started_at timestamptz,
    finished_at timestamptz,
    roster varchar,            -- the roster's file (or query)
    roster_rows bigint,
    counts varchar,            -- JSON: plan rows per action
    api_calls bigint,
    remaining_week bigint,
    error varchar,
    portal varchar             -- the portal the roster is for (user and group ids repeat across a realm's portals)
);
alter table {SCHEMA}.sync_runs add column if not exists portal varchar;  -- a journal from before the column
create table if not exists {SCHEMA}.field_choices (
    definition_id bigint,      -- GET /users/customuserdata: the values each choice field allows
    label varchar,
    type_id integer,
    predefined_values varchar  -- JSON list
);
create table if not exists {SCHEMA}.sync_actions (
    run_id varchar,
    action_key varchar,
    step integer,
    action varchar,
    external_id varchar,
    learnupon_user_id bigint,  -- the user acted on (for a create: the user it made)
    group_id bigint,
    group_title varchar,
    email varchar,
    changes varchar,           -- JSON: field -> {{from, to}}
    status varchar,            -- planned | started | succeeded | failed | skipped | dropped
    error varchar,
    attempts integer,
    detail varchar,            -- e.g. the invite id, or how an uncertain outcome was settled
    planned_at timestamptz,
    started_at timestamptz,
    finished_at timestamptz,
    primary key (run_id, action_key)
);
"""

DONE = ("succeeded", "failed")


def now() -> datetime:
    return datetime.now(timezone.utc)


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(TABLES)


def unfinished_apply(con: duckdb.DuckDBPyConnection, portal: str | None = None) -> str | None:
    """The run_id of an apply of `portal` that did not finish: killed (still `running`) or `stopped` at the weekly
    reserve. Another portal's is never resumed; one recorded without a portal (before the column) is anyone's."""
    scope, params = (" and (portal = ? or portal is null)", [portal]) if portal is not None else ("", [])
    row = con.execute(
        f"select run_id from {SCHEMA}.sync_runs where mode = 'apply' and status in ('running', 'stopped'){scope}"
        " order by started_at desc limit 1", params
    ).fetchone()
    return row[0] if row else None


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, mode: str, roster: str, resumed: bool,
              portal: str | None = None) -> None:
    if resumed:
        con.execute(f"update {SCHEMA}.sync_runs set status = 'running', roster = ?, error = null,"
                    " portal = coalesce(?, portal) where run_id = ?", [roster, portal, run_id])
        return
    con.execute(
        f"insert into {SCHEMA}.sync_runs (run_id, mode, status, started_at, roster, portal) values (?, ?, ?, ?, ?, ?)",
        [run_id, mode, "running" if mode == "apply" else "planning", now(), roster, portal],
    )


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, **values: Any) -> None:
    values = {k: (json.dumps(v, sort_keys=True) if isinstance(v, dict) else v) for k, v in values.items()}
    assignments = ", ".join(f"{name} = ?" for name in values)
    con.execute(
        f"update {SCHEMA}.sync_runs set status = ?, finished_at = ?{', ' + assignments if assignments else ''} where run_id = ?",
        [status, now(), *values.values(), run_id],
    )


def actions(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, dict[str, Any]]:
    cursor = con.execute(f"select * from {SCHEMA}.sync_actions where run_id = ?", [run_id])
    names = [d[0] for d in cursor.description]
    return {row[1]: dict(zip(names, row)) for row in cursor.fetchall()}


def record_plan(con: duckdb.DuckDBPyConnection, run_id: str, writes: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Journal the writes of a (re)plan; returns each action's status as the journal had it.

    Rows of a resumed run keep their status. Where the new plan no longer has an action: one in
    doubt (`started` when the apply was killed) is settled as applied, since fresh data no longer
    shows the difference; one never started is `dropped`.
    """
    known = actions(con, run_id)
    wanted = {row["action_key"]: row for row in writes}
    stamp = now()
    con.execute("begin")
    try:
        for key, row in known.items():
            if key in wanted or row["status"] in (*DONE, "skipped", "dropped"):
                continue
            if row["status"] == "started":
                con.execute(
                    f"update {SCHEMA}.sync_actions set status = 'succeeded', finished_at = ?, detail = ? where run_id = ? and action_key = ?",
                    [stamp, "in doubt when the apply stopped; fresh data shows it applied", run_id, key],
                )
            else:
                con.execute(
                    f"update {SCHEMA}.sync_actions set status = 'dropped', finished_at = ?, detail = ? where run_id = ? and action_key = ?",
                    [stamp, "no longer needed when the apply resumed", run_id, key],
                )
        for key, row in wanted.items():
            values = [row["step"], row["action"], row["external_id"], row["learnupon_user_id"], row["group_id"],
                      row["group_title"], row["email"], row["changes"]]
            if key in known:
                if known[key]["status"] in ("planned", "started", "skipped", "dropped"):
                    con.execute(
                        f"update {SCHEMA}.sync_actions set step = ?, action = ?, external_id = ?, learnupon_user_id = ?,"
                        " group_id = ?, group_title = ?, email = ?, changes = ?, status = 'planned', finished_at = null"
                        " where run_id = ? and action_key = ?",
                        [*values, run_id, key],
                    )
                continue
            con.execute(
                f"insert into {SCHEMA}.sync_actions (run_id, action_key, step, action, external_id, learnupon_user_id,"
                " group_id, group_title, email, changes, status, attempts, planned_at)"
                " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'planned', 0, ?)",
                [run_id, key, *values, stamp],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return {key: row["status"] for key, row in actions(con, run_id).items()}


def mark(con: duckdb.DuckDBPyConnection, run_id: str, key: str, status: str, *, error: str | None = None,
         user_id: int | None = None, detail: str | None = None) -> None:
    """One status change of one action, committed before the caller moves on."""
    if status == "started":
        con.execute(
            f"update {SCHEMA}.sync_actions set status = 'started', attempts = attempts + 1, started_at = ?, error = null"
            " where run_id = ? and action_key = ?",
            [now(), run_id, key],
        )
        return
    con.execute(
        f"update {SCHEMA}.sync_actions set status = ?, error = ?, finished_at = ?,"
        " learnupon_user_id = coalesce(?, learnupon_user_id), detail = coalesce(?, detail)"
        " where run_id = ? and action_key = ?",
        [status, error, now(), user_id, detail, run_id, key],
    )


def record_field_choices(con: duckdb.DuckDBPyConnection, definitions: list[dict[str, Any]]) -> None:
    rows = [
        (d.get("id"), d.get("label"), d.get("type_id"),
         json.dumps(d["predefined_values"]) if d.get("predefined_values") is not None else None)
        for d in definitions
        if d.get("id") is not None
    ]
    con.execute("begin")
    con.execute(f"delete from {SCHEMA}.field_choices")
    if rows:
        con.executemany(f"insert into {SCHEMA}.field_choices values (?, ?, ?, ?)", rows)
    con.execute("commit")
