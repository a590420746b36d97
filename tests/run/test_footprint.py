"""What keeps a run's memory flat and its calls flowing: DuckDB's memory limit, paging ahead, capped malloc arenas,
deltalake's allocator handing freed pages back."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines.learnupon.errors import ConfigError
from pipelines.learnupon.fanout import read_ahead
from pipelines.run.runner import Warehouse

from tests.conftest import CORE_RESOURCES, run_pipeline
from tests.support.events import CEILING_SECONDS, wait_until


def test_duckdb_memory_limits_reach_the_loads_and_the_models(portal, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LMS_DUCKDB_MEMORY_LIMIT", "96MB")
    run_pipeline(portal, tmp_path, resources=CORE_RESOURCES)
    warehouse = Warehouse(out_dir=tmp_path)
    assert warehouse.duckdb_config == {"memory_limit": "96MB"}
    # dlt's own connection to the warehouse carries it
    with warehouse.pipeline().sql_client() as client:
        limit = client.execute_sql("select current_setting('memory_limit')")[0][0]
    assert limit.replace(" ", "") in ("96.0MB", "91.5MiB"), limit
    # the model build has a limit of its own (it joins and windows whole tables)
    monkeypatch.setenv("LMS_DUCKDB_MODELS_MEMORY_LIMIT", "300MB")
    models = Warehouse(out_dir=tmp_path).models_duckdb_config
    with duckdb.connect(str(warehouse.duckdb_path), config=models) as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0].replace(" ", "") in ("300.0MB", "286.1MiB")


def test_the_default_memory_limit_is_small_and_a_bad_one_is_refused(monkeypatch) -> None:
    monkeypatch.delenv("LMS_DUCKDB_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("LMS_DUCKDB_MODELS_MEMORY_LIMIT", raising=False)
    assert Warehouse().duckdb_config == {"memory_limit": "64MB"}
    assert Warehouse().models_duckdb_config == {"memory_limit": "1GB"}
    monkeypatch.setenv("LMS_DUCKDB_MEMORY_LIMIT", "half of it")
    with pytest.raises(ConfigError, match="LMS_DUCKDB_MEMORY_LIMIT must be a size"):
        Warehouse()
    monkeypatch.setenv("LMS_DUCKDB_MEMORY_LIMIT", "2GB")
    monkeypatch.setenv("LMS_DUCKDB_MODELS_MEMORY_LIMIT", "-1")
    with pytest.raises(ConfigError, match="LMS_DUCKDB_MODELS_MEMORY_LIMIT must be a size"):
        Warehouse()


def test_read_ahead_keeps_order_and_runs_one_step_ahead() -> None:
    produced: list[int] = []

    def pages() -> Iterator[int]:
        for n in range(1, 6):
            produced.append(n)
            yield n

    seen = []
    for page in read_ahead(pages()):
        if page == 1:
            # while the caller holds page 1, the producer moves on (however long its thread waits for a core)
            wait_until(lambda: len(produced) >= 2, "the producer reading page 2 while page 1 is held")
        seen.append(page)
    assert seen == [1, 2, 3, 4, 5]


def test_read_ahead_raises_the_producers_error_after_the_pages_before_it() -> None:
    def pages() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("page 3 failed")

    seen = []
    with pytest.raises(RuntimeError, match="page 3 failed"):
        for page in read_ahead(pages()):
            seen.append(page)
    assert seen == [1, 2]


def test_read_ahead_stops_asking_when_the_caller_stops() -> None:
    produced: list[int] = []

    def pages() -> Iterator[int]:
        for n in range(1, 1000):
            produced.append(n)
            yield n

    reader = read_ahead(pages())
    assert next(reader) == 1
    reader.close()  # the caller gives up (an error downstream): the producer stops within a few items
    count = len(produced)
    assert count <= 5
    threading.Event().wait(0.5)
    assert len(produced) == count


def test_deltalake_hands_freed_memory_back_at_once_unless_the_environment_says_otherwise() -> None:
    """deltalake's own jemalloc reads its settings when the library loads: importing the package sets them first."""
    from pipelines.malloc import DELTALAKE_JEMALLOC

    name, value = DELTALAKE_JEMALLOC
    code = f"import os, pipelines, deltalake; print(os.environ[{name!r}])"
    env = {k: v for k, v in os.environ.items() if k != name}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=CEILING_SECONDS)
    assert done.stdout.strip() == value == "dirty_decay_ms:0,muzzy_decay_ms:0", done.stderr
    done = subprocess.run([sys.executable, "-c", code], env={**env, name: "dirty_decay_ms:5000"}, capture_output=True,
                          text=True, timeout=CEILING_SECONDS)
    assert done.stdout.strip() == "dirty_decay_ms:5000", done.stderr
