"""Live-learning sessions, their instructors and attendance, and legacy ILT sessions.

- Sessions are searched by date window (start_date/end_date). The first run
  walks the whole history year by year; later runs search from
  `attendance_lookback_days` ago to `session_horizon_days` ahead, which covers
  new and rescheduled sessions and those whose attendance may still be marked.
- Session details (GET /live-learnings/events/{event}/sessions/{session}) are
  read only for sessions that are new or whose search row changed; the state
  keeps a hash per session. Instructors are SCD2 keyed by session, so only the
  sessions re-read can retire an instructor.
- Attendance lists who registered before a session and is marked after it, so
  it is read, every page of it, for every session in the run's windows (every
  session on a first run; later, those from the look-back to the horizon). The
  reference gives two paths for it: see `_attendance`.
- Attendance is also marked or corrected long after a session, so the weekly
  reconciliation (`reconciliation_due`, the enrollments' cadence) searches
  sessions back to `attendance_reconcile_days` (default: the whole history) and
  re-reads the attendance of every session it lists; what it cost is reported.
- Legacy ILT sessions have no id: ilt_key hashes course, title and start.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from .. import tables
from ..client import endpoint_template
from ..context import ExtractContext
from ..errors import LearnUponAPIError
from ..fanout import fan_out
from ..records import extract_records, int_or_none
from ..settings import ATTENDANCE_PATHS, ILTS_KEYS, ILTS_SEARCH_PATH, SESSIONS_KEYS, SESSIONS_SEARCH_PATH
from .common import calls_to, child_table, listing_complete, reconciliation_due, row_hash

SESSION_STATUS = {-10: "not_registered", 10: "not_started", 20: "completed", 30: "failed", 40: "no_show"}
ATTENDANCE_STATUS = {0: "unmarked", 5: "absent", 10: "present"}
SESSION_ENROLLMENT_STATUS = {
    -4: "waitlisted",
    -3: "partially_attended",
    -2: "cancelled",
    -1: "no_show",
    1: "not_started",
    2: "in_progress",
    3: "completed",
    4: "passed",
    5: "failed",
    6: "pending_review",
    7: "closed",
    8: "past_due",
}


def windows(context: ExtractContext, state_key: str, reconcile_since: date | None = None) -> list[tuple[str, str]]:
    """Date windows to search: year by year on a first run (and from `reconcile_since` on a reconciliation),
    then the look-back to the horizon."""
    today = context.client.server_now().date()
    end = today + timedelta(days=context.options.session_horizon_days)
    state = dlt.current.source_state()
    if state.get(state_key):
        start = today - timedelta(days=context.options.attendance_lookback_days + 2)
        if reconcile_since is None or reconcile_since >= start:
            return [(start.isoformat(), end.isoformat())]
        start = reconcile_since
    else:
        start = date.fromisoformat(context.options.sessions_since)
    result = []
    while start <= end:
        stop = min(date(start.year, 12, 31), end)
        result.append((start.isoformat(), stop.isoformat()))
        start = stop + timedelta(days=1)
    return result


def search_window(context: ExtractContext, path: str, keys: tuple[str, ...], window: tuple[str, str], name: str) -> Iterator[list[dict]]:
    for page in context.client.paginate(path, {"start_date": window[0], "end_date": window[1]}, record_keys=keys):
        context.progress.update(name, pages=1, rows=len(page.records))
        yield page.records


SESSIONS_SEARCH_ENDPOINT = endpoint_template("GET", SESSIONS_SEARCH_PATH)
ATTENDANCE_ENDPOINTS = tuple("GET " + path for path in ATTENDANCE_PATHS)


def attendance_reconciliation(context: ExtractContext) -> date | None:
    """The first session start date this run re-reads attendance from, if it reconciles attendance; else None.

    Decided once per run, before the session search (whichever resource asks first): on the enrollments'
    cadence (`LEARNUPON_RECONCILE_DAYS`, `run --reconcile`), only when session_attendance runs, never on a
    first run (it reads every session anyway) nor with `attendance_reconcile_days` 0.
    """

    def decide() -> date | None:
        horizon = context.options.attendance_reconcile_days
        state = dlt.current.source_state()
        if not context.extracts("session_attendance") or horizon == 0 or not state.get("sessions_loaded"):
            return None
        portal_now = context.client.server_now()
        if not reconciliation_due(state.setdefault("attendance_reconciliation", {}), context.options, portal_now):
            return None
        since = date.fromisoformat(context.options.sessions_since)
        return since if horizon is None else max(since, portal_now.date() - timedelta(days=horizon))

    return context.run_cache.attendance_reconciliation.get(decide)


def session_list(context: ExtractContext) -> list[dict]:
    """Sessions in this run's windows, de-duplicated by session id (windows may overlap at their edges)."""

    def build() -> list[dict]:
        by_id: dict[int, dict] = {}
        before = calls_to(context, SESSIONS_SEARCH_ENDPOINT)
        for window in windows(context, "sessions_loaded", attendance_reconciliation(context)):
            for records in search_window(context, SESSIONS_SEARCH_PATH, SESSIONS_KEYS, window, "sessions"):
                for r in records:
                    if (sid := int_or_none(r.get("session_id", r.get("id")))) is not None:
                        by_id[sid] = r
        context.run_cache.session_search_calls = calls_to(context, SESSIONS_SEARCH_ENDPOINT) - before
        return list(by_id.values())

    return context.run_cache.sessions.get(build)


