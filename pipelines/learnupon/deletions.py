"""Signals of enrollments deleted upstream, read against what the warehouse already holds.

The enrollment searches are incremental (`date_from`), so a deleted enrollment
simply stops coming back. Three signals, cheapest first, each turning into a
complete re-read of one scope (whose absent rows are then retired, see
lifecycle.py):

- the audit trail (loaded daily): "User unenrolled" (action 2) names the user
  and the course or learning path: that user's enrollments are searched by
  `user_id` (one call per user, plus pages);
- course counters: a course whose `num_enrolled` fell below the current
  enrollments loaded for it, and changed since the course was last read whole,
  is searched without `date_from` instead of with it (the same one call for a
  course of up to one page; a delete hidden by an add is not visible here);
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


@dataclass
class WarehouseFacts:
    """What the runner read from the warehouse before extracting (empty on a first run or a non-SQL destination)."""

    # course id -> current enrollments loaded for it
    enrollments_by_course: dict[int, int] = field(default_factory=dict)
    # "User unenrolled" audit events of the last weeks, with the user's id
    unenrolments: list[Unenrolment] = field(default_factory=list)
    # every user id the warehouse knows (current or not), for the learning-path backfill
    user_ids: list[int] = field(default_factory=list)

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


def courses_to_read_whole(courses: list[dict[str, Any]], facts: WarehouseFacts, last_whole: dict[str, Any]) -> set[int]:
    """Courses whose counter says enrollments were deleted since the course was last read whole."""
    from .records import parse_int

    whole: set[int] = set()
    for course in courses:
        try:
            cid = parse_int(course.get("id"))
            counter = parse_int(course.get("num_enrolled"))
        except (TypeError, ValueError):
            continue
        if cid is None or counter is None:
            continue
        loaded = facts.enrollments_by_course.get(cid)
        if loaded is not None and counter < loaded and last_whole.get(str(cid)) != counter:
            whole.add(cid)
    return whole
