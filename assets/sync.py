"""Dagster for the user sync (pipelines/sync, docs/user-sync.md), in group `sync`. Off by default.

  sync/roster        the roster file (LMS_SYNC_ROSTER, or the `sync` resource's config) loaded by dlt
                     into hr.roster; nothing happens (and the assets below are skipped) without one
  sync/sync_plan     sync.sync_plan, downstream of the roster and of learnupon/users, groups and
                     group_memberships; two blocking checks gate the apply: leavers_within_cap (the
                     safety cap) and invalid_roster_rows (at most the mapping's max_invalid_rows)
  sync/sync_actions  the apply, journalled in sync.sync_actions. It writes to LearnUpon only in a run of
                     sync_apply_job (its run tag lms_warehouse/sync_apply) or with config `apply: true`:
                     "materialize all" never changes the portal

Jobs: sync_plan_job (load users, groups and memberships, the roster, then the plan) and
sync_apply_job (the same, then the apply when both checks pass). Sensor sync_roster_file starts
sync_apply_job when the roster file's content changes; it is stopped unless
LMS_SENSOR_SYNC_ROSTER_FILE_ENABLED=true (or [sensors.sync_roster_file] in schedules.toml).

A roster is for one portal: LMS_SYNC_PORTAL (or the `sync` resource's `portal`), else the only configured
one. The jobs run for that portal's partition (the sensor asks for it); a run of another portal's partition
fails before planning, and the apply refuses a plan that was made for another portal.
"""

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    Config,
    ConfigurableResource,
    DefaultSensorStatus,
    Failure,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    asset,
    define_asset_job,
    sensor,
)
from pydantic import Field

from pipelines.config import Portal, portal_names
from pipelines.sync.mapping import Mapping, load_mapping
from pipelines.sync.roster import check_columns, load_roster, read_roster
from pipelines.sync.run import (
    PLAN_CSV,
    SYNC_RESOURCES,
    apply_plan,
    begin,
    cap_problem,
    check_warehouse,
    connect,
    current_plan,
    plan_roster,
    read_field_choices,
)

from . import settings
from .extract import API_TAGS, WAREHOUSE_POOL, WRITER_TAGS, resource_key
from .portals import run_portal
from .resources import LearnUponResource, WarehouseResource

GROUP = "sync"
ROSTER_KEY = AssetKey([GROUP, "roster"])
PLAN_KEY = AssetKey([GROUP, "sync_plan"])
ACTIONS_KEY = AssetKey([GROUP, "sync_actions"])
USER_KEYS = [resource_key(name) for name in SYNC_RESOURCES]
SENSOR = "sync_roster_file"
APPLY_TAG = "lms_warehouse/sync_apply"  # set by sync_apply_job: its runs write to LearnUpon


class SyncResource(ConfigurableResource):
    """Where the roster and the mapping are: LMS_SYNC_ROSTER and LMS_SYNC_MAPPING unless set in Dagster config."""

    roster: str | None = Field(default=None, description="The HR roster (CSV or Parquet); default $LMS_SYNC_ROSTER.")
    mapping: str | None = Field(default=None, description="The TOML mapping; default $LMS_SYNC_MAPPING, else the defaults.")
    portal: str | None = Field(
        default=None,
        description="The configured portal the roster is for; default $LMS_SYNC_PORTAL, else the only configured portal.",
    )

    def portal_name(self) -> str | None:
        return self.portal or os.environ.get("LMS_SYNC_PORTAL") or None

    def roster_path(self) -> Path | None:
        value = self.roster or os.environ.get("LMS_SYNC_ROSTER")
        return Path(value) if value else None

    def load_mapping(self) -> Mapping:
        value = self.mapping or os.environ.get("LMS_SYNC_MAPPING")
        return load_mapping(Path(value) if value else None)


class ApplyConfig(Config):
    apply: bool = Field(default=False, description="Write to LearnUpon (a run of sync_apply_job does); false: skip.")
    force: bool = Field(default=False, description="Apply even over the safety cap (launch sync/sync_actions alone).")


def sync_portal(context: AssetExecutionContext, learnupon: LearnUponResource, sync: SyncResource) -> Portal:
    """The portal the roster is for: the run's partition, else the `sync` resource's portal, else the only configured
    one. A run of one portal's partition never plans or writes another's (user and group ids repeat across portals)."""
    partition, named = run_portal(context), sync.portal_name()
    if partition and named and partition != named:
        raise Failure(description=f"the roster is for portal {named} (LMS_SYNC_PORTAL), and this run is of portal"
                      f" {partition}: run the sync jobs for the partition {named}")
    chosen = learnupon.portals([partition or named] if partition or named else None)
    if len(chosen) != 1:
        raise Failure(description=f"{len(chosen)} portals are configured ({', '.join(p.name for p in chosen)}): set"
                      " LMS_SYNC_PORTAL (or the sync resource's portal) to the roster's, or run the sync jobs for its partition")
    return chosen[0]


