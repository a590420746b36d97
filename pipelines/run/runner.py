"""Run the learnupon source into a warehouse and account for what happened.

One run = (1) finish any load a killed or failed earlier run left pending, so
nothing extracted is lost; (2) extract, normalize and load the chosen resources;
(3) append one row to `pipeline_runs` (calls per endpoint, rate-limit headroom,
rows, step timings, status). The run's `data_issues` and `contract_drift` travel in
the load package of the rows they describe (pipelines/run/records.py), so a killed
run's records load with its rows. A failed run still records its row, with the
error, so an operator sees it in the warehouse.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dlt
import orjson
from dlt.common.pipeline import LoadInfo

from ..learnupon import ALL_RESOURCES, learnupon_source
from ..learnupon.arrow import to_arrow
from ..learnupon.context import ExtractContext
from ..learnupon.errors import ConfigError, describe_error
from ..learnupon.tables import PORTAL
from .first_loads import append_first_loads
from .records import RUN_RECORD_TABLES, RunRecords
from .failures import check_reachable, diagnose, state_unreadable
from ..destinations import DESTINATIONS, Destination, destination_for  # noqa: F401 - DESTINATIONS: also read from here
from .lock import BEFORE_CALLS, READ_IS_KEPT, busy_warehouse, run_lock
from ..destinations.duckdb_snapshot import remove_partial_files
from .state_match import match_state_to_warehouse
from .mass_retirement import MassRetirementGuard
from ..learnupon.tables import TABLES

log = logging.getLogger("lms_warehouse.runner")

PIPELINE_NAME = "lms_warehouse"
DATASET = "learnupon"
MEMORY_LIMIT_ENV = "LMS_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "64MB"
MODELS_MEMORY_LIMIT_ENV = "LMS_DUCKDB_MODELS_MEMORY_LIMIT"
DEFAULT_MODELS_MEMORY_LIMIT = "1GB"
MEMORY_LIMIT_PATTERN = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)", re.IGNORECASE)


@dataclass
class Warehouse:
    """Where a run lands: a DuckDB file (default), Parquet folders published from one, Delta tables
    (a folder or a bucket), or a PostgreSQL database.

    The output folder holds dlt's working files, the run lock and dbt's profile for every destination.
    """

    destination: str = "duckdb"
    out_dir: Path = Path("data")
    dataset: str = DATASET
    # PostgreSQL: a URL or a mapping; None reads them the dlt way (pipelines/destinations/postgres_warehouse.py)
    postgres_credentials: Any = field(default=None, repr=False)
    # Delta: the bucket URL (None: dlt's config `destination.filesystem.bucket_url`, else <out>/delta)
    delta_url: str | None = None
    # DuckDB's own buffer limits (it spills to disk beyond them). Its default, 80% of the machine's
    # memory, let one first load of a million enrollments take half a gigabyte. Loads stream and
    # spill well, so they get little; the model build joins and windows whole tables, so it gets more.
    duckdb_memory_limit: str = field(default_factory=lambda: os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT))
    models_memory_limit: str = field(
        default_factory=lambda: os.environ.get(MODELS_MEMORY_LIMIT_ENV, DEFAULT_MODELS_MEMORY_LIMIT)
    )
    # a merge table's first load written as an append (pipelines/run/first_loads.py); False: through dlt's merge
    first_load_append: bool = True

    def __post_init__(self) -> None:
        backend = self.backend  # an unknown --destination: one line, first
        self.out_dir = Path(self.out_dir)
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise ConfigError(f"--out {self.out_dir} is a file; it must be a folder (it holds the warehouse and dlt's working files)")
        existing = next((p for p in (self.out_dir, *self.out_dir.parents) if p.exists()), None)
        if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
            raise ConfigError(f"--out {self.out_dir}: {existing} is not writable by this user")
        for name, value in ((MEMORY_LIMIT_ENV, self.duckdb_memory_limit), (MODELS_MEMORY_LIMIT_ENV, self.models_memory_limit)):
            if not MEMORY_LIMIT_PATTERN.fullmatch(value.strip()):
                raise ConfigError(f"{name} must be a size such as 512MB or 2GB, got {value!r}")
        backend.check_settings()  # e.g. missing PostgreSQL credentials: one line before anything starts

    @property
    def backend(self) -> Destination:
        """What this destination does for a run, a model build and a reader (pipelines/destinations/)."""
        return destination_for(self)

    @property
    def duckdb_config(self) -> dict[str, str]:
        """Settings for dlt's connections to the DuckDB warehouse (the loads)."""
        return {"memory_limit": self.duckdb_memory_limit.strip()}

    @property
    def models_duckdb_config(self) -> dict[str, str]:
        """Settings for the connection that builds the SQL models."""
        return {"memory_limit": self.models_memory_limit.strip()}

    @property
    def duckdb_path(self) -> Path:
        return self.out_dir / "warehouse.duckdb"

    @property
    def parquet_dir(self) -> Path:
        return self.out_dir / "parquet"

    @property
    def location(self) -> Path | str:
        """Where the loads land (the Parquet destination's readers read `parquet_dir`, published from it)."""
        return self.backend.location

    def postgres(self) -> Any:
        """dlt's PostgresCredentials for this warehouse (ConfigError when missing or malformed)."""
        from ..destinations.postgres_warehouse import resolve_credentials

        return resolve_credentials(self.postgres_credentials)

    def dlt_destination(self) -> Any:
        return self.backend.dlt_destination()

    @property
    def delta_lake(self) -> Any:
        """The Delta tables of a `delta` warehouse (pipelines/destinations/delta_lake/)."""
        from ..destinations.delta_lake import DeltaLake

        return DeltaLake(self.dlt_destination(), self.dataset)

    @property
    def pipelines_dir(self) -> Path:
        """dlt's working folder sits beside the warehouse, not in the user's home."""
        return (self.out_dir / ".dlt").resolve()

    def pipeline(self, name: str = PIPELINE_NAME) -> dlt.Pipeline:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        # Arrow tables get _dlt_load_id too: which load wrote a row (retirement compares it). Set for every
        # pipeline, not only once a run started: a table's first write decides whether the column is NOT NULL,
        # and a process that loaded nothing (`lms-warehouse models`) must write its records the same way
        os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
        return dlt.pipeline(
            pipeline_name=name,
            destination=self.dlt_destination(),
            dataset_name=self.dataset,
            pipelines_dir=str(self.pipelines_dir),
        )


