"""Several simulated portals loaded side by side into one warehouse, on any destination, and what to compare.

`portal_contexts` gives run_portals (pipelines/run/portals.py) one context per portal, each named as its
configuration would name it; `unknown_problems` is a portal's rows against its own ground truth (the known
defects of raw_truth left out); `portal_rows` every row of some portals, to show another portal's run left them.
`reader` and `read_as` are what tests/conftest.py's `reading` takes: an output folder (DuckDB, or Parquet when
`read_as` is "parquet"), a Delta Warehouse, or a PostgreSQL database.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pipelines.config import PortalSettings
from pipelines.learnupon.context import ExtractContext
from pipelines.learnupon.settings import ExtractOptions
from pipelines.learnupon.tables import LISTING_SCOPES, PORTAL, TABLES
from pipelines.run.portals import pipeline_name
from pipelines.simulator import SimulatedPortal

from tests.conftest import RETRY_BACKOFF_MS, client_of, reading
from tests.support import raw_truth

BOOKKEEPING = {LISTING_SCOPES}  # appended by every run of every portal: not a row of the portal
# columns that say which load wrote a row, or when a leaderboard snapshot was taken (each run takes the day's again)
RUN_COLUMNS = ("_dlt_load_id", "_dlt_id", "taken_at")


def portal_contexts(portals: dict[str, SimulatedPortal], passwords: dict[str, str] | None = None,
                    workers: int = 4) -> list[tuple[ExtractContext, str]]:
    """(context, dlt pipeline name) per portal, as `[sources.learnupon.portals.<name>]` would configure them."""
    contexts = []
    for name, portal in portals.items():
        password = (passwords or {}).get(name, portal.config.password)
        settings = PortalSettings(base_url=portal.base_url, username=portal.config.username, password=password, workers=workers,
                                    retry_backoff_ms=RETRY_BACKOFF_MS)
        context = ExtractContext(client_factory=partial(client_of, settings, portal), portal=name, options=ExtractOptions(workers=workers))
        contexts.append((context, pipeline_name(name, single=False)))
    return contexts


def unknown_problems(reader: Any, portal: SimulatedPortal, name: str, mode: str, phase: str,
                     read_as: str = "duckdb", destination: str = "duckdb") -> dict[str, list[str]]:
    """table -> the first differences of portal `name`'s rows from its ground truth that no known defect explains."""
    found = {}
    for table, problems in raw_truth.differences(reader, portal, destination=read_as, name=name).items():
        unknown = [text for column, text in problems if not raw_truth.known(mode, phase, table, column, destination)]
        if unknown:
            found[table] = unknown[:5]
    return found


def portal_rows(reader: Any, names: tuple[str, ...], read_as: str = "duckdb") -> dict[str, list[tuple]]:
    """Every row (history included) of these portals in every raw table the warehouse has, but which load wrote it."""
    rows = {}
    portals = ", ".join(f"'{n}'" for n in names)
    with reading(reader, read_as) as read:
        present = {r["table_name"] for r in read(
            "select table_name from information_schema.tables where table_schema = 'learnupon'")}
        for table in sorted(set(TABLES) - BOOKKEEPING):
            if table not in present:  # a resource with no rows on any portal: no table on a file destination
                continue
            found = read(f"select * from learnupon.{table} where {PORTAL} in ({portals})")
            rows[table] = sorted(
                tuple(sorted((k, repr(v)) for k, v in r.items() if k not in RUN_COLUMNS)) for r in found
            )
    return rows
