"""Our dlt destination factories (pipelines/destinations/dlt_factory.py): capabilities resolved once per factory,
the same as dlt's own, a copy for each caller; to dlt the same destination type as the factory extended. dlt's
connection URLs through its own shims: the same fields and rendering as SQLAlchemy's, and no SQLAlchemy import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dlt
import pytest
from dlt.common.libs import sql_alchemy_shims

from pipelines.destinations.delta_lake.load_jobs import lake_filesystem
from pipelines.destinations.dlt_factory import settled


@pytest.mark.parametrize("factory, credentials", [
    (dlt.destinations.duckdb, "warehouse.duckdb"),
    (dlt.destinations.postgres, "postgresql://loader:pw@127.0.0.1:5432/warehouse"),
])
def test_capabilities_equal_dlts_and_each_caller_gets_its_own_copy(factory: type, credentials: str, tmp_path: Path) -> None:
    ours, theirs = settled(factory)(credentials=credentials), factory(credentials=credentials)
    assert ours.destination_type == theirs.destination_type and ours.destination_name == theirs.destination_name
    first, second = ours.capabilities(), ours.capabilities()
    plain = theirs.capabilities()
    assert {k: v for k, v in first.items() if not callable(v)} == {k: v for k, v in plain.items() if not callable(v)}
    assert first is not second
    first.max_identifier_length = 3  # a caller adjusting its copy
    assert ours.capabilities().max_identifier_length == plain.max_identifier_length
    assert settled(factory) is type(ours)  # one class per dlt factory


def test_the_lake_is_dlts_filesystem_to_dlt(tmp_path: Path) -> None:
    lake = lake_filesystem(bucket_url=str(tmp_path))
    assert lake.destination_type == "dlt.destinations.filesystem" and lake.destination_name == "filesystem"
    assert lake.capabilities() is not lake.capabilities()


URLS = [
    "postgresql://loader:pw@127.0.0.1:5432/warehouse",
    "postgresql://loader:p%40ss%2Fw%3Ard@db.example.org/warehouse?sslmode=require&connect_timeout=15",
    "postgresql+psycopg2://loader@[::1]:5433/warehouse",
    "duckdb:///relative/warehouse.duckdb",
]


@pytest.mark.parametrize("url", URLS)
def test_dlts_url_shims_read_and_print_a_url_as_sqlalchemy_does(url: str) -> None:
    from sqlalchemy.engine import make_url

    ours, theirs = sql_alchemy_shims.make_url(url), make_url(url)
    assert ours._asdict() == {k: (dict(v) if k == "query" else v) for k, v in theirs._asdict().items()}
    assert ours.render_as_string(hide_password=True) == theirs.render_as_string(hide_password=True)
    assert ours.render_as_string(hide_password=False) == theirs.render_as_string(hide_password=False)


def test_a_load_in_a_new_process_never_imports_sqlalchemy_and_hides_the_password(tmp_path: Path) -> None:
    """What a command does: a warehouse's destination (its URL read through dlt's shims), a small load, the
    destination printed; PostgreSQL credentials read from a URL print without their password."""
    script = f"""
import sys
from pathlib import Path
import dlt, pyarrow as pa
from pipelines.run.runner import Warehouse
warehouse = Warehouse(out_dir=Path({str(tmp_path)!r}))
pipeline = warehouse.pipeline("probe")
pipeline.run(dlt.resource([pa.table({{"a": [1]}})], name="t")).raise_on_failed_jobs()
print(pipeline.destination_client().config)
from dlt.destinations.impl.postgres.configuration import PostgresCredentials
credentials = PostgresCredentials("postgresql://loader:s3cret-pw@127.0.0.1:5432/warehouse")
print(credentials.password == "s3cret-pw", credentials)
print("sqlalchemy" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    printed, postgres, imported = done.stdout.strip().splitlines()[-3:]
    assert printed == f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    assert postgres == "True postgresql://loader:***@127.0.0.1:5432/warehouse"
    assert imported == "False"
