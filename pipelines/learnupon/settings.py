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