@dataclass
class RunSummary:
    run_id: str
    status: str
    started_at: datetime
    finished_at: datetime
    resources: list[str]
    rows: dict[str, int]
    api: dict[str, Any]
    rate_limit: dict[str, Any]
    timings: dict[str, float]
    data_issues: int
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    drift: list[dict[str, Any]] = field(default_factory=list)  # contract drift rows (see arrow.IssueLog)
    portal: str = ""  # the portal this run extracted (tables.PORTAL)

    @property
    def failed(self) -> dict[str, str]:
        """Resources that failed this run, with their cause (the others loaded)."""
        return dict(self.extra.get("failed") or {})

    @property
    def stopped_by_guard(self) -> dict[str, str]:
        """Resources the mass-retirement guard stopped, with the reason (they are in `failed` too)."""
        return dict(self.extra.get("mass_retirement") or {})

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def as_row(self) -> dict[str, Any]:
        return {
            PORTAL: self.portal,
            "run_id": self.run_id,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "resources": ",".join(self.resources),
            "api_calls": self.api.get("calls", 0),
            "http_429": self.api.get("http_429", 0),
            "retries": self.api.get("retries", 0),
            "remaining_minute": self.rate_limit.get("remaining_minute"),
            "min_remaining_minute": self.rate_limit.get("min_remaining_minute"),
            "remaining_week": self.rate_limit.get("remaining_week"),
            "rows_loaded": sum(self.rows.values()),
            "data_issues": self.data_issues,
            "details": orjson.dumps(
                {
                    "rows": self.rows,
                    "api": self.api,
                    "rate_limit": self.rate_limit,
                    "timings": self.timings,
                    "failed": self.failed,
                    "retired": self.extra.get("retired") or {},
                    "state_reset": self.extra.get("state_reset"),
                    "reconciliations": self.extra.get("reconciliations") or {},
                    "modules_reread": self.extra.get("modules_reread") or {},
                    "unconfigured_portals": self.extra.get("unconfigured_portals") or [],
                    # per resource run: API calls it made, rows it wrote to its own table
                    "resources": self.extra.get("resources") or {},
                    "resumed": self.extra.get("resumed") or [],
                    # resources the mass-retirement guard stopped, and why
                    "mass_retirement": self.extra.get("mass_retirement") or {},
                    # rows written before portals were recorded, given this run's portal (portal_adoption.py)
                    "adopted": self.extra.get("adopted") or {},
                },
                default=str,
            ).decode(),
            "error": self.error,
        }


