"""The fewest API calls a client needs to copy, or to bring up to date, the core resources.

Computed from the portal's ground truth (its state, read in the portal's own
process). docs/benchmarks.md explains each term:

- users: the API has no change filter, so every run lists them all:
  ceil(users / page_size) pages (at least one).
- courses: the one listing that returns every version (name= with
  include_all_versions, drafts and licensed courses): ceil(courses / page_size).
- enrollments: the search needs a course id; a client must ask every course
  that holds enrollments (nothing in the course listing tells which of them
  changed), one call each, plus the extra pages the matching rows need. A full
  load matches every enrollment; an incremental one matches those whose
  updated_at falls on or after the day of the previous run (date_from is a
  day: a change made the same day as the last run can only be asked for with
  that day), so a course needs max(1, ceil(matched / page_size)) calls.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from ..learnupon.tables import COURSES, ENROLLMENTS, USERS


def pages(rows: int, page_size: int) -> int:
    return max(1, math.ceil(rows / page_size))


def core_truth_counts(portal: Any, since: str | None = None) -> dict[str, Any]:
    """Counts and minimum calls for users, courses, enrollments (since: ISO date the client may ask from)."""
    st = portal.state
    page_size = portal.config.page_size
    lo = 0
    if since:
        lo = int(datetime.fromisoformat(since).replace(tzinfo=timezone.utc).timestamp())
    per_course: dict[int, int] = {}
    matched: dict[int, int] = {}
    for e in st.enrollments.values():
        per_course[e.course_id] = per_course.get(e.course_id, 0) + 1
        if e.updated_at is not None and e.updated_at >= lo:
            matched[e.course_id] = matched.get(e.course_id, 0) + 1
    enrollment_calls = sum(pages(matched.get(cid, 0), page_size) for cid in per_course)
    return {
        "rows": {USERS: len(st.users), COURSES: len(st.courses), ENROLLMENTS: len(st.enrollments)},
        "matched_enrollments": sum(matched.values()),
        "courses_with_enrollments": len(per_course),
        "minimum": {
            USERS: pages(len(st.users), page_size),
            COURSES: pages(len(st.courses), page_size),
            ENROLLMENTS: enrollment_calls,
        },
    }


def minimum_calls_all(truth: dict[str, list[Any]], page_size: int) -> dict[str, int]:
    """Row counts of every ground-truth table (the other resources' minimum needs their own model)."""
    return {name: len(rows) for name, rows in truth.items() if isinstance(rows, list)}
