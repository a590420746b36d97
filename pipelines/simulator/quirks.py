"""Places where the LearnUpon reference contradicts itself.

Each quirk has a default reading and an alternative one; PortalConfig(quirks="alt")
switches all of them, or pass the names to flip only some. docs/simulator.md
lists them with the passages of the reference they come from.
"""

from __future__ import annotations

from typing import Iterable, Union

QUIRKS: dict[str, str] = {
    "users_wrapper": "GET /users wrapper key: 'user' (table and samples) | alt 'users'",
    "custom_defs_key": "definitions key 'customDataFieldDefinitions' (sample) | alt 'customDataFieldDefintions' (table)",
    "user_custom_data": "per-user custom data as 'customDataFieldValues' list (sample) | alt 'CustomData' object label->value",
    "users_v12_cumulative": "version_id=1.2 includes updated_at as well as timezone_id | alt 1.2 has timezone_id only",
    "user_awards": "GET /users/{id} awards inside the user record | alt 'awards' beside the 'user' list",
    "courses_all_versions": "include_all_versions honoured only together with name (any value, '' matches all) | alt also without name",
    "enrollment_source_id": "enrollment course_source_id = previous version's course_id (table) | alt = root course_id",
    "enrollments_wrapper": "enrollment search/get wrapper 'enrollments' | alt a bare JSON array",
    "lp_enrollments_wrapper": "learning-path enrollment search/get wrapper 'learning_path_enrollments' | alt a bare JSON array",
    "modules_wrapper": "GET /modules wrapper 'modules' | alt a bare JSON array",
    "sessions_wrapper": "live-learning session search wrapper 'sessions' | alt a bare JSON array",
    "attendance_nesting": "attendance body nested [[{...}]] (sample) | alt flat [{...}]",
    "exam_answers": "answers 'given_answer' and overall_status 'correct'/'incorrect'/'not_attempted' (sample) | alt 'given_answers' and 0/1/2 (table)",
    "exam_attempts": "exam settings attempts 'unlimited' string when unlimited (sample) | alt integer 0",
    "locations_address": "locations address_1/2/3 (sample) | alt address1/2/3 (table)",
    "portals_wrapper": "GET /portals wrapper 'portals' (not shown) | alt a bare JSON array",
    "portals_list_self": "GET /portals lists sub-portals only (method table) | alt the top-level portal too ('List all portals')",
    "audit_action_param": "audit-trail filter parameter 'action_id' and 'action' both accepted | alt only 'action' (sample)",
}

Selection = Union[str, Iterable[str]]


def resolve(selection: Selection) -> frozenset[str]:
    """The set of quirk names switched to their alternative reading."""
    if isinstance(selection, str):
        if selection in ("", "default", "none"):
            return frozenset()
        if selection == "alt":
            return frozenset(QUIRKS)
        selection = [s.strip() for s in selection.split(",") if s.strip()]
    names = frozenset(selection)
    unknown = names - set(QUIRKS)
    if unknown:
        raise ValueError(f"unknown quirks: {sorted(unknown)}; known: {sorted(QUIRKS)}")
    return names
