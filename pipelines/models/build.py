"""Build the dbt project in sql/ into a warehouse: the CLI's in-process `dbt build` (dbtRunner).

One build = one dbt parse (dbt's partial parse, in a folder shared by the warehouses whose parse
is the same: parsing.py; only files changed since the last parse are read again) and one `dbt
build`: models, their data tests and, on request, the unit tests, in dependency order. A model
whose raw table is missing (a run that loaded only some resources) is excluded with everything
downstream of it (dbt's own `source:...+` graph), and the reason is reported; the rest is built.

A DuckDB warehouse is built in place: the DuckDB file, which the Parquet destination keeps as
its working warehouse too (pipelines/destinations/parquet_publication.py). A PostgreSQL warehouse is built in
its own database through dbt-postgres (the models' dialect differences are macros:
sql/macros/dialect.sql). Afterwards every reporting table is also written to
`<out>/reporting/<table>/data.parquet`, each file replaced atomically; the Parquet destination
publishes them as `<out>/parquet/marts/<table>/` instead, as it publishes its raw tables.

Dagster builds the same plan (`plan_build`) through dagster-dbt's `DbtCliResource` and finishes it
the same way (`finish_build`): assets/models.py.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from ..learnupon.errors import ConfigError
from .build_records import new_build_id, record_build
from .parsing import parse, pseudonymise_vars
from .profile import dbt_args, warehouse_profile
from .project import ON_DEMAND_TAGS, PROJECT, PROJECT_DIR, Graph, ModelError

log = logging.getLogger("lms_warehouse.models")

RUN_RESULTS = "run_results.json"  # dbt's record of a build, in the warehouse's dbt target folder


@dataclass(frozen=True)
class TestOutcome:
    """One dbt data test (or unit test) as it ran: the model it checks and what it found."""

    name: str
    unique_id: str
    model: str | None
    status: str  # pass, fail, warn, error, skipped
    failures: int | None
    message: str | None
    severity: str

    @property
    def passed(self) -> bool:
        return self.status == "pass"


class BuildResult(dict):
    """Rows per model built (a plain dict to callers: {model name: rows, or None for a view}),
    plus why the others were skipped, the tests and where the time went."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped: dict[str, str] = {}
        self.as_of: date | None = None
        self.database: Path | str | None = None
        self.tests: list[TestOutcome] = []
        self.timings: dict[str, float] = {}
        self.schemas: dict[str, str] = {}  # model name -> schema
        self.marts: list[str] = []  # the reporting tables built
        self.errors: dict[str, str] = {}  # "model <name>" or "test <name>" -> dbt's error message

    @property
    def failed_tests(self) -> list[TestOutcome]:
        return [t for t in self.tests if t.status in ("fail", "error")]

    def relation(self, model: str) -> str:
        return f"{self.schemas[model]}.{model}"


# ---- parsing -------------------------------------------------------------------------------------


def _target(pseudonymised: bool) -> str:
    """dbt's target folder in the warehouse's: the pseudonymised build's compiled SQL and run results apart."""
    return "target-pseudonymised" if pseudonymised else "target"


def skip_reasons(
    graph: Graph, raw_tables: Iterable[str], chosen: set[str], existing: set[str], raw_schema: str
) -> dict[str, str]:
    """Why each chosen model cannot be built: a raw table missing, or a parent skipped or absent."""
    raw = {t.lower() for t in raw_tables}
    skipped: dict[str, str] = {}
    for name in graph.order:
        if name not in chosen:
            continue
        missing = [t for t in graph.sources(name) if t not in raw]
        if missing:
            listed = ", ".join(f"{raw_schema}.{t}" for t in missing)
            skipped[name] = f"raw table{'s' if len(missing) > 1 else ''} {listed} missing (not loaded yet?)"
            continue
        for parent in graph.parents(name):
            relation = f"{graph.schema(parent)}.{parent}"
            if parent in skipped:
                skipped[name] = f"needs {relation}, which was skipped"
                break
            if parent not in chosen and relation not in existing:
                skipped[name] = f"needs {relation}, which has not been built"
                break
    return skipped


