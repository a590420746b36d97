"""In-memory state of a simulated portal.

Records are slotted objects holding raw values (epoch seconds, ids); the API
shape is produced on demand by render.py, so denormalised fields (names on
enrollments, course_name) always reflect the current state.
"""

from __future__ import annotations

from typing import Any, Optional


class User:
    __slots__ = ("id", "first_name", "last_name", "email", "username", "locale", "created_at", "updated_at",
                 "last_sign_in_at", "sign_in_count", "enabled", "account_expires", "timezone_id", "user_type",
                 "perms", "membership_type", "custom", "pm_id", "groups")

    def __init__(self, **kw: Any) -> None:
        for k in self.__slots__:
            setattr(self, k, kw.get(k))

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Family:
    """A root course and its versions (each version is its own course)."""

    __slots__ = ("source_id", "versions", "topic", "due_days", "cert_name", "cert_days", "licensed", "created_at",
                 "retired_at", "popularity")

    def __init__(self, **kw: Any) -> None:
        for k in self.__slots__:
            setattr(self, k, kw.get(k))

    def current_name(self, courses: dict[int, "Course"]) -> str:
        """The most recent published title (what enrollments show as course_name)."""
        for cid in reversed(self.versions):
            c = courses[cid]
            if c.date_published is not None:
                return c.name
        return courses[self.versions[-1]].name

    def live_version(self, courses: dict[int, "Course"]) -> Optional["Course"]:
        """The version learners are enrolled onto now (published or under revision)."""
        for cid in reversed(self.versions):
            c = courses[cid]
            if c.status in ("published", "under_revision"):
                return c
        return None


class Module:
    __slots__ = ("id", "title", "component_type", "created_at", "updated_at", "exam_id", "course_ids", "creator_id",
                 "tags", "session_ids")

    def __init__(self, **kw: Any) -> None:
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


class Course:
    __slots__ = ("id", "family", "prev_id", "version", "name", "status", "created_at", "date_published", "owner_id",
                 "module_ids", "price", "difficulty", "sellable", "cataloged", "minute_length", "reviews", "stars",
                 "keywords", "reference_code", "reminders", "manager_can_enroll")

    def __init__(self, **kw: Any) -> None:
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


class Enrollment:
    __slots__ = ("id", "user_id", "course_id", "status", "percentage", "date_enrolled", "date_started",
                 "date_completed", "date_lastaccessed", "due_date", "cert_expires_at", "updated_at", "from_catalog",
                 "from_store", "was_recertified", "unenrolled", "group_id", "pct_complete", "access_expires",
                 "is_overdue")

    def __init__(self, **kw: Any) -> None:
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


class State:
    """All entities of one portal plus the indexes the endpoints need."""

    def __init__(self) -> None:
        self.custom_fields: list[dict[str, Any]] = []
        self.users: dict[int, User] = {}
        self.families: dict[int, Family] = {}
        self.courses: dict[int, Course] = {}
        self.modules: dict[int, Module] = {}
        self.enrollments: dict[int, Enrollment] = {}
        self.groups: dict[int, dict[str, Any]] = {}
        self.memberships: dict[int, dict[str, Any]] = {}  # membership id -> {id, group_id, user_id, created_at}
        self.group_courses: dict[int, dict[str, Any]] = {}  # id -> {id, group_id, source_id, created_at}
        self.enr_by_user: dict[int, list[int]] = {}
        self.enr_by_course: dict[int, list[int]] = {}
        self.deleted_user_ids: list[int] = []
        self.deleted_enrollment_ids: list[int] = []
        self.next_ids: dict[str, int] = {}
        # second group of endpoints; filled by generate.py
        self.extra: dict[str, Any] = {}
        self._course_counts: Optional[dict[int, dict[str, int]]] = None

    def new_id(self, kind: str) -> int:
        value = self.next_ids[kind]
        self.next_ids[kind] = value + 1
        return value

    # --- enrollment indexes -------------------------------------------------
    def add_enrollment(self, e: Enrollment) -> None:
        self.enrollments[e.id] = e
        self.enr_by_user.setdefault(e.user_id, []).append(e.id)
        self.enr_by_course.setdefault(e.course_id, []).append(e.id)
        self._course_counts = None

    def enrollments_for(self, course_id: int) -> list[int]:
        return self.enr_by_course.get(course_id, [])

    def remove_enrollment(self, eid: int) -> None:
        e = self.enrollments.pop(eid)
        self.enr_by_user[e.user_id].remove(eid)
        self.enr_by_course[e.course_id].remove(eid)
        self.deleted_enrollment_ids.append(eid)
        self._course_counts = None

    def touch_counts(self) -> None:
        self._course_counts = None

    def course_counts(self, course_id: int) -> dict[str, int]:
        """Counters on course records, derived from the current enrollments."""
        if self._course_counts is None:
            counts: dict[int, dict[str, int]] = {}
            for e in self.enrollments.values():
                c = counts.get(e.course_id)
                if c is None:
                    c = counts[e.course_id] = {"num_enrolled": 0, "not_started": 0, "in_progress": 0, "completed": 0,
                                               "passed": 0, "failed": 0, "pending_review": 0}
                c["num_enrolled"] += 1
                c[e.status] += 1
            self._course_counts = counts
        return self._course_counts.get(course_id) or {"num_enrolled": 0, "not_started": 0, "in_progress": 0,
                                                       "completed": 0, "passed": 0, "failed": 0, "pending_review": 0}