def session_id_of(record: dict) -> int | None:
    return int_or_none(record.get("session_id", record.get("id")))


def _detail(context: ExtractContext, session: dict) -> dict:
    event_id, session_id = session.get("event_id"), session.get("session_id", session.get("id"))
    body = context.client.get_json(
        f"/live-learnings/events/{event_id}/sessions/{session_id}", endpoint="GET /live-learnings/events/{id}/sessions/{id}"
    )
    details = extract_records(body, ("session",), "GET /live-learnings/events/{id}/sessions/{id}")
    context.client.stats.add("GET /live-learnings/events/{id}/sessions/{id}", records=len(details))
    return details[0] if details else {}


def _session_row(search: dict, detail: dict) -> dict:
    row = dict(search)
    row["session_id"] = search.get("session_id", search.get("id"))
    for key in ("min_capacity", "num_enrolled", "completion_requirement", "minimum_attendance_threshold"):
        if key in detail:
            row[key] = detail[key]
    row["start_time_local"] = detail.get("start_time")
    row["end_time_local"] = detail.get("end_time")
    row.setdefault("session_title", detail.get("title"))
    row.setdefault("event_id", detail.get("event_id"))
    return row


def sessions_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints("sessions"))
    @context.contained("sessions")
    def sessions() -> Iterator[Any]:
        state = dlt.current.source_state()
        hashes = state.setdefault("session_hashes", {})
        listed = session_list(context)
        changed = [s for s in listed if hashes.get(str(s.get("session_id", s.get("id")))) != row_hash(s)]
        for search, detail in fan_out(changed, lambda s: [(s, _detail(context, s))], context.options.workers):
            row = _session_row(search, detail)
            hashes[str(row["session_id"])] = row_hash(search)
            yield tables.to_table("sessions", [row], context.issues)
            instructors = [
                {
                    "session_id": row["session_id"],
                    **{k: i.get(k) for k in ("user_id", "is_primary", "first_name", "last_name", "email", "username")},
                }
                for i in detail.get("instructors") or []
                if isinstance(i, dict)
            ]
            if instructors:
                rows = [{**i, "row_hash": row_hash(i)} for i in instructors]
                yield child_table(tables.to_table("session_instructors", rows, context.issues), "session_instructors")
        state["sessions_loaded"] = True

    return sessions


ATTENDANCE_KEYS = ("attendance", "attendances")


class AttendanceUnreadable(Exception):
    """Neither documented attendance path knows a session the session search just returned."""


def _attendance(context: ExtractContext, session_id: int, state: dict[str, Any]) -> list[dict]:
    """One session's attendance, every page of it.

    The portal's path is chosen from the first session that answers (kept in the
    source state); a session that answers 404 there is tried on the other path
    too, so one 404 (the API also answers 404 for invalid parameters) never
    switches or empties the attendance of other sessions.
    """
    preferred = state.get("attendance_path")
    order = [preferred, *[p for p in ATTENDANCE_PATHS if p != preferred]] if preferred else list(ATTENDANCE_PATHS)
    for path in order:
        endpoint = "GET " + path
        try:
            records = [
                r
                for page in context.client.paginate(
                    path.format(id=session_id), record_keys=ATTENDANCE_KEYS, endpoint=endpoint, unique_key="user_id"
                )
                for r in page.records
            ]
        except LearnUponAPIError as error:
            if error.status == 404:
                continue
            raise
        state.setdefault("attendance_path", path)
        return records
    raise AttendanceUnreadable(f"session {session_id}: 404 on both documented attendance paths")


