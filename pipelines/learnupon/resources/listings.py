"""Resources generated from the endpoint table in settings.LISTINGS: one paginated listing each."""

from __future__ import annotations

from collections.abc import Iterator

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from .. import tables
from ..context import ExtractContext, guard_empty_listing
from ..settings import Listing
from .common import listing_complete, row_hash


def listing_resource(context: ExtractContext, listing: Listing) -> DltResource:
    scd2 = tables.TABLES[listing.resource].scd2

    @dlt.resource(**tables.hints(listing.resource))
    @context.contained(listing.resource, hold=scd2)
    def read() -> Iterator[pa.Table]:
        count = 0
        for records in listing_pages(context, listing):
            count += len(records)
            if listing.renames:
                records = [_renamed(r, listing.renames) for r in records]
            if scd2:
                records = [{**r, "row_hash": row_hash(r)} for r in records]
            context.progress.update(listing.resource, pages=1, rows=len(records))
            yield tables.to_table(listing.resource, records, context.issues)
        # the whole listing was read: refuse a suspect empty one, else retire what it no longer shows
        guard_empty_listing(listing.resource, count, dlt.current.source_state())
        if not scd2:
            yield listing_complete(context, listing.resource)

    return read


def listing_pages(context: ExtractContext, listing: Listing) -> Iterator[list[dict]]:
    """Pages of a listing; the groups, which group_memberships fans out over, are fetched once per run."""
    if listing.resource == tables.GROUPS:
        records = context.run_cache.groups.get(lambda: listing_records(context, listing))
        for start in range(0, len(records), 500):
            yield records[start : start + 500]
        return
    if listing.resource == tables.COURSE_INSTRUCTORS:
        records = context.course_instructor_records()
        for start in range(0, len(records), 500):
            yield records[start : start + 500]
        return
    for page in context.client.paginate(listing.path, record_keys=listing.keys):
        yield page.records


def listing_records(context: ExtractContext, listing: Listing) -> list[dict]:
    return [r for page in context.client.paginate(listing.path, record_keys=listing.keys) for r in page.records]


def _renamed(record: dict, renames: tuple[tuple[str, str], ...]) -> dict:
    record = dict(record)
    for old, new in renames:
        if old in record and new not in record:
            record[new] = record.pop(old)
    return record
