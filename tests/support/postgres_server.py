"""PostgreSQL for the tests: one throwaway server per test process, one fresh database per test.

The server (pipelines/destinations/postgres_server.py) starts the first time a test asks for it, in each
xdist worker separately (its own port and folder, so workers never share state), and stops
by its process id when the worker's session ends. `postgres_database` gives each test its own
database (CREATE DATABASE ... / DROP DATABASE ... WITH (FORCE)), so tests never see each other.

Where the server cannot be started (no PostgreSQL binaries on the machine, say) the tests that
need one fail with the reason, on every machine: a PostgreSQL path that went untested would
otherwise pass unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pipelines.destinations.postgres_server import PostgresUnavailable, Server, start_postgres

__all__ = ["Database", "Server", "start_postgres", "postgres_server", "postgres_database"]


@dataclass(frozen=True)
class Database:
    """One test's database on the session's server."""

    server: Server
    name: str

    @property
    def dsn(self) -> str:
        return self.server.dsn(self.name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        pytest.fail(f"no PostgreSQL server could be started for this test: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_database(postgres_server: Server) -> Iterator[Database]:
    name = postgres_server.create_database()
    try:
        yield Database(postgres_server, name)
    finally:
        postgres_server.drop_database(name)
