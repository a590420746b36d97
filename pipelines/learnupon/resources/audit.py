"""Audit trails: the last 30 days only, at most 10,000 events a response, `next` token paging.

Each run asks for date_range = (end of the last window read - 1 hour, now],
never further back than the API allows; the overlap catches events that show
up late. Events have no id: event_key hashes all their fields plus their
position among identical events, so re-reading a window never duplicates. When
the last window read ended more than 30 days ago, the events in between are
gone for good: the run records the lost window in audit_gaps, logs an error and
reports it in its summary.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import dlt
from dlt.sources import DltResource

from .. import tables
from ..context import ExtractContext
from ..errors import LearnUponAPIError
from ..records import parse_bool, parse_timestamp
from ..settings import AUDIT_TRAILS_PATH, AUDIT_WINDOW_DAYS
from .common import child_table, row_hash

log = logging.getLogger("lms_warehouse.audit")

AUDIT_ACTIONS = {
    1: "Set complete",
    2: "User unenrolled",
    3: "User deleted",
    4: "User login disabled",
    5: "User login enabled",
    6: "Course deleted",
    7: "Course archived",
    8: "Learning path deleted",
    9: "Learning path archived",
    10: "Exam attempts reset",
    11: "Group deleted",
    12: "User removed from a group",
}
OVERLAP = timedelta(hours=1)
MARGIN = timedelta(minutes=1)  # stay inside the API's 30 days despite clock skew and slow calls
WIDER_MARGIN = timedelta(minutes=15)  # if the portal still finds the range too old
EVENT_FIELDS = (
    "action",
    "initiated_by_user",
    "initiated_by_user_email",
    "impacted_user",
    "impacted_user_email",
    "impacted_data",
    "date_and_time_utc",
)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def audit_trails_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints("audit_trails"))
    @context.contained("audit_trails")
    def audit_trails() -> Iterator[Any]:
        # the cursor lives in the resource's dlt state (committed only with a successful load); dlt's
        # incremental would also filter the audit_gaps rows this resource writes
        state = dlt.current.resource_state()
        now = context.client.server_now()
        oldest_allowed = now - timedelta(days=AUDIT_WINDOW_DAYS) + MARGIN
        start = oldest_allowed
        # read_through: the end of the last window read completely (events or not)
        if state.get("read_through"):
            last = parse_timestamp(state["read_through"])
            if last > now:
                # the portal's clock is behind our cursor (moved back, or another host): clamp, report, go on
                context.issues.add(
                    "audit_trails", None, "read_through", last.isoformat(),
                    f"cursor ahead of the portal clock ({now.isoformat()}): clamped to it",
                )
                log.warning("audit trails: cursor %s is ahead of the portal clock %s; clamped", last, now)
                last = now
            if last < oldest_allowed:
                gap = {"gap_start": last, "gap_end": oldest_allowed, "noticed_at": now, "run_id": context.run_id}
                context.run_cache.audit_gap = gap
                log.error(
                    "AUDIT EVENTS LOST: the last audit load reached %s but the API keeps only %d days;"
                    " events from %s to %s can no longer be read. Run audit trails at least every %d days.",
                    last.isoformat(), AUDIT_WINDOW_DAYS, last.isoformat(), oldest_allowed.isoformat(), AUDIT_WINDOW_DAYS - 2,
                )
                yield child_table(tables.to_table("audit_gaps", [gap], context.issues), "audit_gaps")
            else:
                start = max(oldest_allowed, min(last, now) - OVERLAP)
        params: dict[str, Any] = {"date_range": f"{_rfc3339(start)},{_rfc3339(now)}"}
        token: Any = None
        while True:
            query = dict(params)
            if token:
                query["next"] = token
            try:
                body = context.client.get_json(AUDIT_TRAILS_PATH, query)
            except LearnUponAPIError as error:
                if error.status != 400 or token or start - oldest_allowed >= WIDER_MARGIN:
                    raise
                start = max(start, oldest_allowed - MARGIN + WIDER_MARGIN)  # the range reached too far back
                params["date_range"] = f"{_rfc3339(start)},{_rfc3339(now)}"
                continue
            events = body.get("trails") if isinstance(body, dict) else body
            rows = _rows(events or [])
            context.client.stats.add("GET " + AUDIT_TRAILS_PATH, records=len(rows))
            context.progress.update("audit_trails", pages=1, rows=len(rows))
            if rows:
                context.note_audit_events(rows)  # deletion signals for the enrollment searches of this run
                yield tables.to_table("audit_trails", rows, context.issues)
            token = body.get("next") if isinstance(body, dict) else None
            try:
                more = parse_bool(token)
            except ValueError:
                more = True  # a real token string
            if not token or more is False or not events:
                break
            if more is True and isinstance(token, bool):
                break  # `next: true` without a token gives nothing to ask for
        state["read_through"] = now.isoformat()

    return audit_trails


def _rows(events: list[Any]) -> list[dict[str, Any]]:
    rows, seen = [], {}
    for event in events:
        if not isinstance(event, dict):
            continue
        base = row_hash({k: event.get(k) for k in EVENT_FIELDS})
        occurrence = seen[base] = seen.get(base, 0) + 1
        code = event.get("action")
        try:
            label = AUDIT_ACTIONS.get(int(code))
        except (TypeError, ValueError):
            label = None
        rows.append({**event, "event_key": f"{base}-{occurrence}", "action_label": label})
    return rows
