"""The realm: `portals`, the sub-portals a top-level portal lists on GET /portals, with members and licences.

Read only from a portal configured as top-level (`top_level`): what GET /portals does on a
sub-portal is not documented (the simulator answers 403), and a call that might answer 401 there
would stop the whole run as refused keys. A top-level portal that answers 403 or 404 fails this
resource alone, with a line saying to turn `top_level` off.

A sub-portal the realm lists but the configuration has no keys for is reported (a `data_issues`
row each, and one line in the run's summary): its data is not loaded. Keys are never generated
for it: GET /portals/{id}/generate_keys replaces a portal's keys, breaking every integration that
uses the old ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from .. import tables
from ..context import ExtractContext, guard_empty_listing
from ..errors import LearnUponAPIError, LearnUponError
from ..settings import PORTALS_KEYS, PORTALS_PATH
from .common import row_hash

UNCONFIGURED = (
    "a sub-portal of the realm that no configured portal is: its data is not loaded; configure it with its own"
    " API keys to load it (keys are never generated: that would invalidate the portal's existing keys)"
)


class NotTopLevel(LearnUponError):
    """A portal configured as top-level refused GET /portals."""


def portals_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints(tables.PORTALS))
    @context.contained(tables.PORTALS, hold=True)
    def portals() -> Iterator[pa.Table]:
        if not context.options.top_level:
            return  # GET /portals is never called; the table is created empty once (a stable schema)
        records: list[dict[str, Any]] = []
        try:
            for page in context.client.paginate(PORTALS_PATH, record_keys=PORTALS_KEYS):
                records.extend(page.records)
                context.progress.update(tables.PORTALS, pages=1, rows=len(page.records))
        except LearnUponAPIError as error:
            if error.status in (403, 404):
                raise NotTopLevel(
                    f"GET {PORTALS_PATH} answered {error.status}: this portal is not its realm's top-level portal"
                    " (or its keys may not manage the realm); set top_level off for it"
                ) from None
            raise
        guard_empty_listing(tables.PORTALS, len(records), dlt.current.source_state())
        report_unconfigured(context, records)
        yield tables.to_table(tables.PORTALS, [{**r, "row_hash": row_hash(r)} for r in records], context.issues)

    return portals


def report_unconfigured(context: ExtractContext, records: list[dict[str, Any]]) -> list[str]:
    """Record the listed portals whose subdomain no configured portal has (data_issues, the run's summary)."""
    configured = {s.strip().lower() for s in context.configured_subdomains}
    missing = []
    for record in records:
        subdomain = str(record.get("subdomain") or "").strip()
        if subdomain.lower() in configured:
            continue
        missing.append(subdomain)
        context.issues.add(tables.PORTALS, str(record.get("id")), "subdomain", subdomain, UNCONFIGURED)
    if missing:
        context.costs["unconfigured_portals"] = sorted(missing)
    return missing
