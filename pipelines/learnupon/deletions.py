"""Signals of enrollments deleted upstream, read against what the warehouse already holds.

The enrollment searches are incremental (`date_from`), so a deleted enrollment
simply stops coming back. First, a course or path whose enrollments fit in one
page is searched whole every run: the same one call as a `date_from` search,
and it sees every deletion. For the others, three signals, cheapest first, each
turning into a complete re-read of one scope (whose absent rows are then
retired, see lifecycle.py):

- the audit trail (read in the same run, before the searches, and kept in the
  warehouse): "User unenrolled" (action 2) names the user and the course or
  learning path: that user's enrollments are searched by `user_id` (one call
  per user, plus pages);
- course counters: a course whose `num_enrolled` fell below the current
  enrollments loaded for it by more than the audit trail's unenrolments of that
  course explain, and changed since the course was last read whole, is searched
  without `date_from` instead of with it (the same one call for a course of up
  to one page; a delete hidden by an add is not visible here);
- a full reconciliation every `reconcile_every_days` (7 by default): every
  course and path searched without `date_from`, which sees everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Unenrolment:
    user_id: int
    impacted_data: str | None  # the course or learning path name
    at: datetime


def user_identity(username: str | None, email: str | None) -> str:
    """Who a user row is, as the mass-retirement guard compares a listing with the warehouse: its username and
    email (the same ids naming other people is what a listing from another portal looks like)."""
    return f"{username or ''}\n{(email or '').lower()}"


@dataclass
class WarehouseFacts:
    """What the runner read from the warehouse before extracting (empty on a first run or a non-SQL destination)."""

    # course id -> current enrollments loaded for it
    enrollments_by_course: dict[int, int] = field(default_factory=dict)
    # learning path id -> current learning-path enrollments loaded for it
    lp_enrollments_by_path: dict[int, int] = field(default_factory=dict)
    # "User unenrolled" audit events of the last weeks, with the user's id
    unenrolments: list[Unenrolment] = field(default_factory=list)
    # every user id the warehouse knows (current or not), for the learning-path backfill
    user_ids: list[int] = field(default_factory=list)
    # lower-cased email -> user id, to read audit events (they name people by email)
    user_ids_by_email: dict[str, int] = field(default_factory=dict)
    # current user id -> who it is (`user_identity`): what a users listing would retire or change
    # (pipelines/run/mass_retirement.py)
    current_user_identities: dict[int, str] = field(default_factory=dict)
    # the tables that hold a row (a first load of the others needs no merge: pipelines/run/first_loads.py); None: unknown
    tables_with_rows: set[str] | None = None
    # exam enrollment id -> the fingerprint its answers were last fetched at (exam_answer_fetches), kept up to date
    # by the run's own fetches: read here, while the run holds the warehouse, not during the extract, when another
    # portal's load may hold it (a failed read then cost a fetch of every answer again)
    exam_answer_fingerprints: dict[int, str] = field(default_factory=dict)

    def add_unenrolments(self, events: list[dict[str, Any]]) -> None:
        """Audit rows (as the API gives them) of action 2 whose user the warehouse knows."""
        from .records import parse_int, parse_timestamp

        for event in events:
            try:
                if parse_int(event.get("action")) != 2:
                    continue
                at = parse_timestamp(event.get("date_and_time_utc"))
            except (TypeError, ValueError):
                continue
            user_id = self.user_ids_by_email.get(str(event.get("impacted_user_email") or "").strip().lower())
            if user_id is not None and at is not None:
                self.unenrolments.append(Unenrolment(user_id, event.get("impacted_data"), at))

    def unenrolled_since(self, moment: datetime | None, names: set[str] | None, exclude: set[str] | None = None) -> list[Unenrolment]:
        """Events after `moment` whose impacted name is in `names` (or, with `exclude`, not in it)."""
        found = []
        for event in self.unenrolments:
            if moment is not None and event.at <= moment:
                continue
            name = (event.impacted_data or "").strip().lower()
            if names is not None and name not in names:
                continue
            if exclude is not None and name in exclude:
                continue
            found.append(event)
        return found


def course_counts(courses: list[dict[str, Any]], facts: WarehouseFacts) -> list[tuple[int | None, str, int | None, int | None]]:
    """(course id, lower-cased name, the portal's num_enrolled, current enrollments loaded) per course."""
    from .records import parse_int

    counts = []
    for course in courses:
        try:
            cid = parse_int(course.get("id"))
            counter = parse_int(course.get("num_enrolled"))
        except (TypeError, ValueError):
            cid = counter = None
        loaded = facts.enrollments_by_course.get(cid) if cid is not None else None
        counts.append((cid, str(course.get("name") or "").strip().lower(), counter, loaded))
    return counts


def courses_to_read_whole(
    courses: list[dict[str, Any]], facts: WarehouseFacts, last_whole: dict[str, Any], explained: dict[str, int]
) -> set[int]:
    """Courses whose counter shows more deletions than the audit trail explains, since last read whole.

    `explained`: lower-cased course name -> "User unenrolled" events being followed up
    this run (their users are re-read anyway, so those deletions need no whole read).
    """
    whole: set[int] = set()
    for cid, name, counter, loaded in course_counts(courses, facts):
        if cid is None or counter is None or loaded is None or last_whole.get(str(cid)) == counter:
            continue
        if loaded - counter > explained.get(name, 0):
            whole.add(cid)
    return whole


def courses_short_of_enrollments(courses: list[dict[str, Any]], facts: WarehouseFacts) -> dict[str, int]:
    """Lower-cased course name -> enrollments loaded beyond what the portal's counters now count (0 or more)."""
    short: dict[str, int] = {}
    for _, name, counter, loaded in course_counts(courses, facts):
        if loaded is None or counter is None:
            short[name] = max(short.get(name, 0), 1)  # nothing to compare with: treat as short
        else:
            short[name] = short.get(name, 0) + max(loaded - counter, 0)
    return short


# a scope whose loaded rows fill less than this share of a page is read whole: still one call,
# with room for the rows added since the last run
ONE_PAGE_SHARE = 0.8


def fits_one_page(ids: list[int], loaded: dict[int, int], page_size: int | None) -> set[int]:
    """Ids whose search without `date_from` is one page (by what the warehouse holds for them)."""
    if not page_size:
        return set()
    return {i for i in ids if loaded.get(i, 0) < page_size * ONE_PAGE_SHARE}