# ---- a build: its plan, its run, its end ------------------------------------------------------------


@dataclass
class BuildPlan:
    """What one build will do: the warehouse's dbt folder, the parsed project, the models chosen and those skipped."""

    work: Path  # dbt's folder for the warehouse (profile, target, logs)
    database: Any  # where the models are (the destination's models database)
    manifest: Any
    graph: Graph
    as_of: date
    vars: dict[str, Any]
    to_build: list[str] = field(default_factory=list)
    pseudonymised: bool = False  # the build into the *_pseudonymised schemas (pipelines/privacy/reporting.py)
    started: float = field(default_factory=time.perf_counter)
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    parse_seconds: float = 0.0

    def result(self, warehouse: Any, skipped: dict[str, str]) -> BuildResult:
        result = BuildResult()
        result.as_of = self.as_of
        result.database = warehouse.backend.models_location
        result.schemas = {name: self.graph.schema(name) for name in self.graph.models}
        result.skipped = dict(skipped)
        return result


def plan_build(
    warehouse: Any,
    as_of: date | None = None,
    select: Sequence[str] | None = None,
    *,
    tag: str | None = None,
    variables: dict[str, Any] | None = None,
    pseudonymised: bool = False,
) -> tuple[BuildPlan, BuildResult]:
    """Parse the project for the warehouse and choose the models to build (see build_models); the
    result starts with the models skipped and why."""
    started = time.perf_counter()
    as_of = as_of or datetime.now(timezone.utc).date()
    backend = warehouse.backend
    backend.check_raw()
    work = warehouse_profile(warehouse)
    database = backend.models_database
    raw_tables, existing = backend.model_inputs(database)  # Delta: its raw tables copied in first

    t_parse = time.perf_counter()
    manifest = parse(backend.dbt_target(), warehouse.dataset, work, pseudonymised)
    graph = Graph.of(manifest)
    if select is not None:
        unknown = sorted(set(select) - set(graph.models))
        if unknown:
            raise ConfigError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(sorted(graph.models))}")
        chosen = set(select)
    elif tag is not None:
        chosen = graph.tagged(tag)
    else:
        chosen = set(graph.models) - set().union(*(graph.tagged(t) for t in ON_DEMAND_TAGS))
    plan = BuildPlan(
        work=work,
        database=database,
        manifest=manifest,
        graph=graph,
        as_of=as_of,
        vars={
            **(variables or {}), "as_of": as_of.isoformat(), "raw_schema": warehouse.dataset,
            **pseudonymise_vars(pseudonymised),
        },
        pseudonymised=pseudonymised,
        started=started,
        parse_seconds=time.perf_counter() - t_parse,
    )
    skipped = skip_reasons(graph, raw_tables, chosen, existing, warehouse.dataset)
    for name, reason in skipped.items():
        log.warning("skipped %s: %s", name, reason)
    plan.to_build = [name for name in graph.order if name in chosen and name not in skipped]
    return plan, plan.result(warehouse, skipped)