PIPELINE_RUNS = {
    PORTAL: "text",
    "run_id": "text",
    "status": "text",
    "started_at": "timestamp",
    "finished_at": "timestamp",
    "resources": "text",
    "api_calls": "int",
    "http_429": "int",
    "retries": "int",
    "remaining_minute": "int",
    "min_remaining_minute": "int",
    "remaining_week": "int",
    "rows_loaded": "int",
    "data_issues": "int",
    "details": "text",
    "error": "text",
}


def finish_pending(pipeline: dlt.Pipeline, backend: Destination) -> list[str]:
    """Load what a killed or failed run left behind before extracting anything new; return its load ids.

    dlt keeps normalized packages until they load; a new run would otherwise skip
    its own extract while it retries them. The steps after a load that a kill may have
    cut short (Delta's) are finished too.
    """
    resumed: list[str] = []
    if pipeline.has_pending_data:
        log.warning("finishing a load an earlier run left pending")
        pipeline.normalize()
        resumed = list(pipeline.list_normalized_load_packages())
        backend.prepare_resumed_packages(pipeline)  # a killed load must not write any row twice
        pipeline.load()
    backend.finish_interrupted(pipeline)
    return resumed


def run_extract(
    context: ExtractContext,
    warehouse: Warehouse,
    resources: Sequence[str] | None = None,
    pipeline_name: str = PIPELINE_NAME,
) -> RunSummary:
    """`extract_and_load` under the warehouse's run lock: one run at a time, CLI and Dagster alike.

    Both checks come before the first API call: another run holding the lock, and the destination's
    pre-flight (DuckDB: another process holding the warehouse file; PostgreSQL: the credentials), each
    stop the run at once. A DuckDB warehouse is created (or converted once) in a format older DuckDB
    releases open.
    """
    retain_days = context.options.retain_deleted_days
    with run_guard(warehouse, retain_days):
        summary = extract_and_load(context, warehouse, resources, pipeline_name)
        publish_after(warehouse, [summary])
        retain_after(warehouse, [summary], retain_days)
        return summary


@contextmanager
def run_guard(warehouse: Warehouse, retain_deleted_days: int | None = None) -> Iterator[None]:
    """What every run holds from before its first API call to its end: the warehouse's run lock, the column
    policy of the load (the people erased kept erased), the destination's pre-flight."""
    from ..privacy.erased import erased_people
    from ..privacy.load_columns import ColumnPolicy, applied

    columns = ColumnPolicy.from_settings()  # columns blocked or hashed at load: a bad setting stops the run here
    if retain_deleted_days is not None:
        from ..privacy.settings import pseudonym_key

        pseudonym_key("LMS_RETAIN_DELETED_DAYS")  # retention erases: a missing key stops the run before it starts
    with run_lock(warehouse.out_dir):
        remove_partial_files(warehouse.out_dir)  # what killed or failed publishes left behind
        warehouse.backend.check_before_run()
        # the people erased stay erased, each in their portal: rows naming them load pseudonymised
        with applied(columns.with_erased(erased_people(warehouse))):
            yield


def publish_after(warehouse: Warehouse, summaries: Sequence[RunSummary]) -> None:
    """Publish what the runs loaded for readers (DuckDB's snapshot, Parquet's folders), after their records, so
    that readers of the snapshot see them too; a failure here makes each run `failed`."""
    try:
        timings = warehouse.backend.publish_loads()
    except BaseException as exc:  # a full disk, say: the run did not finish, so it is not `succeeded`
        for summary in summaries:
            record_failure_after_load(warehouse, summary, exc)
        raise
    for summary in summaries:
        summary.timings.update(timings)


