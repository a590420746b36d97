"""In-memory model of a simulated portal: the entities and the indexes over them.

Users, course families, courses, modules and enrollments are slotted objects
(there are millions of enrollments); the smaller kinds are plain dicts. Values
are raw (epoch seconds, ids): the API shape is produced on demand by the domain
modules, so denormalised fields (names on enrollments, course_name) always
reflect the current state. High-volume children of enrollments (exam
enrollments and answers, assignment answers, attendance) are not stored: they
are derived from the enrollment they belong to (see domains/exams.py and
domains/live_learning.py).
"""

from __future__ import annotations

from typing import Any, Optional

# first id of each kind: distinct ranges make mixed-up ids easy to spot downstream
ID_BASES = {"user": 200001, "course": 50001, "enrollment": 3000001, "group": 7001, "membership": 900001,
            "group_course": 61001, "module": 400001, "exam": 110001, "pm": 4500001, "group_manager": 31001,
            "course_instructor": 41001, "markcomplete": 81001, "event": 350001, "session": 390001, "part": 333001,
            "ilt": 520001, "lp": 9001, "lp_enrollment": 6000001, "invite": 8800001}

# enrollment statuses that mean the learner is done
DONE = ("completed", "passed")


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


EMPTY_COUNTS = {"num_enrolled": 0, "not_started": 0, "in_progress": 0, "completed": 0, "passed": 0, "failed": 0,
                "pending_review": 0}

Row = dict[str, Any]


class State:
    """Every entity of one portal, the indexes the endpoints need, and what was deleted since the start."""

    def __init__(self, seed: int, gamification: bool = True) -> None:
        self.seed = seed
        self.gamification = gamification  # awards on GET /users/{id}
        self.next_ids: dict[str, int] = dict(ID_BASES)
        # users
        self.custom_fields: list[Row] = []
        self.users: dict[int, User] = {}
        # catalog
        self.families: dict[int, Family] = {}
        self.courses: dict[int, Course] = {}
        self.modules: dict[int, Module] = {}
        self.course_instructors: dict[int, Row] = {}  # id -> {id, source_id, user_id, created_at, updated_at}
        self.learning_paths: dict[int, Row] = {}
        # groups
        self.groups: dict[int, Row] = {}
        self.memberships: dict[int, Row] = {}  # membership id -> {id, group_id, user_id, created_at}
        self.group_courses: dict[int, Row] = {}  # id -> {id, group_id, source_id, created_at}
        self.group_managers: dict[int, Row] = {}
        # enrollments
        self.enrollments: dict[int, Enrollment] = {}
        self.enr_by_user: dict[int, list[int]] = {}
        self.enr_by_course: dict[int, list[int]] = {}
        self.lp_enrollments: dict[int, Row] = {}
        # exams, assignments, mark-completes
        self.exams: dict[int, Row] = {}
        self.markcompletes: dict[int, Row] = {}
        self.assignment_reviewers: dict[int, int] = {}  # family source id -> instructor who reviews assignments
        # live learning
        self.sessions: dict[int, Row] = {}
        # (session id, enrollment id) -> (session_status, attendance status, minutes): attendance marked after the
        # session's own end (late) or corrected since, by churn (domains/live_learning.py)
        self.attendance_marks: dict[tuple[int, int], tuple[int, int, Optional[int]]] = {}
        self.ilts: dict[int, Row] = {}
        # gamification
        self.badges: list[Row] = []
        self.awards: dict[int, list[Row]] = {}
        self.certifications: list[Row] = []
        # audit trail: (epoch ms, action, initiator name, initiator email, impacted name, impacted email, data)
        self.audit: list[tuple[Any, ...]] = []
        # made only through the write endpoints: passwords set (kept here, never rendered) and portal invites
        self.passwords: dict[int, Row] = {}  # user id -> {password, change_password_on_first_login}
        self.invites: dict[int, Row] = {}
        # the realm (domains/portals.py): this portal's place in it, and the portals GET /portals lists
        self.realm_role: str = "top-level"  # "top-level" or "sub-portal"
        self.realm_portals: list[Any] = []  # PortalEntry of every portal of the realm, this one included
        # what vanished from the API since the start, by kind (ids, or key lists for keyless rows)
        self.deleted: dict[str, list[Any]] = {}
        self._course_counts: Optional[dict[int, dict[str, int]]] = None

    def new_id(self, kind: str) -> int:
        value = self.next_ids[kind]
        self.next_ids[kind] = value + 1
        return value

    def note_deleted(self, kind: str, key: Any) -> None:
        self.deleted.setdefault(kind, []).append(key)

    # --- enrollment indexes -------------------------------------------------
    def add_enrollment(self, e: Enrollment) -> None:
        self.enrollments[e.id] = e
        self.enr_by_user.setdefault(e.user_id, []).append(e.id)
        self.enr_by_course.setdefault(e.course_id, []).append(e.id)
        self._course_counts = None

    def enrollments_for(self, course_id: int) -> list[int]:
        return self.enr_by_course.get(course_id, [])

    def drop_enrollment(self, eid: int) -> Enrollment:
        """Take an enrollment out of the store and its indexes (domains/enrollments.py records what went with it)."""
        e = self.enrollments.pop(eid)
        self.enr_by_user[e.user_id].remove(eid)
        self.enr_by_course[e.course_id].remove(eid)
        self._course_counts = None
        return e

    def touch_counts(self) -> None:
        self._course_counts = None

    def course_counts(self, course_id: int) -> dict[str, int]:
        """Counters on course records, derived from the current enrollments."""
        if self._course_counts is None:
            counts: dict[int, dict[str, int]] = {}
            for e in self.enrollments.values():
                c = counts.get(e.course_id)
                if c is None:
                    c = counts[e.course_id] = dict(EMPTY_COUNTS)
                c["num_enrolled"] += 1
                c[e.status] += 1
            self._course_counts = counts
        return self._course_counts.get(course_id) or dict(EMPTY_COUNTS)
