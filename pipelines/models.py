"""Build the dbt project in sql/ into a warehouse, in-process (dbtRunner).

One build = one dbt parse (cached in the process) and one `dbt build`: models, their data
tests and, on request, the unit tests, in dependency order. dbt reads a profile this module
writes for the warehouse (`<out>/.dbt/profiles.yml`, never ~/.dbt) and keeps its target and
logs beside it. A model whose raw table is missing (a run that loaded only some resources)
is excluded with everything downstream of it (dbt's own `source:...+` graph), and the reason
is reported; the rest is built.

A DuckDB warehouse is built in place. A Parquet warehouse (dlt's filesystem destination) is
built in `<out>/reports.duckdb` over `learnupon.<table>` views of its folders (parquet_raw.py),
so the same dbt project serves both. Afterwards every reporting table is also written to
`<out>/reporting/<table>/data.parquet`, each file replaced atomically.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from .learnupon.errors import ConfigError

log = logging.getLogger("lms_warehouse.models")

PROJECT_DIR = Path(__file__).resolve().parent.parent / "sql"
PROFILE = "lms_warehouse"  # dbt_project.yml `profile:`
PROJECT = "lms_warehouse"  # dbt_project.yml `name:`
SOURCE = "learnupon"  # the dbt source of the raw tables
REPORTS_DB = "reports.duckdb"  # where a Parquet warehouse's models are built, beside parquet/
MARTS = "marts"  # the folder of the reporting tables (dbt_project.yml gives their schema)


class ModelError(Exception):
    """A model's SQL failed; the models downstream of it were not built."""


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
        self.database: Path | None = None
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


# ---- where things are ----------------------------------------------------------------------------


def database_path(warehouse: Any) -> Path:
    """The DuckDB file that holds the staging views and reporting tables of this warehouse."""
    if warehouse.destination in ("parquet", "delta"):
        return Path(warehouse.out_dir) / REPORTS_DB
    return Path(warehouse.duckdb_path)


def dbt_dir(warehouse: Any) -> Path:
    """dbt's working folder for this warehouse: the generated profile, target/ and logs/."""
    return Path(warehouse.out_dir) / ".dbt"


def write_profile(folder: Path, database: Path, memory_limit: str, threads: int = 1) -> Path:
    """profiles.yml for dbt-duckdb pointing at `database`; returns the folder (dbt's --profiles-dir).

    One thread: DuckDB already spreads each statement over the machine's cores, and one
    connection keeps a build to one writer.
    """
    folder.mkdir(parents=True, exist_ok=True)
    profile = {
        PROFILE: {
            "target": "warehouse",
            "outputs": {
                "warehouse": {
                    "type": "duckdb",
                    "path": str(Path(database).resolve()),
                    "schema": "main",
                    "threads": threads,
                    "settings": {"memory_limit": memory_limit, "TimeZone": "UTC"},
                }
            },
        }
    }
    # JSON is YAML: no YAML writer needed, and paths with any character stay quoted correctly
    (folder / "profiles.yml").write_text(json.dumps(profile, indent=2), encoding="utf-8")
    return folder


def _common_args(work: Path) -> list[str]:
    return [
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(work),
        "--target-path", str(work / "target"),
        "--log-path", str(work / "logs"),
        "--no-send-anonymous-usage-stats",  # no network: dbt's tracking and version check stay off
        "--no-version-check",
        "--no-use-colors",
        "--log-level", "none",
        "--log-level-file", "warn",  # dbt.log in <out>/.dbt/logs keeps warnings and errors
    ]


# ---- parsing -------------------------------------------------------------------------------------

_MANIFESTS: dict[tuple[str, str, float], Any] = {}


def _project_stamp() -> float:
    return max(p.stat().st_mtime for p in PROJECT_DIR.rglob("*") if p.suffix in (".sql", ".yml"))