def retain_after(warehouse: Warehouse, summaries: Sequence[RunSummary], days: int | None) -> None:
    """Retention (LMS_RETAIN_DELETED_DAYS), with the run lock held: in each portal whose run succeeded, the users
    deleted upstream more than `days` days ago are erased; each summary's `erased` lists its portal's."""
    from ..privacy.erasure import apply_retention

    succeeded = {s.portal: s for s in summaries if s.status == "succeeded"}
    if days is None or not succeeded:
        return
    done = apply_retention(warehouse, days, sorted(succeeded))
    for portal, ids in (done.user_ids if done is not None else {}).items():
        succeeded[portal].extra["erased"] = ids


def extract_and_load(
    context: ExtractContext,
    warehouse: Warehouse,
    resources: Sequence[str] | None = None,
    pipeline_name: str = PIPELINE_NAME,
    write_turn: Any = None,
    alone: bool = True,
) -> RunSummary:
    """Extract the chosen resources, normalize and load them, retire what vanished upstream.

    A resource that fails (retries exhausted, an unexpected shape, a bug) is recorded with its
    cause and stops; every other resource still loads and commits, and the next run retries the
    failed one (its dlt state was put back, so its cursors did not move). The summary's status is
    "partial" then, and `failed` names each failed resource.

    `pipeline_name`: the dlt pipeline (its state: cursors, remembered lists) of the portal `context` extracts.
    `alone`: no other portal runs with this one (only then are rows without a portal adopted, portal_adoption.py).
    `write_turn`: a lock the portals of one run share (pipelines/run/portals.py): held for every step that
    reads or writes the warehouse, released while the portal's API is read, so portals extract side by side
    and write one at a time (DuckDB has one writer).
    """
    turn = WriteTurn(write_turn)
    resources = list(resources or ALL_RESOURCES)
    unknown = sorted(set(resources) - set(ALL_RESOURCES))
    if unknown:
        raise ConfigError(f"unknown resource(s) {', '.join(unknown)}; choose from {', '.join(ALL_RESOURCES)}")
    resources = [name for name in ALL_RESOURCES if name in resources]  # the source's order (reuse of lists)
    context.resources = tuple(resources)
    set_up = time.perf_counter()
    try:
        pipeline = warehouse.pipeline(pipeline_name)
    except Exception as exc:  # a garbage state.json or schema file in dlt's working folder
        raise state_unreadable(warehouse.pipelines_dir, exc) from None
    started = datetime.now(timezone.utc)
    run_id = context.run_id
    # resources run one after another, so lists one fetched are reused by the next (see the source's docstring),
    # and a failed resource's dlt state can be put back before the next one starts
    os.environ.setdefault("EXTRACT__NEXT_ITEM_MODE", "fifo")
    timings: dict[str, float] = {}
    rows: dict[str, int] = {}
    failed: dict[str, str] = {}
    retired: dict[str, int] = {}
    error: str | None = None
    status = "succeeded"
    state_reset: str | None = None
    resumed: list[str] = []
    raised: BaseException | None = None
    adopted: dict[str, int] = {}
    records = RunRecords(context, run_id)
    backend = warehouse.backend  # one for the run (Delta: one lake)
    portal = context.portal_name
    context.issues.portal = portal  # what its conversions load pseudonymised: this portal's erased people
    # users stop at their extract, enrollments at the retirement step (pipelines/run/mass_retirement.py)
    guard = context.retirement_guard = MassRetirementGuard(context.options.allow_mass_retirement, portal)
    held = ExitStack()  # the warehouse held open from the load to the run's record (Destination.held_open)
    try:
        turn.take()
        with backend.held_open(BEFORE_CALLS):  # released while the API is read: a reader may open the file then
            resumed = finish_pending(pipeline, backend)
            adopted = backend.adopt_rows_without_portal(pipeline, portal, alone)  # a warehouse of one portal, made before portals
            state_reset = match_state_to_warehouse(pipeline, backend.location)
            check_reachable(context.client.base_url)  # an unreachable host fails here, fast, naming the host
            backend.prepare_extract(pipeline, context)  # the facts the extract reads from the warehouse
        t0 = time.perf_counter()
        # one extract, one load package; each resource contains its own failure (ExtractContext.contained)
        # the run's records last, in the same package as the rows they describe (pipelines/run/records.py)
        source = records.with_records(learnupon_source(context).with_resources(*resources))
        if warehouse.first_load_append and backend.appends_first_loads:
            append_first_loads(source, context.facts.tables_with_rows)  # an empty table needs no merge
        with turn.given_up():  # the API is read while other portals write
            pipeline.extract(backend.adapt_source(source))
        failed = context.failed
        t1 = time.perf_counter()
        # a program that opened the file since the run began stops it here, the extract kept; from here the file is
        # held open until the run's record is written, so no program can open it in between
        held.enter_context(backend.held_open(READ_IS_KEPT))
        context.progress.step("normalizing")
        normalize_info = pipeline.normalize()
        t2 = time.perf_counter()
        context.progress.step("loading into the warehouse")
        load_info: LoadInfo = pipeline.load()
        t3 = time.perf_counter()
        load_info.raise_on_failed_jobs()
        # `prepare`: dlt's pipeline and state, a pending load finished, the warehouse's facts read
        timings = {"prepare": t0 - set_up, "extract": t1 - t0, "normalize": t2 - t1, "load": t3 - t2}
        rows = _row_counts(normalize_info)
        # exam answers load in batches, each its own load, so an interrupted run resumes where it stopped
        while "exam_answers" in resources and "exam_answers" not in failed and context.run_cache.pending.pop("exam_answers", 0):
            batch = records.with_records(learnupon_source(context).with_resources("exam_answers"))
            info = pipeline.run(backend.adapt_source(batch))
            info.raise_on_failed_jobs()
            for table, count in _row_counts(pipeline.last_trace.last_normalize_info).items():
                rows[table] = rows.get(table, 0) + count
        context.progress.step("retiring vanished rows")
        t4 = time.perf_counter()
        retired = backend.retire(pipeline, guard)  # Delta: SCD2 histories and replaced days first
        timings["retire"] = time.perf_counter() - t4
        for table, reason in guard.stopped.items():  # kept its rows: its resource failed, the run exits 1
            failed.setdefault(TABLES[table].resource, reason)
        if context.stopped is not None:
            raise context.stopped  # loaded what was read; the run itself stopped at the reserve
        if failed:
            status = "partial"
            error = "; ".join(f"{name}: {cause}" for name, cause in failed.items())[:4000]
    except BaseException as exc:  # recorded, then re-raised for the caller to report
        status = "failed"
        error = _describe(diagnose(exc, warehouse.out_dir) or exc)  # a full disk: where, and how much to free
        raised = exc
        raise
    finally:
        finished = datetime.now(timezone.utc)
        client_stats = context.client.stats.as_dict() if context.client_started else {"calls": 0}
        limiter = context.client.limiter.snapshot if context.client_started else None
        extra: dict[str, Any] = {}
        if context.run_cache.audit_gap is not None:
            extra["audit_gap"] = context.run_cache.audit_gap
        if failed:
            extra["failed"] = dict(failed)
        if retired:
            extra["retired"] = retired
        if state_reset:
            extra["state_reset"] = state_reset
        extra.update(context.costs)  # reconciliations and re-reads, with their calls
        if context.resource_counts:
            extra["resources"] = {name: dict(counts) for name, counts in context.resource_counts.items()}
        if resumed:
            extra["resumed"] = resumed
        if guard.stopped:
            extra["mass_retirement"] = {TABLES[table].resource: reason for table, reason in guard.stopped.items()}
        if adopted:
            extra["adopted"] = adopted
        summary = RunSummary(
            run_id=run_id,
            status=status,
            started_at=started,
            finished_at=finished,
            resources=resources,
            rows=rows,
            api=client_stats,
            rate_limit=vars(limiter).copy() if limiter else {},
            timings=timings,
            data_issues=len(context.issues.issues),
            error=error,
            extra=extra,
            drift=context.issues.drift_rows(),
            portal=portal,
        )
        if raised is not None:
            setattr(raised, SUMMARY_OF_FAILURE, summary)  # a caller running several portals reports each
        recording = time.perf_counter()
        try:
            turn.take()
            record_run(pipeline, summary, records, table_format=backend.table_format)
            summary.timings["records"] = time.perf_counter() - recording  # after the row: the row cannot hold it
        except Exception as record_error:  # never hide the run's own outcome behind this
            if busy_warehouse(record_error) is None:
                log.error("could not record the run in pipeline_runs: %s", record_error)
            else:  # the record's package stays pending: it loads with the next run
                log.info("the run's record in pipeline_runs loads with the next run: the warehouse file is busy")
        finally:
            held.close()
            turn.give()
    return summary