def planned_portal(context: AssetExecutionContext) -> str | None:
    """The portal the current plan was made for: the metadata of sync/sync_plan's latest materialization."""
    event = context.instance.get_latest_materialization_event(PLAN_KEY)
    materialization = event.asset_materialization if event is not None else None
    value = materialization.metadata.get("portal") if materialization is not None else None
    return value.value if value is not None else None  # type: ignore[union-attr]


def _run_id(context: AssetExecutionContext) -> str:
    return context.run.run_id.replace("-", "")[:12]


def _latest_roster(target: Any) -> dict[str, Any]:
    """The last roster load (hr.roster_loads): its run id, source and columns."""
    with connect(target) as con:
        loaded = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'hr' and table_name = 'roster_loads'"
        ).fetchone()[0]
        row = con.execute("select run_id, source, columns from hr.roster_loads order by loaded_at desc limit 1").fetchone() if loaded else None
    if row is None:
        raise Failure(description="no roster has been loaded yet: materialize sync/roster first (LMS_SYNC_ROSTER)")
    return {"run_id": row[0], "source": row[1], "columns": row[2]}


@asset(
    key=ROSTER_KEY,
    group_name=GROUP,
    kinds={"dlt", "duckdb"},
    output_required=False,
    pool=WAREHOUSE_POOL,
    op_tags=WRITER_TAGS,
    description="The HR roster (LMS_SYNC_ROSTER) loaded by dlt into hr.roster, stamped with the run id.",
)
def roster(context: AssetExecutionContext, warehouse: WarehouseResource, sync: SyncResource) -> Iterator[MaterializeResult]:
    path = sync.roster_path()
    if path is None:
        context.log.info("no roster configured (LMS_SYNC_ROSTER): the sync assets are skipped")
        return
    target = warehouse.warehouse()
    check_warehouse(target)
    loaded = read_roster(path)
    for note in check_columns(loaded, sync.load_mapping()):
        context.log.info(note)
    load_roster(target, loaded, _run_id(context))
    yield MaterializeResult(
        metadata={"dagster/row_count": loaded.rows, "source": str(path), "sha256": loaded.sha256 or "",
                  "roster_run_id": _run_id(context)}
    )


@asset(
    key=PLAN_KEY,
    deps=[ROSTER_KEY, *USER_KEYS],
    group_name=GROUP,
    kinds={"dbt", "duckdb"},
    output_required=False,
    pool=WAREHOUSE_POOL,
    op_tags=WRITER_TAGS,
    check_specs=[
        AssetCheckSpec("leavers_within_cap", asset=PLAN_KEY, blocking=True,
                       description="users the plan disables or deletes are within the mapping's max_leaver_share"),
        AssetCheckSpec("invalid_roster_rows", asset=PLAN_KEY, blocking=True,
                       description="roster rows the plan rejects are at most the mapping's max_invalid_rows"),
    ],
    description="sync.sync_plan, the dbt model sql/models/sync/sync_plan.sql (with the models it reads, tagged sync):"
    " the roster against LearnUpon's current users.",
)
def sync_plan(
    context: AssetExecutionContext, warehouse: WarehouseResource, learnupon: LearnUponResource, sync: SyncResource
) -> Iterator[object]:
    target = warehouse.warehouse()
    check_warehouse(target)
    mapping = sync.load_mapping()
    portal = sync_portal(context, learnupon, sync)
    with portal.client() as client:
        read_field_choices(target, client)  # the values choice fields allow (one call)
    latest = _latest_roster(target)
    roster_run_id, columns = latest["run_id"], latest["columns"].split(",")
    plan, csv_path = plan_roster(target, mapping, roster_run_id, columns, target.out_dir / PLAN_CSV, portal.name)
    yield MaterializeResult(
        metadata={
            "portal": portal.name,
            "dagster/row_count": len(plan.rows),
            "actions": MetadataValue.json(plan.counts),
            "writes": len(plan.writes),
            "leavers": plan.leavers,
            "learnupon_users": plan.users,
            "roster_rows": plan.roster_rows,
            "csv": MetadataValue.path(str(csv_path)),
        }
    )
    problem = cap_problem(plan, mapping)
    yield AssetCheckResult(
        check_name="leavers_within_cap", passed=problem is None, severity=AssetCheckSeverity.ERROR,
        metadata={"leavers": plan.leavers, "learnupon_users": plan.users, "share": round(plan.leaver_share, 4),
                  "cap": mapping.max_leaver_share, **({"problem": problem} if problem else {})},
    )
    yield AssetCheckResult(
        check_name="invalid_roster_rows", passed=plan.invalid_rows <= mapping.max_invalid_rows,
        severity=AssetCheckSeverity.ERROR,
        metadata={"invalid_rows": plan.invalid_rows, "allowed": mapping.max_invalid_rows,
                  "sample": MetadataValue.json([r["reason"] for r in plan.rows if r["action"] == "invalid_row"][:5])},
    )


