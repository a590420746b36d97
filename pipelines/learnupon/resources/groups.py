"""Group memberships: who is in which group, one search per group (SCD2).

The search needs a group_id, so this fans out over the groups listing. With
version_id=1.1 each record's `id` is the membership id and `user_id` the user;
without it (or on a portal that ignores it) `id` is the user id: both read.
Removals only show as absence from a complete listing, hence SCD2.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from .. import tables
from ..context import ExtractContext
from ..records import int_or_none
from ..fanout import fan_out
from ..settings import GROUP_MEMBERSHIPS_KEYS, GROUP_MEMBERSHIPS_PATH, LISTINGS
from .common import row_hash
from .listings import listing_records

GROUPS_LISTING = next(listing for listing in LISTINGS if listing.resource == tables.GROUPS)


def group_ids(context: ExtractContext) -> list[int]:
    groups = context.run_cache.groups.get(lambda: listing_records(context, GROUPS_LISTING))
    return sorted({gid for g in groups if (gid := int_or_none(g.get("id"))) is not None})


def membership_row(group_id: int, record: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in record.items() if k not in ("id", "user_id")}
    if record.get("user_id") is not None:
        row["user_id"], row["membership_id"] = record.get("user_id"), record.get("id")
    else:
        row["user_id"], row["membership_id"] = record.get("id"), None
    row["group_id"] = group_id
    row["row_hash"] = row_hash(row)
    return row


def group_memberships_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints("group_memberships"))
    @context.contained("group_memberships", hold=True)
    def group_memberships() -> Iterator[pa.Table]:
        def members(group_id: int) -> Iterator[pa.Table]:
            params = {"group_id": group_id, "version_id": "1.1"}
            for page in context.client.paginate(GROUP_MEMBERSHIPS_PATH, params, record_keys=GROUP_MEMBERSHIPS_KEYS):
                context.progress.update("group_memberships", pages=1, rows=len(page.records))
                if page.records:
                    rows = [membership_row(group_id, r) for r in page.records]
                    yield tables.to_table("group_memberships", rows, context.issues)

        yield from fan_out(group_ids(context), members, context.options.workers)

    return group_memberships