class WriteTurn:
    """A portal's turn at the warehouse (`extract_and_load`'s `write_turn`); without a shared lock, always its turn."""

    def __init__(self, lock: Any = None) -> None:
        self.lock = lock
        self.held = False

    def take(self) -> None:
        if self.lock is not None and not self.held:
            self.lock.acquire()
            self.held = True

    def give(self) -> None:
        if self.held:
            self.lock.release()
            self.held = False

    @contextmanager
    def given_up(self) -> Iterator[None]:
        self.give()
        try:
            yield
        finally:
            self.take()


SUMMARY_OF_FAILURE = "lms_run_summary"  # the summary a failed run recorded, on the error it raised


def summary_of_failure(exc: BaseException) -> RunSummary | None:
    return getattr(exc, SUMMARY_OF_FAILURE, None)


def record_failure_after_load(warehouse: Warehouse, summary: RunSummary, exc: BaseException) -> None:
    """A step after the run's record failed (the snapshot or Parquet publication): the run's row says `failed`.

    Those steps exist only for the warehouses loaded through a DuckDB file, so the row is updated there.
    """
    summary.status = "failed"
    summary.error = _describe(diagnose(exc, warehouse.out_dir) or exc)
    try:
        with warehouse.pipeline().sql_client() as client:
            client.execute_sql(
                f"update {client.make_qualified_table_name('pipeline_runs')} set status = %s, error = %s where run_id = %s",
                summary.status,
                summary.error,
                summary.run_id,
            )
    except Exception as record_error:  # never hide the run's own outcome behind this
        log.error("could not record the failure in pipeline_runs: %s", record_error)


