"""A run over several portals: each extracts at its own pace, the warehouse takes their loads one at a time.

LearnUpon's rate limits apply per portal, not per realm (the API reference), so each portal has its own
client (its own rate limiter, weekly reserve and circuit breakers) and reads its API in its own thread.
Each portal is its own dlt pipeline (`pipeline_name`): its incremental cursors and remembered lists are
dlt state, and dlt keeps state per pipeline, in the working folder and in the warehouse's
`_dlt_pipeline_state`; dlt runs pipelines in parallel threads, each with its own context (dlt's
`Container` is thread-affine). The steps that read or write the warehouse take turns (`WriteTurn`):
DuckDB has one writer, and a portal's load is one transaction anyway.

One portal failing (refused keys, a host down, its weekly budget spent) fails that portal's run only: the
others load and commit, each records its own `pipeline_runs` row (with its `portal`), and the outcome says
which failed, so the command exits non-zero over an incomplete warehouse.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..learnupon.context import ExtractContext
from .runner import PIPELINE_NAME, RunSummary, Warehouse, extract_and_load, innermost, publish_after, run_guard, summary_of_failure

log = logging.getLogger("lms_warehouse.portals")


def pipeline_name(portal: str, single: bool) -> str:
    """The dlt pipeline of a portal. The portal of the single-portal settings keeps the name every run before
    several portals used (its cursors carry on); a portal of the portals section has its own."""
    return PIPELINE_NAME if single else f"{PIPELINE_NAME}__{portal.replace('-', '_')}"


@dataclass
class PortalOutcome:
    """What one portal's run came to: its summary (None when it failed before it could record one) and its error."""

    portal: str
    summary: RunSummary | None
    error: BaseException | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None or self.summary is None or self.summary.status != "succeeded"


def run_portals(
    contexts: Sequence[tuple[ExtractContext, str]],
    warehouse: Warehouse,
    resources: Sequence[str] | None = None,
    on_start: Callable[[ExtractContext], Any] | None = None,
) -> list[PortalOutcome]:
    """Run every (context, pipeline name) into `warehouse` side by side, under one run lock; one outcome per
    portal, in the order given. Errors that stop the whole run (the warehouse busy, a signal) are raised."""
    turn = threading.Lock()

    def one(context: ExtractContext, name: str) -> PortalOutcome:
        if on_start is not None:
            on_start(context)
        try:
            return PortalOutcome(context.portal_name, extract_and_load(context, warehouse, resources, name, turn, alone=len(contexts) == 1))
        except Exception as exc:  # this portal's failure, refused keys included (recorded in its pipeline_runs row)
            cause = innermost(exc)  # refused keys: the ConfigError dlt wrapped
            log.error("portal %s failed: %s", context.portal_name, cause)
            return PortalOutcome(context.portal_name, summary_of_failure(exc), cause)
        finally:
            context.close()

    with run_guard(warehouse):
        # each thread starts from this one's context variables (the run's settings live in some)
        with ThreadPoolExecutor(max_workers=max(1, len(contexts)), thread_name_prefix="portal") as pool:
            futures = [pool.submit(contextvars.copy_context().run, one, context, name) for context, name in contexts]
            outcomes = [future.result() for future in futures]
        loaded = [o.summary for o in outcomes if o.summary is not None and o.summary.status != "failed"]
        if loaded:
            publish_after(warehouse, loaded)
    return outcomes
