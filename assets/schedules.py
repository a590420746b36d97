"""Jobs, schedules and the sensors that rebuild the models after a load (a partly failed one too).

Cron strings and on/off switches come from schedules.toml, overridable by environment
variables (assets/settings.py), so changing a schedule needs no code edit. Every job that
calls the API carries the run tag `lms_warehouse/api`, and every job that writes the
warehouse `lms_warehouse/warehouse`: dagster_home/dagster.yaml limits each to one run at a
time (runs of one dlt pipeline race on its state; DuckDB allows one writer).

The load jobs are partitioned by portal (assets/portals.py): each of their schedules asks, at every tick,
for one run per configured portal (a RunRequest per partition), so each portal loads on its own and one
failing portal fails only its own run. The models job is not partitioned: it builds every portal's rows.
"""

from collections.abc import Iterator, Sequence
from typing import Any

from dagster import (
    AssetKey,
    AssetSelection,
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    RunStatusSensorContext,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    run_status_sensor,
    schedule,
)

from pipelines.config import keys_configured, portal_names
from pipelines.learnupon.tables import AUDIT_TRAILS

from . import settings
from .extract import API_TAGS, FAILED_RESOURCES_TAG, SOURCE_KEYS, WRITER_TAGS, resource_key
from .models import MODEL_KEYS

LIGHT_KEYS = [resource_key(name) for name in settings.LIGHT_RESOURCES]
AUDIT_KEY = resource_key(AUDIT_TRAILS)

light_loads_job = define_asset_job(
    "light_loads_job",
    selection=AssetSelection.assets(*LIGHT_KEYS),
    tags=API_TAGS,
    description="Enrollments, exam enrollments and answers, session attendance and learning-path enrollments.",
)
daily_full_job = define_asset_job(
    "daily_full_job",
    selection=AssetSelection.assets(*SOURCE_KEYS),
    tags=API_TAGS,
    description="Every resource: users and all listings, the leaderboard snapshot, the light ones, audit trails.",
)
audit_trails_job = define_asset_job(
    "audit_trails_job",
    selection=AssetSelection.assets(AUDIT_KEY),
    tags=API_TAGS,
    description="Audit trails (the API keeps 30 days: run at least weekly).",
)
models_job = define_asset_job(
    "models_job",
    selection=AssetSelection.assets(*MODEL_KEYS),
    tags=WRITER_TAGS,
    description="Staging views and reporting marts.",
)

LOAD_JOBS = [light_loads_job, daily_full_job, audit_trails_job]
JOBS = [*LOAD_JOBS, models_job]

# schedule name in schedules.toml -> the job it runs
SCHEDULED_JOBS = {
    "light_loads": light_loads_job,
    "daily_full": daily_full_job,
    AUDIT_TRAILS: audit_trails_job,  # the schedule is named after the resource it loads
    "models_daily": models_job,
}


def build_schedules(portals: Sequence[str] | None = None) -> list[ScheduleDefinition]:
    """One schedule per entry of schedules.toml; a load job's asks for a run per portal (`portals`, else the
    configured portals' names: the partitions). Running by default only where enabled and the API keys are
    configured: a first `make ui` on a machine without keys shows every schedule stopped, instead of failing
    every run (start them in the UI, or set the keys and reload the code location)."""
    config = settings.load_config()
    keys = keys_configured()
    names = list(portal_names() if portals is None else portals)
    schedules = []
    for name, job in SCHEDULED_JOBS.items():
        setting = settings.schedule_setting(name, config)
        status = DefaultScheduleStatus.RUNNING if setting.enabled and keys else DefaultScheduleStatus.STOPPED
        description = f"{job.description} Cron from schedules.toml [schedules.{name}] or LMS_SCHEDULE_{name.upper()}_CRON."
        if job in LOAD_JOBS:
            schedules.append(per_portal_schedule(f"{name}_schedule", job, setting, status, description, names))
            continue
        schedules.append(
            ScheduleDefinition(
                name=f"{name}_schedule",
                cron_schedule=setting.cron,
                job=job,
                execution_timezone=setting.timezone,
                default_status=status,
                description=description,
            )
        )
    return schedules


