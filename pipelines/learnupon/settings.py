"""What the source extracts and how: endpoints, wrapper keys and defaults.

Wrapper keys list every reading of the reference we know (see
docs/api-ambiguities.md); the record reader also accepts a bare list and a
wrapper with a single list.
"""

from __future__ import annotations

from dataclasses import dataclass

from .settings_spec import default

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
    """Knobs of one extraction run: what each means and its default are in settings_spec.SETTINGS
    (the CLI and Dagster set them from there; defaults suit a real portal)."""

    enrollment_lookback_days: int = default("enrollment_lookback_days")
    initial_date: str | None = default("initial_date")
    workers: int = default("workers")
    answer_batch: int = default("answer_batch")
    attendance_lookback_days: int = default("attendance_lookback_days")
    session_horizon_days: int = default("session_horizon_days")
    sessions_since: str = default("sessions_since")
    reconcile_every_days: int = default("reconcile_every_days")
    reconcile: bool = default("reconcile")
    attendance_reconcile_days: int | None = default("attendance_reconcile_days")
    lp_backfill: bool = default("lp_backfill")
    lp_backfill_batch: int = default("lp_backfill_batch")
    top_level: bool = default("top_level")
    allow_mass_retirement: bool = default("allow_mass_retirement")


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
# the realm's portals, on a top-level portal only; the wrapper key is not shown (a bare list also reads)
PORTALS_PATH = "/portals"
PORTALS_KEYS = ("portals", "portal")
AUDIT_WINDOW_DAYS = 30  # the API serves only the last 30 days