def build_models(
    warehouse: Any,
    as_of: date | None = None,
    select: Sequence[str] | None = None,
    *,
    export_parquet: bool = True,
    unit_tests: bool = False,
    tag: str | None = None,
    variables: dict[str, Any] | None = None,
    build_id: str | None = None,
    pseudonymised: bool = False,
) -> BuildResult:
    """Build the models into the warehouse with `dbt build`; return rows per model built.

    warehouse: pipelines.run.runner.Warehouse. as_of: the reports' date (default today, UTC), the
    dbt var `as_of`. select: build only these models (their parents must exist already).
    export_parquet: also write every reporting table to <out>/reporting/<table>/data.parquet.
    unit_tests: run dbt's unit tests too (the test suite does; scheduled builds need not).
    tag: build the models with this dbt tag instead; without select or tag, every model but those
    tagged ON_DEMAND_TAGS. variables: more dbt vars (the user sync passes its mapping).
    Data tests run with their models; a failing one is in `.failed_tests`, and the models
    downstream of a failing error-severity test are skipped by dbt. The models built are
    recorded in `model_builds` under `build_id` (default: a new id).
    pseudonymised: build the models again into `<schema>_pseudonymised` from raw rows whose personal
    data is replaced (docs/personal-data.md); its marts go to <out>/reporting_pseudonymised/ as Parquet,
    and the roles LMS_PSEUDONYMISED_READERS names are granted them on PostgreSQL. Not recorded in
    `model_builds`, and never published over the plain marts.
    """
    from dbt.cli.main import dbtRunner

    from ..privacy.reporting import PseudonymisedBuild

    privacy = PseudonymisedBuild.prepare(warehouse) if pseudonymised else None  # a missing key: before anything
    plan, result = plan_build(warehouse, as_of, select, tag=tag, variables=variables, pseudonymised=pseudonymised)
    t_build = time.perf_counter()
    if plan.to_build:
        args = [
            "build",
            *dbt_args(plan.work, _target(pseudonymised)),
            "--vars", json.dumps(plan.vars),
            "--select", *plan.to_build,
            # a test runs when every model it reads is built (a relationships test too)
            "--indirect-selection", "cautious",
            # dbt would write the whole manifest again after every build (0.1-0.2 s); run_results.json is written below
            "--no-write-json",
        ]
        if not unit_tests:
            args += ["--exclude-resource-type", "unit_test"]
        try:
            with privacy.session() if privacy else nullcontext():
                outcome = dbtRunner(manifest=plan.manifest).invoke(args)
        finally:
            release_connections()
        if outcome.result is None:
            raise ModelError(f"dbt build did not run: {outcome.exception}")
        outcome.result.write(str(plan.work / _target(pseudonymised) / RUN_RESULTS))  # each node's timing, for readers and the benchmark
        _collect(result, outcome.result, plan.graph)
    build_seconds = time.perf_counter() - t_build
    sql = result.timings.get("sql", 0.0)
    result.timings.update(
        parse=round(plan.parse_seconds, 3),
        build=round(build_seconds, 3),
        # dbt's fixed cost: the build's wall time that no model or test accounts for
        dbt_startup=round(plan.parse_seconds + build_seconds - sql - result.timings.get("tests", 0.0), 3),
    )
    finish_build(warehouse, plan, result, export_parquet=export_parquet, build_id=build_id or new_build_id(), privacy=privacy)
    if result.errors:  # raised after the export: what did build is still published
        raise ModelError("; ".join(f"{name} failed: {msg}" for name, msg in result.errors.items()))
    return result


def finish_build(
    warehouse: Any, plan: BuildPlan, result: BuildResult, *, export_parquet: bool, build_id: str, privacy: Any = None
) -> None:
    """After dbt: rows of every table built, the marts exported and published, the build recorded in `model_builds`.

    privacy: a pseudonymised build's (pipelines/privacy/reporting.py): its marts go to their own folder and
    readers, never over the plain marts, and the build is not recorded."""
    backend = warehouse.backend
    graph = plan.graph
    result.marts = [n for n in result if graph.is_mart(n)]
    built_tables = [n for n in result if graph.materialized(n) != "view"]
    if built_tables:
        for name, count in backend.count_rows(plan.database, {n: result.relation(n) for n in built_tables}).items():
            result[name] = count
    t_export = time.perf_counter()
    marts = {n: result.relation(n) for n in result.marts}
    if privacy:
        privacy.publish(marts, export_parquet)
    else:
        if export_parquet:  # Parquet: beside the raw tables' folders, published alike
            backend.export_marts(marts)
        backend.publish_marts(plan.database, marts)  # Delta: written back to the lake
    result.timings.update(export=round(time.perf_counter() - t_export, 3), total=round(time.perf_counter() - plan.started, 3))
    if not privacy:
        record_build(warehouse, result, build_id, plan.started_at, datetime.now(timezone.utc))


