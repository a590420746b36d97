"""Destinations behind one interface (base.py): one module per warehouse kind.

A new destination is a module here with a `Destination` subclass, named in `KINDS`; the CLI's
`--destination` choices, Dagster's config and the warehouse's checks derive from it.
"""

from __future__ import annotations

from typing import Any

from ..learnupon.errors import ConfigError
from .base import Destination
from .delta import Delta
from .dlt_factory import use_dlt_url_shims
from .duckdb import DuckDb
from .parquet import Parquet
from .postgres import Postgres

KINDS: dict[str, type[Destination]] = {kind.name: kind for kind in (DuckDb, Parquet, Delta, Postgres)}
DESTINATIONS = tuple(KINDS)


def destination_for(warehouse: Any) -> Destination:
    """The destination a warehouse (pipelines.run.runner.Warehouse) names, bound to it (ConfigError for an unknown name)."""
    use_dlt_url_shims()  # before dlt reads a URL or a path: no SQLAlchemy import (dlt_factory.py)
    kind = KINDS.get(warehouse.destination)
    if kind is None:
        raise ConfigError(f"--destination must be one of {', '.join(DESTINATIONS)}, got {warehouse.destination!r}")
    return kind(warehouse)


__all__ = ["DESTINATIONS", "KINDS", "Destination", "destination_for"]