def per_portal_schedule(
    name: str, job: Any, setting: settings.ScheduleSetting, status: DefaultScheduleStatus, description: str,
    portals: Sequence[str],
) -> ScheduleDefinition:
    """A schedule of a partitioned load job: at each tick, one run per portal, each its own partition."""

    @schedule(
        name=name,
        cron_schedule=setting.cron,
        job=job,
        execution_timezone=setting.timezone,
        default_status=status,
        description=f"{description} One run per portal ({', '.join(portals) or 'none configured'}).",
    )
    def per_portal(context: ScheduleEvaluationContext) -> Iterator[RunRequest]:
        for portal in portals:
            yield RunRequest(run_key=portal, partition_key=portal)

    return per_portal


def build_sensors() -> list:
    enabled = settings.sensor_enabled("models_after_loads")

    @run_status_sensor(
        name="models_after_loads",
        run_status=DagsterRunStatus.SUCCESS,
        monitored_jobs=LOAD_JOBS,
        request_job=models_job,
        default_status=DefaultSensorStatus.RUNNING if enabled else DefaultSensorStatus.STOPPED,
        description="Rebuild the staging views and reporting marts after every successful load job, unless a build of"
        " every model is already queued (it reads the same rows: one build after the portals' loads of one tick).",
    )
    def models_after_loads(context: RunStatusSensorContext) -> RunRequest | SkipReason:
        waiting = queued_full_build(context.instance)
        if waiting is not None:  # the portals' loads of one tick end one after another: one build after them
            return SkipReason(f"models_job run {waiting} is queued and builds every model from these rows too")
        return RunRequest(run_key=context.dagster_run.run_id, tags={"lms_warehouse/after_run": context.dagster_run.run_id})

    @run_status_sensor(
        name="models_after_partial_loads",
        run_status=DagsterRunStatus.FAILURE,
        monitored_jobs=LOAD_JOBS,
        request_job=models_job,
        default_status=DefaultSensorStatus.RUNNING if enabled else DefaultSensorStatus.STOPPED,
        description="After a load job in which some resources failed (the others loaded): rebuild the models"
        " that do not depend on a failed resource.",
    )
    def models_after_partial_loads(context: RunStatusSensorContext) -> RunRequest | SkipReason:
        failed = context.dagster_run.tags.get(FAILED_RESOURCES_TAG)
        if not failed:
            return SkipReason("the load failed as a whole (nothing new to model)")
        selection = models_without(failed.split(","), context.repository_def)
        if not selection:
            return SkipReason(f"every model needs a failed resource ({failed})")
        return RunRequest(
            run_key=context.dagster_run.run_id,
            asset_selection=selection,
            tags={"lms_warehouse/after_run": context.dagster_run.run_id},
        )

    return [models_after_loads, models_after_partial_loads]


def queued_full_build(instance: DagsterInstance) -> str | None:
    """A models_job run still waiting in the queue that builds every model (the partial-loads sensor's select a
    subset): it starts after the load that finished now, so it reads its rows; None if there is none."""
    waiting = instance.get_run_records(
        RunsFilter(job_name=models_job.name, statuses=[DagsterRunStatus.QUEUED]), limit=50
    )
    for record in waiting:
        selection = record.dagster_run.asset_selection
        if selection is None or set(MODEL_KEYS) <= set(selection):
            return record.dagster_run.run_id
    return None


def models_without(failed_resources: list[str], repository: Any) -> list[AssetKey]:
    """The model assets that do not depend, directly or not, on any of the failed resources."""
    graph = repository.asset_graph
    tainted = AssetSelection.assets(*[resource_key(name) for name in failed_resources]).downstream().resolve(graph)
    return [key for key in MODEL_KEYS if key not in tainted]


SENSORS = build_sensors()