def parse(work: Path, database: Path, raw_schema: str) -> Any:
    """The project's manifest (dbt's parsed graph), parsed once per process and database name.

    The as-of date is a var used only when SQL is compiled, so one manifest serves every date.
    """
    from dbt.cli.main import dbtRunner

    key = (Path(database).stem, raw_schema, _project_stamp())
    if key not in _MANIFESTS:
        result = dbtRunner().invoke(["parse", *_common_args(work), "--vars", json.dumps({"raw_schema": raw_schema})])
        if not result.success:
            raise ModelError(f"the dbt project in {PROJECT_DIR} does not parse: {result.exception}")
        _MANIFESTS[key] = result.result
    return _MANIFESTS[key]


def project_manifest() -> dict[str, Any]:
    """The project's manifest.json as a dict, parsed in a scratch folder (for dagster-dbt's specs)."""
    import tempfile

    from dbt.cli.main import dbtRunner

    with tempfile.TemporaryDirectory(prefix="lms-dbt-") as scratch:
        work = write_profile(Path(scratch), Path(scratch) / "warehouse.duckdb", "1GB")
        result = dbtRunner().invoke(["parse", *_common_args(work)])
        if not result.success:
            raise ModelError(f"the dbt project in {PROJECT_DIR} does not parse: {result.exception}")
        return json.loads((work / "target" / "manifest.json").read_text(encoding="utf-8"))


@dataclass
class Graph:
    """What a build needs from the manifest: models in dependency order, their parents and sources."""

    models: dict[str, Any] = field(default_factory=dict)  # name -> node
    order: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, manifest: Any) -> Graph:
        graph = cls()
        nodes = {uid: n for uid, n in manifest.nodes.items() if n.resource_type == "model" and n.package_name == PROJECT}
        graph.models = {n.name: n for n in nodes.values()}
        done: set[str] = set()
        pending = dict(nodes)
        while pending:
            ready = sorted(
                (uid for uid, n in pending.items() if all(p in done or p not in nodes for p in n.depends_on.nodes)),
                key=lambda uid: pending[uid].name,
            )
            if not ready:  # dbt refuses cycles at parse time; this only guards the loop
                raise ModelError(f"models depend on each other in a cycle: {', '.join(sorted(pending))}")
            for uid in ready:
                graph.order.append(pending.pop(uid).name)
                done.add(uid)
        return graph

    def parents(self, name: str) -> list[str]:
        by_id = {n.unique_id: n.name for n in self.models.values()}
        return [by_id[p] for p in self.models[name].depends_on.nodes if p in by_id]

    def sources(self, name: str) -> list[str]:
        """Raw tables (learnupon source tables) the model reads directly."""
        return sorted(p.split(".")[-1] for p in self.models[name].depends_on.nodes if p.startswith(f"source.{PROJECT}.{SOURCE}."))

    def schema(self, name: str) -> str:
        return self.models[name].schema

    def is_mart(self, name: str) -> bool:
        return self.models[name].fqn[1] == MARTS

    def materialized(self, name: str) -> str:
        return self.models[name].config.materialized


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


# ---- building ------------------------------------------------------------------------------------