def session_attendance_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints("session_attendance"))
    @context.contained("session_attendance")
    def session_attendance() -> Iterator[Any]:
        state = dlt.current.source_state()
        # registrations show before a session and attendance after it: every session in this run's
        # windows (all of them on a first run, then the look-back to the horizon; on a reconciliation
        # back to its horizon), and those whose attendance could not be read last time
        reconcile_since = attendance_reconciliation(context)
        portal_now = context.client.server_now()
        retry = [int(s) for s in state.get("attendance_unread", [])]
        listed = sorted({s for s in (session_id_of(x) for x in session_list(context)) if s is not None} | set(retry))
        calls_before = calls_to(context, *ATTENDANCE_ENDPOINTS)
        unread: list[int] = []

        def read(session_id: int) -> Iterator[Any]:
            try:
                yield session_id, _attendance_rows(session_id, _attendance(context, session_id, state))
            except AttendanceUnreadable as problem:
                yield session_id, problem

        read_whole: list[int] = []
        for session_id, outcome in fan_out(listed, read, context.options.workers):
            if isinstance(outcome, AttendanceUnreadable):
                # recorded and read again next run; its rows stay as they were, never silently emptied
                unread.append(session_id)
                context.issues.add("session_attendance", str(session_id), None, None, f"{outcome}: kept as loaded, read again next run")
                continue
            people, parts, enrollments = outcome
            read_whole.append(session_id)
            context.progress.update("session_attendance", pages=1, rows=len(people))
            if people:
                yield tables.to_table("session_attendance", people, context.issues)
            if parts:
                yield child_table(tables.to_table("session_attendance_parts", parts, context.issues), "session_attendance_parts")
            if enrollments:
                table = tables.to_table("session_attendance_enrollments", enrollments, context.issues)
                yield child_table(table, "session_attendance_enrollments")
        if read_whole:
            for table in ("session_attendance", "session_attendance_parts", "session_attendance_enrollments"):
                yield listing_complete(context, table, read_whole)
        state["attendance_unread"] = sorted(unread)
        reconciled = state.setdefault("attendance_reconciliation", {})
        if reconcile_since is not None or not reconciled.get("reconciled_at"):  # a first run reads every session too
            reconciled["reconciled_at"] = portal_now.isoformat()
        if reconcile_since is not None:
            calls = context.run_cache.session_search_calls + calls_to(context, *ATTENDANCE_ENDPOINTS) - calls_before
            context.costs.setdefault("reconciliations", {})["session_attendance"] = {
                "since": reconcile_since.isoformat(), tables.SESSIONS: len(listed), "calls": calls,
            }

    return session_attendance


def _attendance_rows(session_id: int, records: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    people, parts, enrollments = [], [], []
    for r in records:
        user_id = r.get("user_id")
        status = int_or_none(r.get("session_status"))
        people.append(
            {"session_id": session_id, "user_id": user_id, "pm_id": r.get("pm_id"), "session_status": status,
             "session_status_label": SESSION_STATUS.get(status)}
        )
        for part in r.get("attendance_data") or []:
            code = int_or_none(part.get("status"))
            parts.append(
                {"session_id": session_id, "user_id": user_id, "part": part.get("part"), "status": code,
                 "status_label": ATTENDANCE_STATUS.get(code), "minutes": part.get("minutes")}
            )
        for enrollment in r.get("enrollment_data") or []:
            code = int_or_none(enrollment.get("enrollment_status"))
            enrollments.append(
                {"session_id": session_id, "user_id": user_id, "enrollment_id": enrollment.get("enrollment_id"),
                 "course_id": enrollment.get("course", enrollment.get("course_id")), "enrollment_status": code,
                 "enrollment_status_label": SESSION_ENROLLMENT_STATUS.get(code),
                 "from_catalog": enrollment.get("from_catalog"), "from_store": enrollment.get("from_store")}
            )
    return people, parts, enrollments


def ilt_sessions_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints("ilt_sessions"))
    @context.contained("ilt_sessions")
    def ilt_sessions() -> Iterator[pa.Table]:
        for window in windows(context, "ilts_loaded"):
            for records in search_window(context, ILTS_SEARCH_PATH, ILTS_KEYS, window, "ilt_sessions"):
                rows = [
                    {**r, "ilt_key": row_hash({k: r.get(k) for k in ("course_id", "component_title", "start_date")})}
                    for r in records
                ]
                if rows:
                    yield tables.to_table("ilt_sessions", rows, context.issues)
        dlt.current.source_state()["ilts_loaded"] = True

    return ilt_sessions
