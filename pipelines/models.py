"""Build the dbt project in sql/ into a warehouse, in-process (dbtRunner).

One build = one dbt parse (cached in the process) and one `dbt build`: models, their data
tests and, on request, the unit tests, in dependency order. dbt reads a profile this module
writes for the warehouse (`<out>/.dbt/profiles.yml`, never ~/.dbt) and keeps its target and
logs beside it. A model whose raw table is missing (a run that loaded only some resources)
is excluded with everything downstream of it (dbt's own `source:...+` graph), and the reason
is reported; the rest is built.

A DuckDB warehouse is built in place: the DuckDB file, which the Parquet destination keeps as
its working warehouse too (pipelines/destinations/parquet_publication.py). A PostgreSQL warehouse is built in
its own database through dbt-postgres (the models' dialect differences are macros:
sql/macros/dialect.sql). Afterwards every reporting table is also written to
`<out>/reporting/<table>/data.parquet`, each file replaced atomically; the Parquet destination
publishes them as `<out>/parquet/marts/<table>/` instead, as it publishes its raw tables.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from .learnupon.errors import ConfigError
from .model_builds import new_build_id, record_build

log = logging.getLogger("lms_warehouse.models")

PROJECT_DIR = Path(__file__).resolve().parent.parent / "sql"
PROFILE = "lms_warehouse"  # dbt_project.yml `profile:`
PROJECT = "lms_warehouse"  # dbt_project.yml `name:`
SOURCE = "learnupon"  # the dbt source of the raw tables
MARTS = "marts"  # the folder of the reporting tables (dbt_project.yml gives their schema)
# models with one of these tags are built only when asked for by tag: the user sync's plan needs a roster
ON_DEMAND_TAGS = ("sync",)


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
    return warehouse.backend.models_database


def dbt_dir(warehouse: Any) -> Path:
    """dbt's working folder for this warehouse: the generated profile, target/ and logs/.

    Absolute: dbt reads a relative --target-path against the project folder, so `--out data` put
    compiled SQL in sql/data/.dbt/target, inside the source tree.
    """
    return Path(warehouse.out_dir).resolve() / ".dbt"


def write_profile(folder: Path, database: Path, memory_limit: str, threads: int = 1, output: dict[str, Any] | None = None) -> Path:
    """profiles.yml for dbt-duckdb pointing at `database` (or the given target `output`); returns the folder (dbt's --profiles-dir).

    One thread: DuckDB already spreads each statement over the machine's cores, and one
    connection keeps a build to one writer.
    """
    folder.mkdir(parents=True, exist_ok=True)
    profile = {
        PROFILE: {
            "target": "warehouse",
            "outputs": {
                "warehouse": output or {
                    "type": "duckdb",
                    "path": str(Path(database).resolve()),
                    "schema": "main",
                    "threads": threads,
                    "settings": {"memory_limit": memory_limit, "TimeZone": "UTC"},
                    # the pseudonymised build puts its key's HMAC pads in each session (never in the profile)
                    "plugins": [{"module": "pipelines.privacy.dbt_duckdb"}],
                }
            },
        }
    }
    # JSON is YAML: no YAML writer needed, and paths with any character stay quoted correctly
    (folder / "profiles.yml").write_text(json.dumps(profile, indent=2), encoding="utf-8")
    return folder


def _common_args(work: Path, target: str = "target") -> list[str]:
    return [
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(work),
        "--target-path", str(work / target),
        "--log-path", str(work / "logs"),
        "--no-send-anonymous-usage-stats",  # no network: dbt's tracking and version check stay off
        "--no-version-check",
        "--no-use-colors",
        "--log-level", "none",
        "--log-level-file", "warn",  # dbt.log in <out>/.dbt/logs keeps warnings and errors
    ]


# ---- parsing -------------------------------------------------------------------------------------

# what dbt_project.yml names as model-paths, macro-paths and test-paths
PROJECT_SOURCE_FOLDERS = ("models", "macros", "tests")
# project_manifest()'s copies, one per state of the project (dagster-dbt reads a manifest from the project's target folder)
MANIFEST_CACHE = PROJECT_DIR / "target"


def project_fingerprint() -> str:
    """The project's folder, SQL, YAML and docs (.md) files and the dbt version: a parsed manifest is valid while they are unchanged."""
    import hashlib

    from dbt.version import __version__ as dbt_version

    digest = hashlib.sha256(f"{dbt_version}\0{PROJECT_DIR}".encode())  # the manifest names the folder
    # dbt_project.yml and its model, macro and test paths: never what a build wrote beside them
    sources = [PROJECT_DIR / "dbt_project.yml"]
    for folder in PROJECT_SOURCE_FOLDERS:
        sources += (p for p in (PROJECT_DIR / folder).rglob("*") if p.suffix in (".sql", ".yml", ".yaml", ".md") and p.is_file())
    for path in sorted(sources):
        digest.update(str(path.relative_to(PROJECT_DIR)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


_MANIFESTS: dict[tuple[str, str, str, bool], Any] = {}


def _target(pseudonymised: bool) -> str:
    return "target-pseudonymised" if pseudonymised else "target"


def _pseudonymise_vars(pseudonymised: bool) -> dict[str, Any]:
    """The dbt var that makes a build the pseudonymised one (sql/macros/pseudonymised.sql)."""
    if not pseudonymised:
        return {}
    from .privacy.plan import pseudonymise_plan

    return {"pseudonymise": pseudonymise_plan()}


def parse(work: Path, database: Path, raw_schema: str, pseudonymised: bool = False) -> Any:
    """The project's manifest (dbt's parsed graph), parsed once per process and database name.

    The as-of date is a var used only when SQL is compiled, so one manifest serves every date. The
    pseudonymised build has its own (its models' schemas differ), kept in its own target folder.
    """
    from dbt.cli.main import dbtRunner

    key = (Path(str(database)).stem, raw_schema, project_fingerprint(), pseudonymised)
    if key not in _MANIFESTS:
        variables = {"raw_schema": raw_schema, **_pseudonymise_vars(pseudonymised)}
        result = dbtRunner().invoke(["parse", *_common_args(work, _target(pseudonymised)), "--vars", json.dumps(variables)])
        if not result.success:
            raise ModelError(f"the dbt project in {PROJECT_DIR} does not parse: {result.exception}")
        _MANIFESTS[key] = result.result
    return _MANIFESTS[key]


def project_manifest() -> dict[str, Any]:
    """The project's manifest.json as a dict (for dagster-dbt's specs and the data dictionary).

    Parsed in a scratch folder, then kept in `sql/target/` under the project's fingerprint, so every
    process that loads the Dagster definitions does not parse the project again (about 6 s each).
    A folder that cannot be written only costs the parse.
    """
    import tempfile

    from dbt.cli.main import dbtRunner

    cached = MANIFEST_CACHE / f"manifest-{project_fingerprint()}.json"
    try:
        return json.loads(cached.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    with tempfile.TemporaryDirectory(prefix="lms-dbt-") as scratch:
        work = write_profile(Path(scratch), Path(scratch) / "warehouse.duckdb", "1GB")
        result = dbtRunner().invoke(["parse", *_common_args(work)])
        if not result.success:
            raise ModelError(f"the dbt project in {PROJECT_DIR} does not parse: {result.exception}")
        text = (work / "target" / "manifest.json").read_text(encoding="utf-8")
    try:
        MANIFEST_CACHE.mkdir(exist_ok=True)
        for old in MANIFEST_CACHE.glob("manifest-*.json"):  # earlier states of the project
            old.unlink(missing_ok=True)
        partial = cached.with_name(f".{cached.name}.{uuid.uuid4().hex}")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, cached)  # whole or absent: processes starting together may race here
    except OSError as exc:
        log.info("could not keep the parsed dbt manifest in %s (%s): parsed each time", MANIFEST_CACHE, exc)
    return json.loads(text)


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
        """Raw tables (learnupon source tables) the model needs: those it reads directly, less those its
        `meta.optional_sources` names (it reads them through the optional_source macro, if present)."""
        node = self.models[name]
        optional = set(node.config.meta.get("optional_sources") or [])
        tables = (p.split(".")[-1] for p in node.depends_on.nodes if p.startswith(f"source.{PROJECT}.{SOURCE}."))
        return sorted(t for t in tables if t not in optional)

    def tagged(self, tag: str) -> set[str]:
        return {name for name, node in self.models.items() if tag in node.tags}

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
    recorded in `model_builds` under `build_id` (default: a new id; Dagster passes its run's).
    pseudonymised: build the models again into `<schema>_pseudonymised` from raw rows whose personal
    data is replaced (docs/personal-data.md); its marts go to <out>/reporting_pseudonymised/ as Parquet,
    and the roles LMS_PSEUDONYMISED_READERS names are granted them on PostgreSQL. Not recorded in
    `model_builds`, and never published over the plain marts.
    """
    from dbt.cli.main import dbtRunner

    from .privacy.reporting import PseudonymisedBuild

    started = time.perf_counter()
    started_at = datetime.now(timezone.utc)
    as_of = as_of or datetime.now(timezone.utc).date()
    backend = warehouse.backend
    privacy = PseudonymisedBuild.prepare(warehouse) if pseudonymised else None  # a missing key: before anything
    backend.check_raw()
    work, database = backend.dbt_profile()
    raw_tables, existing = backend.model_inputs(database)  # Delta: its raw tables copied in first

    t_parse = time.perf_counter()
    manifest = parse(work, database, warehouse.dataset, pseudonymised)
    graph = Graph.of(manifest)
    parse_seconds = time.perf_counter() - t_parse
    if select is not None:
        unknown = sorted(set(select) - set(graph.models))
        if unknown:
            raise ConfigError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(sorted(graph.models))}")
    if select is not None:
        chosen = set(select)
    elif tag is not None:
        chosen = graph.tagged(tag)
    else:
        chosen = set(graph.models) - set().union(*(graph.tagged(t) for t in ON_DEMAND_TAGS))

    result = BuildResult()
    result.as_of = as_of
    result.database = backend.models_location
    result.schemas = {name: graph.schema(name) for name in graph.models}
    result.skipped = skip_reasons(graph, raw_tables, chosen, existing, warehouse.dataset)
    for name, reason in result.skipped.items():
        log.warning("skipped %s: %s", name, reason)
    to_build = [name for name in graph.order if name in chosen and name not in result.skipped]

    t_build = time.perf_counter()
    if to_build:
        build_vars = {**(variables or {}), "as_of": as_of.isoformat(), "raw_schema": warehouse.dataset}
        args = [
            "build",
            *_common_args(work, _target(pseudonymised)),
            "--vars", json.dumps({**build_vars, **_pseudonymise_vars(pseudonymised)}),
            "--select", *to_build,
            # a test runs when every model it reads is built (a relationships test too)
            "--indirect-selection", "cautious",
        ]
        if not unit_tests:
            args += ["--exclude-resource-type", "unit_test"]
        try:
            with privacy.session() if privacy else nullcontext():
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
        for name, count in backend.count_rows(database, {n: result.relation(n) for n in built_tables}).items():
            result[name] = count
    t_export = time.perf_counter()
    marts = {n: result.relation(n) for n in result.marts}
    if privacy:  # its own Parquet folder and readers; never over the plain marts
        privacy.publish(marts, export_parquet)
    else:
        if export_parquet:  # Parquet: beside the raw tables' folders, published alike
            backend.export_marts(marts)
        backend.publish_marts(database, marts)  # Delta: written back to the lake
    sql = result.timings.get("sql", 0.0)
    result.timings.update(
        parse=round(parse_seconds, 3),
        build=round(build_seconds, 3),
        # dbt's fixed cost: the build's wall time that no model or test accounts for
        dbt_startup=round(parse_seconds + build_seconds - sql - result.timings.get("tests", 0.0), 3),
        export=round(time.perf_counter() - t_export, 3),
        total=round(time.perf_counter() - started, 3),
    )
    if not privacy:
        record_build(warehouse, result, build_id or new_build_id(), started_at, datetime.now(timezone.utc))
    if result.errors:  # raised after the export: what did build is still published
        raise ModelError("; ".join(f"{name} failed: {msg}" for name, msg in result.errors.items()))
    return result


def generate_docs(warehouse: Any) -> Path:
    """`dbt docs generate` for the warehouse (offline: nothing is fetched); returns the static page.

    The catalog (column types) is read from the built warehouse, so build the models first.
    """
    from dbt.cli.main import dbtRunner

    warehouse.backend.check_raw()
    work, database = warehouse.backend.dbt_profile()
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

    backend = warehouse.backend
    backend.check_raw()
    work, database = backend.dbt_profile()
    manifest = parse(work, database, warehouse.dataset)
    graph = Graph.of(manifest)
    result = BuildResult()
    result.database = backend.models_location
    result.schemas = {name: graph.schema(name) for name in graph.models}
    existing = backend.relations(database)
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




# ---- the Parquet copy of the reporting tables ------------------------------------------------------


@contextmanager
def reporting_connection(warehouse: Any, relations: Iterable[str]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only DuckDB connection where these relations (schema.name) can be read, in UTC.

    DuckDB and Parquet warehouses: their database file. PostgreSQL: an in-memory DuckDB with
    a copy of them, so the Parquet export and the HTML report run the same SQL on every engine.
    """
    with warehouse.backend.reporting_connection(relations) as con:
        yield con


def export_reporting_parquet(con: duckdb.DuckDBPyConnection, marts: dict[str, str], root: Path) -> None:
    """Write each reporting table (name -> relation) to root/<table>/data.parquet, so a reader never sees half a file.

    The file is written in a temporary folder beside the target and renamed into place (a
    rename within one file system is atomic); a first export renames the whole folder.
    """
    if not marts:
        return
    root.mkdir(parents=True, exist_ok=True)
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