def build_models(
    warehouse: Any,
    as_of: date | None = None,
    select: Sequence[str] | None = None,
    *,
    export_parquet: bool = True,
    unit_tests: bool = False,
) -> BuildResult:
    """Build the models into the warehouse with `dbt build`; return rows per model built.

    warehouse: pipelines.runner.Warehouse. as_of: the reports' date (default today, UTC), the
    dbt var `as_of`. select: build only these models (their parents must exist already).
    export_parquet: also write every reporting table to <out>/reporting/<table>/data.parquet.
    unit_tests: run dbt's unit tests too (the test suite does; scheduled builds need not).
    Data tests run with their models; a failing one is in `.failed_tests`, and the models
    downstream of a failing error-severity test are skipped by dbt.
    """
    from dbt.cli.main import dbtRunner

    started = time.perf_counter()
    as_of = as_of or datetime.now(timezone.utc).date()
    _check_raw(warehouse)
    database = database_path(warehouse)
    work = write_profile(dbt_dir(warehouse), database, warehouse.models_memory_limit.strip())
    if warehouse.destination == "parquet":
        from .parquet_raw import ParquetRaw

        with duckdb.connect(str(database)) as con:
            raw_tables = ParquetRaw(Path(warehouse.parquet_dir) / warehouse.dataset).create_views(con)
            existing = _relations(con)
    elif warehouse.destination == "delta":
        from .delta_lake.reporting import copy_raw_tables

        with duckdb.connect(str(database)) as con:
            raw_tables = copy_raw_tables(con, warehouse.delta_lake)
            existing = _relations(con)
    else:
        with duckdb.connect(str(database), read_only=True) as con:
            raw_tables = _tables_in(con, warehouse.dataset)
            existing = _relations(con)

    t_parse = time.perf_counter()
    manifest = parse(work, database, warehouse.dataset)
    graph = Graph.of(manifest)
    parse_seconds = time.perf_counter() - t_parse
    if select is not None:
        unknown = sorted(set(select) - set(graph.models))
        if unknown:
            raise ConfigError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(sorted(graph.models))}")
    chosen = set(select) if select is not None else set(graph.models)

    result = BuildResult()
    result.as_of = as_of
    result.database = database
    result.schemas = {name: graph.schema(name) for name in graph.models}
    result.skipped = skip_reasons(graph, raw_tables, chosen, existing, warehouse.dataset)
    for name, reason in result.skipped.items():
        log.warning("skipped %s: %s", name, reason)
    to_build = [name for name in graph.order if name in chosen and name not in result.skipped]

    t_build = time.perf_counter()
    if to_build:
        args = [
            "build",
            *_common_args(work),
            "--vars", json.dumps({"as_of": as_of.isoformat(), "raw_schema": warehouse.dataset}),
            "--select", *to_build,
            # a test runs when every model it reads is built (a relationships test too)
            "--indirect-selection", "cautious",
        ]
        if not unit_tests:
            args += ["--exclude-resource-type", "unit_test"]
        try:
            outcome = dbtRunner(manifest=manifest).invoke(args)
        finally:
            _release_connections()
        if outcome.result is None:
            raise ModelError(f"dbt build did not run: {outcome.exception}")
        _collect(result, outcome.result, graph)
    build_seconds = time.perf_counter() - t_build

    result.marts = [n for n in result if graph.is_mart(n)]
    built_tables = [n for n in result if graph.materialized(n) != "view"]
    if built_tables:
        with duckdb.connect(str(database), read_only=True) as con:
            for name in built_tables:
                result[name] = con.execute(f"select count(*) from {result.relation(name)}").fetchone()[0]
    t_export = time.perf_counter()
    if export_parquet:
        export_reporting_parquet(database, {n: result.relation(n) for n in result.marts}, Path(warehouse.out_dir) / "reporting")
    if warehouse.destination == "delta":
        from .delta_lake.reporting import publish_marts

        publish_marts(database, {n: result.relation(n) for n in result.marts}, warehouse.delta_lake)
    sql = result.timings.get("sql", 0.0)
    result.timings.update(
        parse=round(parse_seconds, 3),
        build=round(build_seconds, 3),
        # dbt's fixed cost: the build's wall time that no model or test accounts for
        dbt_startup=round(parse_seconds + build_seconds - sql - result.timings.get("tests", 0.0), 3),
        export=round(time.perf_counter() - t_export, 3),
        total=round(time.perf_counter() - started, 3),
    )
    if result.errors:  # raised after the export: what did build is still published
        raise ModelError("; ".join(f"{name} failed: {msg}" for name, msg in result.errors.items()))
    return result


def generate_docs(warehouse: Any) -> Path:
    """`dbt docs generate` for the warehouse (offline: nothing is fetched); returns the static page.

    The catalog (column types) is read from the built warehouse, so build the models first.
    """
    from dbt.cli.main import dbtRunner

    _check_raw(warehouse)
    database = database_path(warehouse)
    work = write_profile(dbt_dir(warehouse), database, warehouse.models_memory_limit.strip())
    manifest = parse(work, database, warehouse.dataset)
    try:
        outcome = dbtRunner(manifest=manifest).invoke(
            ["docs", "generate", *_common_args(work), "--static", "--vars", json.dumps({"raw_schema": warehouse.dataset})]
        )
    finally:
        _release_connections()
    if not outcome.success:
        raise ModelError(f"dbt docs generate failed: {outcome.exception}")
    return work / "target" / "static_index.html"


