"""Shared fixtures: a simulated portal on 127.0.0.1 and helpers to run the real pipeline into a real warehouse."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest

from pipelines.config import PortalSettings
from pipelines.learnupon.context import ExtractContext
from pipelines.learnupon.settings import ExtractOptions
from pipelines.run.runner import RunSummary, Warehouse, run_extract
from pipelines.simulator import PortalConfig, SimulatedPortal, SimulatedRealm

from tests.support.events import CEILING_SECONDS
from tests.support.postgres_server import postgres_database, postgres_server  # noqa: F401 (fixtures)


def pytest_configure(config: pytest.Config) -> None:
    """The dbt manifest the tests read (Dagster's definitions, the dictionary) is the project as it is on disk:
    parsed once per session (dbt's partial parse), by the controller before any xdist worker starts."""
    if not hasattr(config, "workerinput"):
        from pipelines.models.manifest import prepare_manifest

        prepare_manifest()

# the resources whose endpoints every simulated portal serves
CORE_RESOURCES = ["users", "courses", "enrollments"]

# a fixed simulated "now" keeps generated data identical across runs of the suite
CLOCK = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)


# a retried call waits up to this long (LEARNUPON_RETRY_BACKOFF_MS; 500 ms by default): the suite's faults are
# local, so its runs retry at once instead of sleeping (tests of the backoff itself give the client their own)
RETRY_BACKOFF_MS = 20

# simulator modes a test can ask for: today's reading of the reference, or only what it promises (strict)
PORTAL_MODES: dict[str, dict[str, Any]] = {"default": {}, "strict": {"strict": True}}


def modes_once(default_suite: str = "strict") -> list[Any]:
    """Every simulator mode for a scenario that is the same code path in each: the default suite runs it in
    `default_suite` only (the narrowest reading unless named), the slow suite in every mode. The default suite
    still compares every table in each mode (tests/extract/test_ground_truth.py: the strict mode, and the
    default mode with the other reading of every ambiguous place)."""
    return [mode if mode == default_suite else pytest.param(mode, marks=pytest.mark.slow) for mode in PORTAL_MODES]


class PortalFactory:
    """`make(**PortalConfig fields)` starts a portal; `make(mode="strict")` one in that mode;
    `make.realm(["emea", "apac"], **top-level fields)` a realm (a top-level portal and those sub-portals)."""

    def __init__(self, default_mode: str) -> None:
        self.default_mode = default_mode
        self.started: list[Any] = []

    def config(self, mode: str | None = None, **overrides: Any) -> PortalConfig:
        values = {"users": 120, "seed": 11, "page_size": 37, "clock": CLOCK, **PORTAL_MODES[mode or self.default_mode]}
        values.update(overrides)
        return PortalConfig(**values)

    def __call__(self, mode: str | None = None, **overrides: Any) -> SimulatedPortal:
        portal = SimulatedPortal(self.config(mode, **overrides))
        portal.start()
        self.started.append(portal)
        return portal

    def realm(self, subdomains: list[str], mode: str | None = None, sub_users: int = 40, **overrides: Any) -> SimulatedRealm:
        """A started realm: each sub-portal with its own keys ("<subdomain>-user"), seed and data (ids overlap)."""
        subs = {
            name: self.config(mode, users=sub_users, seed=100 + i, username=f"{name}-user", password=f"{name}-secret")
            for i, name in enumerate(subdomains)
        }
        realm = SimulatedRealm(self.config(mode, **overrides), subs)
        realm.start()
        self.started.append(realm)
        return realm


@pytest.fixture
def portal_factory(request: pytest.FixtureRequest) -> Iterator[PortalFactory]:
    """See PortalFactory. The mode defaults to the fixture's parameter, so a test runs in both with
    `@pytest.mark.parametrize("portal_factory", ["default", "strict"], indirect=True)`.
    """
    factory = PortalFactory(getattr(request, "param", "default"))
    yield factory
    for started in factory.started:
        started.stop()


@pytest.fixture
def portal(portal_factory: Any, request: pytest.FixtureRequest) -> SimulatedPortal:
    """A started portal; `@pytest.mark.parametrize("portal", ["default", "strict"], indirect=True)` runs a test in both modes."""
    return portal_factory(mode=getattr(request, "param", None))


def settings_for(portal: SimulatedPortal, **overrides: Any) -> PortalSettings:
    values = dict(
        base_url=portal.base_url,
        username=portal.config.username,
        password=portal.config.password,
        workers=4,
        retry_backoff_ms=RETRY_BACKOFF_MS,
    )
    values.update(overrides)
    return PortalSettings(**values)


def client_of(settings: PortalSettings, portal: SimulatedPortal) -> Any:
    """The run's client for a simulated portal: its rate-limit window is the portal's (a real portal's is the
    minute; tests may shorten it)."""
    made = settings.client()
    made.limiter.window_seconds = portal.config.rate_window_seconds
    return made


def run_pipeline(
    portal: SimulatedPortal,
    out_dir: Path | Warehouse,
    resources: list[str] | None = None,
    destination: str = "duckdb",
    options: ExtractOptions | None = None,
    credentials: str | None = None,
    configured_subdomains: tuple[str, ...] = (),
    **settings: Any,
) -> RunSummary:
    """One real run: HTTP to the simulated portal, dlt, and a DuckDB file (or Parquet folders, a Delta lake)
    under out_dir, or a PostgreSQL database (`destination="postgres"`, `credentials` its URL; dlt's
    working files under out_dir). `out_dir` may be a Warehouse (a Delta lake in a bucket, say);
    `destination` is then its own. `configured_subdomains`: the portals the configuration has keys for
    (a realm's other sub-portals are reported)."""
    portal_settings = settings_for(portal, **settings)
    options = options or ExtractOptions(workers=portal_settings.workers)
    context = ExtractContext(client_factory=lambda: client_of(portal_settings, portal), options=options,
                             configured_subdomains=configured_subdomains)
    if isinstance(out_dir, Warehouse):
        warehouse = out_dir
    else:
        warehouse = Warehouse(destination=destination, out_dir=out_dir, postgres_credentials=credentials)
    try:
        return run_extract(context, warehouse, resources)
    finally:
        context.close()


Reader = Callable[..., list[dict[str, Any]]]  # read(sql, params=None) -> rows as dicts


@contextmanager
def reading(out_dir: Any, destination: str = "duckdb", tables: Iterable[str] | None = None) -> Iterator[Reader]:
    """One connection to the warehouse as its readers see it, for many queries: `read(sql, params)`.

    out_dir: the output folder, a Warehouse (its Delta tables, read through deltalake: only `tables` when
    given), or a PostgreSQL database (anything with a `dsn`, such as the `postgres_database` fixture). parquet:
    the published folders, each read as a BI tool reads it (`read_parquet('<table>/*.parquet')`, nothing
    de-duplicated or filtered): current rows as `learnupon.<table>`, history as `history.<table>`.
    Opening costs more than most queries (DuckDB starts the file's database again), so a comparison of many
    tables reads them through one.
    """
    dsn = getattr(out_dir, "dsn", None)
    if dsn is not None:
        con = psycopg2.connect(dsn, options="-c TimeZone=UTC")
        try:
            def read_postgres(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
                with con.cursor() as cursor:
                    cursor.execute(sql.replace("?", "%s") if params else sql, params or None)
                    return _rows(cursor)
            yield read_postgres
        finally:
            con.close()
        return
    if isinstance(out_dir, Warehouse) and out_dir.destination == "delta":
        with out_dir.delta_lake.connect(tables) as con:
            yield _reader(con)
        return
    if destination == "parquet":
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            root = out_dir / "parquet"
            for schema, folder in (("learnupon", root), ("history", root / "history")):
                con.execute(f"create schema if not exists {schema}")
                for table in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
                    if table.name not in ("history", "marts"):
                        con.execute(f"create view {schema}.{table.name} as select * from read_parquet('{table}/*.parquet')")
            yield _reader(con)
        return
    path = out_dir.duckdb_path if isinstance(out_dir, Warehouse) else out_dir / "warehouse.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        yield _reader(con)


def query(out_dir: Any, sql: str, params: list[Any] | None = None, destination: str = "duckdb") -> list[dict[str, Any]]:
    """`sql` over the warehouse's `learnupon.<table>` as its readers see it (`reading`'s), on a connection of its own; `?` marks parameters."""
    tables = None
    if isinstance(out_dir, Warehouse) and out_dir.destination == "delta":
        # only the tables the query names (opening every Delta table costs more than most queries)
        named = set(re.findall(r"\blearnupon\.(\w+)|table_name = '(\w+)'", sql))
        whole = "information_schema" in sql and "table_name = '" not in sql
        tables = None if whole or not named else {a or b for a, b in named}
    with reading(out_dir, destination, tables) as read:
        return read(sql, params)


def _reader(con: duckdb.DuckDBPyConnection) -> Reader:
    return lambda sql, params=None: _rows(con.execute(sql, params or []))


def _rows(cursor: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def current_users(out_dir: Any, destination: str = "duckdb") -> list[dict[str, Any]]:
    return query(out_dir, "select * from learnupon.users where _dlt_valid_to is null order by id", destination=destination)


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = CEILING_SECONDS, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console command, as a user would run it (in `cwd`: where dlt looks for `.dlt/`);
    `timeout` only ends a hung command (generous: a loaded machine is slow)."""
    command = shutil.which("lms-warehouse", path=str(Path(sys.executable).parent)) or "lms-warehouse"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNUPON_")}
    base_env["LEARNUPON_RETRY_BACKOFF_MS"] = str(RETRY_BACKOFF_MS)
    base_env.update(env or {})
    return subprocess.run([command, *args], capture_output=True, text=True, env=base_env, timeout=timeout, cwd=cwd)