def collect_run_results(result: BuildResult, run_results: dict[str, Any], graph: Graph) -> None:
    """The models a dbt command in another process built, and the tests that could not run, from its
    run_results.json into `result` (as `_collect` does in-process; the test outcomes themselves are
    dagster-dbt's asset check results)."""
    for item in run_results.get("results", []):
        unique_id = item.get("unique_id", "")
        name = unique_id.split(".")[-1]
        status = str(item.get("status", "")).lower()
        if unique_id.startswith("test.") and status == "error":  # its SQL failed to run: not a finding
            result.errors[f"test {unique_id.split('.')[2]}"] = (item.get("message") or "").strip()
        if not unique_id.startswith(f"model.{PROJECT}.") or name not in graph.models:
            continue
        if status == "success":
            result[name] = None
        elif status == "error":
            result.errors[f"model {name}"] = (item.get("message") or "").strip()
        elif status == "skipped":
            result.skipped.setdefault(name, "skipped by dbt: a model or test it depends on failed")


def generate_docs(warehouse: Any) -> Path:
    """`dbt docs generate` for the warehouse (offline: nothing is fetched); returns the static page.

    The catalog (column types) is read from the built warehouse, so build the models first.
    """
    from dbt.cli.main import dbtRunner

    warehouse.backend.check_raw()
    work = warehouse_profile(warehouse)
    manifest = parse(warehouse.backend.dbt_target(), warehouse.dataset, work)
    try:
        outcome = dbtRunner(manifest=manifest).invoke(
            ["docs", "generate", *dbt_args(work), "--static", "--vars", json.dumps({"raw_schema": warehouse.dataset})]
        )
    finally:
        release_connections()
    if not outcome.success:
        raise ModelError(f"dbt docs generate failed: {outcome.exception}")
    return work / "target" / "static_index.html"


def _collect(result: BuildResult, run: Any, graph: Graph) -> None:
    """Model outcomes and test outcomes from dbt's run results."""
    by_id = {n.unique_id: n.name for n in graph.models.values()}
    sql_seconds = test_seconds = 0.0
    errors: dict[str, str] = {}
    for item in run.results:
        node = item.node
        status = str(item.status).split(".")[-1].lower()
        if node.resource_type == "model":
            sql_seconds += item.execution_time or 0.0
            if status == "success":
                result[node.name] = None
            elif status == "error":
                errors[f"model {node.name}"] = (item.message or "").strip()
            elif status == "skipped":
                result.skipped.setdefault(node.name, "skipped by dbt: a model or test it depends on failed")
        elif node.resource_type in ("test", "unit_test"):
            test_seconds += item.execution_time or 0.0
            attached = getattr(node, "attached_node", None) or next(
                (p for p in getattr(node.depends_on, "nodes", []) if p in by_id), None
            )
            if node.resource_type == "unit_test":
                attached = getattr(node, "tested_node_unique_id", None) or f"model.{PROJECT}.{getattr(node, 'model', '')}"
            if status == "error" and node.resource_type == "test":  # its SQL failed to run: not a finding
                errors[f"test {node.name}"] = (item.message or "").strip()
            result.tests.append(
                TestOutcome(
                    name=node.name,
                    unique_id=node.unique_id,
                    model=by_id.get(attached) if attached else None,
                    status=status,
                    failures=item.failures,
                    message=(item.message or None),
                    severity=str(getattr(node.config, "severity", "error")).lower(),
                )
            )
    result.timings["sql"] = round(sql_seconds, 3)
    result.timings["tests"] = round(test_seconds, 3)
    result.errors.update(errors)


def release_connections() -> None:
    """Close dbt's connections in this process, so the warehouse file is free for the next reader or writer.

    dbt's own command line leaves that to the process exit; in-process, dbt-duckdb keeps its
    database open for the next invocation, which would lock other connections out (dagster-dbt's
    row counts open the file through dbt's adapter in Dagster's process too).
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.adapters.factory import cleanup_connections

    cleanup_connections()
    try:
        DuckDBConnectionManager.env().close()
    except Exception:  # no environment was created (nothing ran)
        pass
    DuckDBConnectionManager.close_all_connections()
