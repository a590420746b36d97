"""What one resource of a run hands to another: every shared value, named and typed, in one place.

A listing several resources fan out over is read once per run, by whichever asks first
(`Once`); a resource that reads another's input as a by-product sets it, so the other
costs no second listing. Nothing here outlives the run (the dlt state is what does).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_UNSET: Any = object()


class Once(Generic[T]):
    """One value per run: computed by the first caller of `get` (thread-safe), or `set` by a resource that read it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: Any = _UNSET

    def get(self, compute: Callable[[], T]) -> T:
        with self._lock:
            if self._value is _UNSET:
                self._value = compute()
            return self._value

    def set(self, value: T) -> None:
        self._value = value


@dataclass
class RunCache:
    # groups (the listing): group_memberships fans out over its ids
    groups: Once[list[dict[str, Any]]] = field(default_factory=Once)
    # user id -> [points, badges] for users with badges: users fills it, user_awards reads it
    user_award_keys: Once[dict[int, list[Any]]] = field(default_factory=Once)
    # course id -> the module records the modules resource read this run (exam and assignment ids come from them)
    modules_read: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    # course id -> {"exams": [...], "assignments": [...]}: from the state plus modules_read
    module_index: Once[dict[int, dict[str, list[int]]]] = field(default_factory=Once)
    # course_instructors (the listing): the course search reads the courses it names (wholly archived ones)
    course_instructors: Once[list[dict[str, Any]]] = field(default_factory=Once)
    # learning_paths (the listing): the path fan-outs read its ids
    learning_paths: Once[list[dict[str, Any]]] = field(default_factory=Once)
    # exam_enrollment_id -> (exam_id, fingerprint): exam_enrollments fills it, exam_answers reads it
    exam_enrollment_index: Once[dict[int, tuple[int | None, str]]] = field(default_factory=Once)
    # the first session start date attendance is re-read from this run (None: no reconciliation)
    attendance_reconciliation: Once[date | None] = field(default_factory=Once)
    # sessions in this run's search windows, and the search calls they cost (a reconciliation reports them)
    sessions: Once[list[dict[str, Any]]] = field(default_factory=Once)
    session_search_calls: int = 0
    # resource -> items it left for its next batch (exam answers: the runner runs it again while any are left)
    pending: dict[str, int] = field(default_factory=dict)
    # the audit events no longer readable (the API keeps a window of days), if the last audit load is older; the run record keeps it
    audit_gap: dict[str, Any] | None = None