def run_tests(warehouse: Any, tests: Sequence[str]) -> BuildResult:
    """Run these dbt data tests (by name) on the models as they are; nothing is rebuilt."""
    from dbt.cli.main import dbtRunner

    _check_raw(warehouse)
    database = database_path(warehouse)
    work = write_profile(dbt_dir(warehouse), database, warehouse.models_memory_limit.strip())
    manifest = parse(work, database, warehouse.dataset)
    graph = Graph.of(manifest)
    result = BuildResult()
    result.database = database
    result.schemas = {name: graph.schema(name) for name in graph.models}
    with duckdb.connect(str(database), read_only=True) as con:
        existing = _relations(con)
    known = {n.name: n for n in manifest.nodes.values() if n.resource_type == "test"}
    runnable = []
    for name in tests:
        node = known.get(name)
        parents = [p for p in (node.depends_on.nodes if node else []) if p.startswith("model.")]
        missing = [p.split(".")[-1] for p in parents if f"{graph.schema(p.split('.')[-1])}.{p.split('.')[-1]}" not in existing]
        if node is None or missing:
            for model in missing:
                result.skipped[model] = f"{graph.schema(model)}.{model} has not been built"
            continue
        runnable.append(name)
    if runnable:
        try:
            outcome = dbtRunner(manifest=manifest).invoke(["test", *_common_args(work), "--select", *runnable])
        finally:
            _release_connections()
        if outcome.result is None:
            raise ModelError(f"dbt test did not run: {outcome.exception}")
        _collect(result, outcome.result, graph)
    return result


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


def _release_connections() -> None:
    """Close dbt's connections, so the warehouse file is free for the next reader or writer.

    dbt's own command line leaves that to the process exit; in-process, dbt-duckdb keeps its
    database open for the next invocation, which would lock other connections out.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.adapters.factory import cleanup_connections

    cleanup_connections()
    try:
        DuckDBConnectionManager.env().close()
    except Exception:  # no environment was created (nothing ran)
        pass
    DuckDBConnectionManager.close_all_connections()


def _check_raw(warehouse: Any) -> None:
    if warehouse.destination == "parquet":
        raw = Path(warehouse.parquet_dir) / warehouse.dataset
        if not raw.is_dir():
            raise ConfigError(f"no Parquet warehouse at {raw}: run the pipeline with --destination parquet first")
    elif warehouse.destination == "delta":
        if not warehouse.delta_lake.exists():
            raise ConfigError(f"no Delta warehouse at {warehouse.location}: run the pipeline with --destination delta first")
    elif not Path(warehouse.duckdb_path).exists():
        raise ConfigError(f"no warehouse at {warehouse.duckdb_path}: run the pipeline first")


def _tables_in(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    rows = con.execute("select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()
    return {r[0].lower() for r in rows}


def _relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()
    return {r[0].lower() for r in rows}


# ---- the Parquet copy of the reporting tables ------------------------------------------------------


def export_reporting_parquet(database: Path, marts: dict[str, str], root: Path) -> None:
    """Write each reporting table (name -> relation) to root/<table>/data.parquet, so a reader never sees half a file.

    The file is written in a temporary folder beside the target and renamed into place (a
    rename within one file system is atomic); a first export renames the whole folder.
    """
    if not marts:
        return
    root.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(database), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        for mart, relation in marts.items():
            target = root / mart
            staging_dir = root / f".tmp-{mart}-{uuid.uuid4().hex[:8]}"
            staging_dir.mkdir()
            try:
                tmp_file = staging_dir / "data.parquet"
                con.execute(f"copy {relation} to '{_sql_path(tmp_file)}' (format parquet)")
                if not target.exists():
                    os.rename(staging_dir, target)
                    continue
                os.replace(tmp_file, target / "data.parquet")
            finally:
                if staging_dir.exists():
                    shutil.rmtree(staging_dir, ignore_errors=True)


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")