def _row_counts(normalize_info: Any) -> dict[str, int]:
    from ..destinations.delta_lake import lake_table_name  # an SCD2 listing counts for its table

    counts = getattr(normalize_info, "row_counts", None) or {}
    return {
        lake_table_name(table): count
        for table, count in counts.items()
        if not table.startswith("_dlt") and table not in RUN_RECORD_TABLES
    }


def record_run(pipeline: dlt.Pipeline, summary: RunSummary, records: RunRecords, table_format: str | None = None) -> None:
    """Append the run's row to pipeline_runs, with the issues and drift no load package carried yet (a small second load).

    data_issues and contract_drift are written even when the run has none, until they exist: the
    schema is stable (tables.py), a reader's query on them works from the first run on.
    """
    tables = [
        dlt.resource(
            [to_arrow([summary.as_row()], PIPELINE_RUNS, table="pipeline_runs", key=[], issues=records.context.issues)],
            name="pipeline_runs",
            write_disposition="append",
        )
    ]
    pending = records.take()
    for table in RUN_RECORD_TABLES:
        if table not in pending and not _has_seen_data(pipeline, table):
            pending[table] = records.empty(table)
    for table, arrow in pending.items():
        tables.append(dlt.resource([arrow], name=table, write_disposition="append"))
    # extract, then load everything pending: `pipeline.run` would skip new data while a package is pending
    # (the run's own, when its load failed), and the record would be lost; a record whose load fails
    # (a busy file) stays pending and loads with the next run
    pipeline.extract(tables, table_format=table_format)
    pipeline.normalize()
    pipeline.load()


def _has_seen_data(pipeline: dlt.Pipeline, table: str) -> bool:
    from dlt.common.schema.utils import has_table_seen_data

    stored = pipeline.default_schema.tables.get(table) if pipeline.default_schema_name else None
    return bool(stored and has_table_seen_data(stored))


def _describe(exc: BaseException) -> str:
    return describe_error(exc)


def innermost(exc: BaseException) -> BaseException:
    """The error that caused it all: dlt wraps source errors in PipelineStepFailed and friends.

    Our own errors win: the walk stops at the first LearnUponError it meets.
    """
    from ..learnupon.errors import LearnUponError

    seen = exc
    for _ in range(10):
        if isinstance(seen, LearnUponError):
            return seen
        nxt = getattr(seen, "exception", None) or seen.__cause__ or seen.__context__
        if nxt is None or nxt is seen:
            break
        seen = nxt
    return seen
