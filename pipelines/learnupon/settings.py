"""What the source extracts and how: endpoints, wrapper keys and defaults.

Wrapper keys list every reading of the reference we know (see
docs/api-ambiguities.md); the record reader also accepts a bare list and a
wrapper with a single list.
"""

from __future__ import annotations

from dataclasses import dataclass

# endpoint path -> keys its records may be wrapped in
USERS_PATH = "/users"
USERS_KEYS = ("user", "users")
# /group_memberships?user_id= answers with the groups a user belongs to
USER_GROUPS_KEYS = ("group", "groups")
USERS_VERSION_ID = "1.2"  # 1.1 adds updated_at, 1.2 adds timezone_id; we read whichever fields come back
CUSTOM_USER_FIELDS_PATH = "/users/customuserdata"
CUSTOM_USER_FIELDS_KEYS = ("customDataFieldDefinitions", "customDataFieldDefintions", "custom_user_data")
COURSES_PATH = "/courses"
COURSES_KEYS = ("courses", "course")
ENROLLMENTS_SEARCH_PATH = "/enrollments/search"
ENROLLMENTS_KEYS = ("enrollments", "enrollment")

# course statuses that can carry enrollments; drafts are searched only when the listing shows learners
ENROLLABLE_STATUSES = {"published", "archived", "under_revision"}


@dataclass(frozen=True)
class ExtractOptions:
    """Knobs of one extraction run (the CLI and Dagster set them; defaults suit a real portal)."""

    # date_from is day-granular and its time zone is not documented: re-read this many days before
    # the newest updated_at already loaded (1 covers any zone from UTC-12 to UTC+14)
    enrollment_lookback_days: int = 1
    # ISO date (YYYY-MM-DD) to start a first load from instead of the full history
    initial_date: str | None = None
    # parallel calls for fan-out resources (also the client's in-flight cap)
    workers: int = 4
    # exam answers are fetched and loaded this many exam enrollments at a time, so an
    # interrupted run loses at most one batch
    answer_batch: int = 2000
    # sessions that ended less than this many days ago are re-read for attendance
    attendance_lookback_days: int = 14
    # how far ahead session searches look for scheduled sessions
    session_horizon_days: int = 365
    # a first load of sessions and legacy ILTs starts here
    sessions_since: str = "2015-01-01"
    # every this many days, enrollment searches run without date_from, which sees every deletion (0: never)
    reconcile_every_days: int = 7
    # this run reconciles whatever the cadence says
    reconcile: bool = False
    # a reconciliation also re-reads the attendance of every session that started within this many days
    # (None: every session the portal lists, searched from `sessions_since`; 0: none beyond the look-back)
    attendance_reconcile_days: int | None = None
    # search learning-path enrollments user by user, to find paths archived before the first run
    lp_backfill: bool = False
    # users searched per run by the backfill (it resumes where the last run stopped)
    lp_backfill_batch: int = 5000


@dataclass(frozen=True)
class Listing:
    """A plain paginated list endpoint loaded whole every run (the API offers no change filter for it).

    Its table's columns, key and disposition are in the table registry (tables.py): an SCD2 one is
    a link table whose deletions only a complete listing can show; rows missing from the listing
    are retired (kept, with `_dlt_valid_to` set).
    """

    resource: str
    path: str
    keys: tuple[str, ...]
    renames: tuple[tuple[str, str], ...] = ()


LISTINGS: tuple[Listing, ...] = (
    Listing("groups", "/groups", ("groups", "group")),
    Listing("group_courses", "/group_courses", ("group_courses", "groupCourses", "group_course")),
    Listing("group_managers", "/group_managers", ("group_managers", "groupManagers", "group_manager")),
    Listing("course_instructors", "/course_instructors", ("course_instructors", "courseInstructors", "course_instructor")),
    Listing("markcompletes", "/markcompletes", ("markcompletes", "mark_completes", "markcomplete")),
    Listing(
        "locations",
        "/locations",
        ("locations",),
        # the sample says address_1, the attribute table address1
        renames=(("address_1", "address1"), ("address_2", "address2"), ("address_3", "address3")),
    ),
    Listing("timezones", "/timezones", ("timezones",)),
    Listing("badges", "/badges", ("badges",)),
    Listing("certifications", "/certifications", ("certifications",)),
)

GROUP_MEMBERSHIPS_PATH = "/group_memberships"
GROUP_MEMBERSHIPS_KEYS = ("group_memberships", "groupMemberships", "user", "users")
MODULES_PATH = "/modules"
MODULES_KEYS = ("modules", "module")
LEARNING_PATHS_PATH = "/learning_paths"
LEARNING_PATHS_KEYS = ("learning_paths", "learningPaths", "learning_path")
LP_ENROLLMENTS_SEARCH_PATH = "/learning_path_enrollments/search"
LP_ENROLLMENTS_KEYS = ("learning_path_enrollments", "learningPathEnrollments", "enrollments")
EXAM_KEYS = ("exam", "exams")
EXAM_QUESTIONS_KEYS = ("questions",)
EXAM_ENROLLMENTS_KEYS = ("exam_enrollments", "examEnrollments", "enrollments")
ASSIGNMENT_ANSWERS_KEYS = ("assignment_answers", "assignmentAnswers")
SESSIONS_SEARCH_PATH = "/live-learnings/sessions/search"
SESSIONS_KEYS = ("sessions", "live_learnings", "results", "session")
# the method table says /sessions/{id}/attendance, the sample /live-learnings/sessions/{id}/attendance
ATTENDANCE_PATHS = ("/sessions/{id}/attendance", "/live-learnings/sessions/{id}/attendance")
ILTS_SEARCH_PATH = "/ilts/search"
ILTS_KEYS = ("ilts",)
LEADERBOARD_PATH = "/leaderboard"
LEADERBOARD_KEYS = ("leaderboard", "leaderboards", "users")
AUDIT_TRAILS_PATH = "/audit-trails"
AUDIT_WINDOW_DAYS = 30  # the API serves only the last 30 days
