"""One sync, end to end: fresh LearnUpon users, the roster, the plan, and (for apply) the writes.

  1. the users, their custom data, groups and memberships are loaded by the extractor
     (pipelines.run.runner.run_extract, resources users, groups, group_memberships), so the plan
     compares the roster with LearnUpon as it is now, and the values of choice fields are read;
  2. the roster is loaded by dlt into `hr.roster`, stamped with the sync run's id;
  3. `sync.sync_plan` is built (plan.py: the dbt models tagged `sync`) and written to a CSV beside the warehouse;
  4. apply only: the 5% cap (configurable) is checked, the plan is journalled in
     `sync.sync_actions`, and the writes go through the same rate-limited client, within the
     weekly reserve. An apply that did not finish (killed: `running`, or `stopped` at the weekly
     reserve, in sync.sync_runs) is resumed by the next one under the same run id.

The CLI (cli.py) and Dagster (assets/sync.py) call these steps.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ..destinations.duckdb_storage import storage_config
from ..learnupon.client import LearnUponClient, portal_name_for
from ..learnupon.context import ExtractContext
from ..learnupon.errors import ConfigError, LearnUponError
from ..learnupon.records import extract_records
from ..learnupon.settings import CUSTOM_USER_FIELDS_KEYS, CUSTOM_USER_FIELDS_PATH, ExtractOptions
from ..learnupon.settings_spec import default
from ..learnupon.tables import GROUP_MEMBERSHIPS, GROUPS, USERS
from ..run.lock import run_lock
from ..run.runner import Warehouse, run_extract
from . import journal
from .apply import ApplyResult, Executor
from .mapping import Mapping
from .plan import Plan, build_plan, check_inputs, export_csv, read_plan
from .roster import Roster, check_columns, load_roster

# what the plan compares the roster with: users (with custom data and field definitions), groups, memberships
SYNC_RESOURCES = (USERS, GROUPS, GROUP_MEMBERSHIPS)
PLAN_CSV = "sync_plan.csv"


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def check_warehouse(warehouse: Warehouse) -> None:
    warehouse.backend.check_user_sync()  # the plan and the journal live in the DuckDB file


def connect(warehouse: Warehouse) -> duckdb.DuckDBPyConnection:
    warehouse.out_dir.mkdir(parents=True, exist_ok=True)
    # the plan joins and windows whole tables: it gets the memory the SQL models get
    return duckdb.connect(str(warehouse.duckdb_path), config={**warehouse.models_duckdb_config, **storage_config()})


@dataclass
class Outcome:
    run_id: str
    mode: str
    status: str
    plan: Plan
    resumed: bool = False
    csv_path: Path | None = None
    refused: str | None = None
    applied: ApplyResult | None = None
    api: dict[str, Any] = field(default_factory=dict)
    remaining_week: int | None = None
    notes: list[str] = field(default_factory=list)


def extract_users(warehouse: Warehouse, client: LearnUponClient, workers: int, portal: str | None = None,
                  pipeline_name: str | None = None) -> None:
    """Load users, custom data, groups and memberships as they are now (one extractor run of the portal's
    pipeline: `portal` names its rows; None: the client's host, as a single-portal run names it)."""
    context = ExtractContext(client_factory=lambda: client, portal=portal or "", options=ExtractOptions(workers=workers))
    # the client is ours to close, not the context's
    summary = run_extract(context, warehouse, list(SYNC_RESOURCES), *([pipeline_name] if pipeline_name else []))
    if USERS in summary.failed:  # a plan on users that did not load (another portal's, say) would be wrong
        from ..run.mass_retirement import stopped_line

        stopped = summary.stopped_by_guard
        cause = stopped_line(stopped) if stopped else summary.failed[USERS]
        raise LearnUponError(f"the users did not load, so nothing was planned; {cause}")
    read_field_choices(warehouse, client)


def read_field_choices(warehouse: Warehouse, client: LearnUponClient) -> None:
    """The values each choice field allows (one call): the user listing's definitions leave them out, and
    the plan rejects a roster value LearnUpon would refuse."""
    body = client.get_json(CUSTOM_USER_FIELDS_PATH)
    with connect(warehouse) as con:
        journal.ensure_tables(con)
        journal.record_field_choices(con, extract_records(body, CUSTOM_USER_FIELDS_KEYS, "GET /users/customuserdata"))


def plan_roster(warehouse: Warehouse, mapping: Mapping, roster_run_id: str, columns: list[str],
                csv_path: Path | None, portal: str | None = None) -> tuple[Plan, Path | None]:
    """Build sync.sync_plan (the dbt models tagged `sync`) for the roster loaded by `roster_run_id`, against the
    users of `portal` (default: the warehouse's only portal); export its CSV."""
    with connect(warehouse) as con:
        portal = check_inputs(con, mapping, columns, portal)
    build_plan(warehouse, mapping, roster_run_id, columns, portal=portal)  # dbt opens the warehouse itself: no connection of ours is open
    with connect(warehouse) as con:
        plan = read_plan(con)
        written = export_csv(con, csv_path) if csv_path is not None else None
    return plan, written


def cap_problem(plan: Plan, mapping: Mapping) -> str | None:
    """Why the plan may not be applied without --force (too many leavers), or None."""
    limit = mapping.max_leaver_share * plan.users
    if plan.leavers > limit:
        return (
            f"the plan would {mapping.leavers} {plan.leavers} of {plan.users} LearnUpon users"
            f" ({plan.leaver_share:.1%}), over the cap of {mapping.max_leaver_share:.0%}:"
            " check the roster, then apply with --force if it is right"
        )
    return None


def begin(warehouse: Warehouse, mode: str, source: str, run_id: str | None = None,
          portal: str | None = None) -> tuple[str, bool]:
    """Open a sync run of `portal` in sync.sync_runs: (run_id, resumed). An apply resumes an interrupted apply of
    the same portal (never another's: their ids and action keys overlap)."""
    with connect(warehouse) as con:
        journal.ensure_tables(con)
        resumed_id = journal.unfinished_apply(con, portal) if mode == "apply" else None
        chosen = resumed_id or run_id or new_run_id()
        journal.start_run(con, chosen, mode, source, resumed=resumed_id is not None, portal=portal)
    return chosen, resumed_id is not None


def current_plan(warehouse: Warehouse) -> Plan:
    with connect(warehouse) as con:
        return read_plan(con)


def apply_plan(warehouse: Warehouse, client: LearnUponClient, run_id: str, plan: Plan, mapping: Mapping, *,
               force: bool = False, resumed: bool = False) -> Outcome:
    """The cap, then the writes, journalled; the run's row in sync.sync_runs says how it ended."""
    outcome = Outcome(run_id=run_id, mode="apply", status="planned", plan=plan, resumed=resumed)
    refused = cap_problem(plan, mapping)
    if refused and not force:
        outcome.status, outcome.refused = "refused", refused
        with connect(warehouse) as con:
            if resumed:  # an interrupted apply stays open, to be resumed once the roster is right
                con.execute(f"update {journal.SCHEMA}.sync_runs set error = ? where run_id = ?", [refused, run_id])
            else:
                journal.finish_run(con, run_id, "refused", roster_rows=plan.roster_rows, counts=plan.counts, error=refused)
        _note_api(outcome, client)
        return outcome
    with connect(warehouse) as con:
        journal.ensure_tables(con)
        in_doubt = {key for key, row in journal.actions(con, run_id).items() if row["status"] == "started"}
        statuses = journal.record_plan(con, run_id, plan.writes)
        applied = Executor(client, con, run_id, mapping).run(plan.writes, statuses, in_doubt)
    outcome.applied = applied
    outcome.status = "stopped" if applied.stopped else "failed" if applied.failed else "succeeded"
    _note_api(outcome, client)
    with connect(warehouse) as con:
        journal.finish_run(
            con, run_id, outcome.status, roster_rows=plan.roster_rows, counts=plan.counts,
            api_calls=outcome.api.get("calls"), remaining_week=outcome.remaining_week,
            error=applied.stopped or (f"{applied.failed} action(s) failed: see sync.sync_actions" if applied.failed else None),
        )
    return outcome


def run_sync(
    mode: str,
    warehouse: Warehouse,
    roster: Roster,
    mapping: Mapping,
    client: LearnUponClient | None,
    *,
    workers: int = default("workers"),
    force: bool = False,
    extract: bool = True,
    csv_path: Path | None = None,
    portal: str | None = None,
    pipeline_name: str | None = None,
) -> Outcome:
    """`mode` plan (a dry run) or apply. The client is needed to extract and to apply. portal: the portal the
    roster is for (the client's); default the warehouse's only one."""
    if mode not in ("plan", "apply"):
        raise ValueError(mode)
    check_warehouse(warehouse)
    notes = check_columns(roster, mapping)
    if client is None and (extract or mode == "apply"):
        raise ConfigError("the sync needs the portal's API settings to extract and to apply")
    run_id, resumed = begin(warehouse, mode, roster.source, portal=portal)
    try:
        if extract:
            extract_users(warehouse, client, workers, portal, pipeline_name)  # type: ignore[arg-type]
            portal = portal or _client_portal(client)
        load_roster(warehouse, roster, run_id)
        plan, written = plan_roster(warehouse, mapping, run_id, roster.columns,
                                    csv_path if csv_path is not None else warehouse.out_dir / PLAN_CSV, portal)
    except BaseException as exc:
        if not resumed:  # an interrupted apply stays open for the next apply to resume
            with connect(warehouse) as con:
                journal.finish_run(con, run_id, "failed", error=str(exc)[:1000] or type(exc).__name__)
        raise
    if mode == "plan":
        outcome = Outcome(run_id=run_id, mode=mode, status="planned", plan=plan)
        _note_api(outcome, client)
        with connect(warehouse) as con:
            journal.finish_run(con, run_id, "planned", roster_rows=plan.roster_rows, counts=plan.counts,
                               api_calls=outcome.api.get("calls"), remaining_week=outcome.remaining_week)
    else:
        # writes to the portal and the journal: one at a time per warehouse, like a load
        with run_lock(warehouse.out_dir, command="sync apply"):
            outcome = apply_plan(warehouse, client, run_id, plan, mapping, force=force, resumed=resumed)  # type: ignore[arg-type]
    outcome.csv_path, outcome.notes = written, notes
    return outcome


def _client_portal(client: LearnUponClient | None) -> str | None:
    """The name a single-portal run gives the client's portal (the rows it just loaded)."""
    return portal_name_for(None, client.base_url) if client is not None else None


def _note_api(outcome: Outcome, client: LearnUponClient | None) -> None:
    if client is not None:
        outcome.api = client.stats.as_dict()
        outcome.remaining_week = client.limiter.snapshot.remaining_week
