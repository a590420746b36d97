"""Our dlt destination factories (pipelines/destinations/dlt_factory.py): capabilities resolved once per factory,
the same as dlt's own, a copy for each caller; to dlt the same destination type as the factory extended."""

from __future__ import annotations

from pathlib import Path

import dlt
import pytest

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
