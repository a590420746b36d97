"""Configuration of a simulated LearnUpon portal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Mapping, Optional, Union

# "lost": the request is handled (a write is applied), then the connection drops before the reply
ALL_FAULT_KINDS = ("500", "503", "truncated", "drop", "latency", "lost")
# what an endpoint fault does to every call of its endpoint
ENDPOINT_FAULT_KINDS = ("500", "503", "drop", "truncated", "400", "404", "lost")
ATTENDANCE_PATHS = ("method", "sample", "both")
EMPTY_NAME_SEARCHES = ("all", "empty", "400")
# which of the user table's two custom-data attributes a user record carries: "values" (customDataFieldValues,
# keyed by definition id), "labels" (CustomData, keyed by label) or "both"
CUSTOM_DATA_SHAPES = ("values", "labels", "both")
# how GET /users/customuserdata gives a choice field's predefined_values: "list" (a JSON list) or "text"
# (comma-separated, the reference's type "string")
PREDEFINED_VALUES_SHAPES = ("list", "text")
# where a survey rating question's scale (rating_options) sits: in each answer (the statements rated), as the only
# attribute of the answers object, or beside the answers on the question
RATING_OPTIONS_PLACES = ("statements", "holder", "question")


@dataclass(frozen=True)
class PortalConfig:
    """Everything that shapes a simulated portal.

    Same `seed` and `clock` give the same data, byte for byte. Entity counts
    scale from `users` (see docs/simulator.md for the ratios).
    """

    users: int = 1000
    seed: int = 7
    page_size: int = 500
    rate_per_minute: Optional[int] = None
    rate_per_week: Optional[int] = None
    # the length of the per-minute window, aligned to wall-clock multiples of it: the reference's calendar minute
    # (60); tests shorten it so a spent budget refills in seconds (the client then needs the same window)
    rate_window_seconds: float = 60.0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = ("500", "503", "truncated", "drop")
    latency_ms: int = 0
    enrollments_per_user: float = 5.0
    username: str = "sim-user"
    password: str = "sim-secret-password"
    clock: Optional[datetime] = None
    # "default", "alt", or an iterable of quirk names (see quirks.py) to flip one by one
    quirks: Union[str, Iterable[str]] = "default"
    gamification: bool = True
    # False: a portal without live learning (no sessions, no legacy ILT sessions; live modules stay in their courses)
    live_learning: bool = True
    audit_page_size: int = 10_000  # trails per /audit-trails response (the reference's 10K); tests lower it
    # every page after the first starts with the previous page's last record, as when a record is
    # added ahead of it while a client pages through a listing
    overlapping_pages: bool = False
    # serve only what the reference's attribute tables and samples promise where they are narrower than our
    # default reading (docs/simulator.md, "Strict mode")
    strict: bool = False
    # which documented attendance path exists: "method" (GET /sessions/{id}/attendance, the method table),
    # "sample" (GET /live-learnings/sessions/{id}/attendance, the worked sample) or "both"; the other answers 404.
    # None: "both", or "sample" when strict
    attendance_path: Optional[str] = None
    # GET /courses with an empty name= pattern: "all" (matches every course), "empty" (200, no records) or "400".
    # None: "all", or "empty" when strict
    empty_name_search: Optional[str] = None
    # the custom-data attributes on a user record (CUSTOM_DATA_SHAPES). None: "both" (the user table lists both),
    # or one when strict (the sample's customDataFieldValues) or when the user_custom_data quirk asks for CustomData
    custom_data_shapes: Optional[str] = None
    # share of users with custom data whose CustomData object (when both attributes are served) gives an older
    # department than customDataFieldValues: the two shapes disagree, the definition-id shape is the truth
    custom_data_disagreements: float = 0.0
    # where rating_options sit (RATING_OPTIONS_PLACES). None: "statements", or "holder" when strict
    rating_options: Optional[str] = None
    # whether GET /users and /users/search carry the custom field definitions beside the users ("returned only when
    # the portal admin has defined custom user data fields"); False: a client reads them from /users/customuserdata
    user_listing_definitions: bool = True
    # predefined_values of choice fields (PREDEFINED_VALUES_SHAPES). None: "list", or "text" when strict
    predefined_values: Optional[str] = None
    # churn records audit action 2 for every enrollment it unenrolls; False leaves them out of the trail
    audit_unenrolls: bool = True
    # every call to an endpoint fails this way until cleared: {"GET /badges": "500"}; kinds in ENDPOINT_FAULT_KINDS
    endpoint_faults: Mapping[str, str] = field(default_factory=dict, hash=False)
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ValueError("users must be at least 1")
        if self.page_size < 1:
            raise ValueError("page_size must be at least 1")
        if self.rate_window_seconds <= 0:
            raise ValueError("rate_window_seconds must be positive")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        unknown = set(self.fault_kinds) - set(ALL_FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        if self.clock is not None and self.clock.tzinfo is None:
            raise ValueError("clock must be timezone-aware (UTC)")
        if not isinstance(self.quirks, str):
            object.__setattr__(self, "quirks", tuple(self.quirks))
        if self.attendance_path not in (None, *ATTENDANCE_PATHS):
            raise ValueError(f"attendance_path must be one of {ATTENDANCE_PATHS}")
        if self.empty_name_search not in (None, *EMPTY_NAME_SEARCHES):
            raise ValueError(f"empty_name_search must be one of {EMPTY_NAME_SEARCHES}")
        if self.custom_data_shapes not in (None, *CUSTOM_DATA_SHAPES):
            raise ValueError(f"custom_data_shapes must be one of {CUSTOM_DATA_SHAPES}")
        if not 0.0 <= self.custom_data_disagreements <= 1.0:
            raise ValueError("custom_data_disagreements must be between 0 and 1")
        if self.predefined_values not in (None, *PREDEFINED_VALUES_SHAPES):
            raise ValueError(f"predefined_values must be one of {PREDEFINED_VALUES_SHAPES}")
        if self.rating_options not in (None, *RATING_OPTIONS_PLACES):
            raise ValueError(f"rating_options must be one of {RATING_OPTIONS_PLACES}")
        object.__setattr__(self, "endpoint_faults", dict(self.endpoint_faults))

    @property
    def resolved_attendance_path(self) -> str:
        return self.attendance_path or ("sample" if self.strict else "both")

    def resolved_custom_data_shapes(self, quirks: frozenset[str]) -> str:
        if self.custom_data_shapes:
            return self.custom_data_shapes
        return "labels" if "user_custom_data" in quirks else "values" if self.strict else "both"

    @property
    def resolved_rating_options(self) -> str:
        return self.rating_options or ("holder" if self.strict else "statements")

    @property
    def resolved_predefined_values(self) -> str:
        return self.predefined_values or ("text" if self.strict else "list")

    @property
    def resolved_empty_name_search(self) -> str:
        return self.empty_name_search or ("empty" if self.strict else "all")