@asset(
    key=ACTIONS_KEY,
    deps=[PLAN_KEY],
    group_name=GROUP,
    kinds={"duckdb"},
    output_required=False,
    pool=WAREHOUSE_POOL,
    op_tags=API_TAGS,
    description="The plan applied to LearnUpon through the rate-limited client, every action in sync.sync_actions"
    " (only in a run of sync_apply_job, or with config apply: true).",
)
def sync_actions(
    context: AssetExecutionContext,
    config: ApplyConfig,
    warehouse: WarehouseResource,
    learnupon: LearnUponResource,
    sync: SyncResource,
) -> Iterator[MaterializeResult]:
    if not (config.apply or context.run.tags.get(APPLY_TAG) == "true"):
        context.log.info("not applied: sync_apply_job (or config apply: true) writes to LearnUpon")
        return
    target = warehouse.warehouse()
    check_warehouse(target)
    mapping = sync.load_mapping()
    portal = sync_portal(context, learnupon, sync)
    planned = planned_portal(context)
    if planned is not None and planned != portal.name:
        raise Failure(description=f"sync.sync_plan was made for portal {planned}, not {portal.name}: plan again for"
                      f" {portal.name} (sync_apply_job for its partition does both)")
    plan = current_plan(target)
    run_id, resumed = begin(target, "apply", _latest_roster(target)["source"], run_id=_run_id(context), portal=portal.name)
    with portal.client() as client:
        outcome = apply_plan(target, client, run_id, plan, mapping, force=config.force, resumed=resumed)
    applied = outcome.applied
    metadata = {
        "portal": portal.name,
        "sync_run_id": run_id,
        "resumed": resumed,
        "status": outcome.status,
        "api_calls": outcome.api.get("calls", 0),
        **({"rate_limit_remaining_week": outcome.remaining_week} if outcome.remaining_week is not None else {}),
        **({s: applied.count(s) for s in ("succeeded", "failed", "skipped", "planned")} if applied else {}),
    }
    if outcome.status != "succeeded":
        reason = outcome.refused or (applied.stopped if applied and applied.stopped else f"{metadata.get('failed', 0)} action(s) failed")
        raise Failure(description=f"sync apply {outcome.status}: {reason} (sync.sync_actions, run {run_id})", metadata=metadata)
    yield MaterializeResult(metadata={"dagster/row_count": len(plan.writes), **metadata})


SYNC_ASSETS = [roster, sync_plan, sync_actions]

sync_plan_job = define_asset_job(
    "sync_plan_job",
    selection=AssetSelection.assets(*USER_KEYS, ROSTER_KEY, PLAN_KEY),
    tags=API_TAGS,
    description="Users, groups and memberships from LearnUpon, the roster, then the sync plan (a dry run).",
)
sync_apply_job = define_asset_job(
    "sync_apply_job",
    selection=AssetSelection.assets(*USER_KEYS, ROSTER_KEY, PLAN_KEY, ACTIONS_KEY),
    # a tag, not run config: the job is partitioned by portal (its users assets), and Dagster keeps a partitioned
    # job's own config only for runs of a partition
    tags={**API_TAGS, APPLY_TAG: "true"},
    description="The sync plan, then its apply to LearnUpon when the plan's checks pass (cap, invalid rows).",
)
SYNC_JOBS = [sync_plan_job, sync_apply_job]


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_sync_sensor():
    config = settings.load_config()
    config.setdefault("sensors", {}).setdefault(SENSOR, {"enabled": False})  # off unless switched on
    enabled = settings.sensor_enabled(SENSOR, config)

    @sensor(
        name=SENSOR,
        job=sync_apply_job,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING if enabled else DefaultSensorStatus.STOPPED,
        description="Start sync_apply_job when the roster file (LMS_SYNC_ROSTER) has new content.",
    )
    def sync_roster_file(context: SensorEvaluationContext, sync: SyncResource):
        path = sync.roster_path()
        if path is None or not path.is_file():
            return SkipReason(f"no roster file at {path}" if path else "LMS_SYNC_ROSTER is not set")
        digest = file_digest(path)
        if digest == context.cursor:
            return SkipReason("the roster has not changed")
        # the run is of the roster's portal: its partition (the jobs load that portal's users alone)
        portals = portal_names()
        portal = sync.portal_name() or (portals[0] if len(portals) == 1 else None)
        if portal is None and portals:
            return SkipReason(f"{len(portals)} portals are configured ({', '.join(portals)}): set LMS_SYNC_PORTAL to the roster's")
        if portal is not None and portal not in portals:
            return SkipReason(f"LMS_SYNC_PORTAL names {portal}, which is not a configured portal ({', '.join(portals)})")
        previous = context.cursor
        context.update_cursor(digest)
        # keyed by the change, not the content: a roster that goes back to an earlier content runs again
        # no portal configured: no partition, and the run says what is missing
        return RunRequest(run_key=f"{previous or 'first'}->{digest}", partition_key=portal,
                          tags={"lms_warehouse/roster_sha256": digest})

    return sync_roster_file


SYNC_SENSORS = [build_sync_sensor()]
