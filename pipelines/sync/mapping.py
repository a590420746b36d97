"""The sync mapping: how roster columns map onto LearnUpon, and the policies. A TOML file, all optional.

The defaults (what a sync does without a mapping file) are the values of `Mapping()`; the
documented example, docs/examples/sync-mapping.toml, spells every one of them out, and a test
keeps the two equal. Any mistake in the file is one ConfigError line naming the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..learnupon.errors import ConfigError

POLICIES: dict[str, tuple[str, ...]] = {
    "leavers": ("disable", "delete"),
    "email_conflicts": ("placeholder", "skip"),
    "new_users": ("create", "invite"),
    "leave_groups": ("managed", "joined_by_sync"),
    "custom_data_keys": ("name", "definition_id"),
}
# how the portal identifies users (reference, "Unique identifiers: email or username")
IDENTIFIERS = ("email", "username")


def column_name(name: str) -> str:
    """A roster column's name as the warehouse stores it: lower case, runs of other characters as '_'."""
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


@dataclass(frozen=True)
class GroupRule:
    """Roster column -> group membership: the group titled like the value, or as `values` maps it."""

    column: str
    values: dict[str, str] | None = None  # roster value -> group title; values not listed lead to no group
    manages: tuple[str, ...] = ()  # further group titles this rule manages (members who no longer match leave)


@dataclass(frozen=True)
class Mapping:
    # the LearnUpon custom user field that holds the HR system's employee id (matched by name, any case)
    external_id_field: str = "employee id"
    # the portal's unique identifier: new users are created with it, and every roster row needs it
    identify_by: str = "email"
    # roster columns that identify a person
    external_id_column: str = "employee_id"
    email_column: str = "email"
    username_column: str = "username"  # read only when identify_by = "username"
    first_name_column: str = "first_name"
    last_name_column: str = "last_name"
    active_column: str = "active"
    manager_column: str = "manager_employee_id"  # checked: a manager no roster row names is reported
    # roster column -> LearnUpon custom user field (by name)
    fields: dict[str, str] = field(default_factory=lambda: {"department": "department", "job_title": "position"})
    groups: tuple[GroupRule, ...] = (GroupRule(column="location"),)
    # policies
    leavers: str = "disable"
    email_conflicts: str = "placeholder"
    placeholder_domain: str = "lms-warehouse.invalid"
    new_users: str = "create"
    invite_expiry_days: int = 35
    leave_groups: str = "managed"
    process_enrollments: bool = True
    process_unenrollments: bool = True
    custom_data_keys: str = "name"
    # safety
    max_leaver_share: float = 0.05
    max_invalid_rows: int = 0
    # where the mapping came from (None: the defaults), and which settings the file gave: a roster may
    # lack a column the defaults name (that part is skipped), never one the file names
    source: str | None = None
    explicit: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name, allowed in POLICIES.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"sync mapping: {name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        domain = self.placeholder_domain.strip().lower()
        if not re.fullmatch(r"([a-z0-9-]+\.)*invalid", domain):
            raise ConfigError(
                f"sync mapping: placeholder_domain must be in the reserved .invalid domain, got {self.placeholder_domain!r}"
            )
        if not 0 <= self.max_leaver_share <= 1:
            raise ConfigError(f"sync mapping: max_leaver_share must be between 0 and 1, got {self.max_leaver_share}")
        if self.invite_expiry_days < 0 or self.max_invalid_rows < 0:
            raise ConfigError("sync mapping: invite_expiry_days and max_invalid_rows must be zero or more")
        if self.identify_by not in IDENTIFIERS:
            raise ConfigError(f"sync mapping: identify_by must be one of {', '.join(IDENTIFIERS)}, got {self.identify_by!r}")
        if not self.external_id_field.strip():
            raise ConfigError("sync mapping: external_id_field must name a LearnUpon custom user field")

    @property
    def identity_columns(self) -> dict[str, str]:
        """Role -> roster column, for the roles this mapping uses (username only on a username portal)."""
        columns = {"external_id": self.external_id_column, "email": self.email_column}
        if self.identify_by == "username":
            columns["username"] = self.username_column
        columns.update(first_name=self.first_name_column, last_name=self.last_name_column,
                       active=self.active_column, manager=self.manager_column)
        return columns

    @property
    def required_roles(self) -> tuple[str, ...]:
        """Roles every roster must have a column for: the external id and the portal's identifier."""
        return ("external_id", self.identify_by)

    def with_overrides(self, **values: Any) -> Mapping:
        return replace(self, **{k: v for k, v in values.items() if v is not None})


GROUPS_SECTION = "groups"  # the mapping file's [[groups]] rules (and the Mapping field that holds them)
_TOP_LEVEL = {"external_id_field", "identify_by", "roster", "fields", GROUPS_SECTION, "policy", "safety"}
_ROSTER_KEYS = {"external_id", "email", "username", "first_name", "last_name", "active", "manager"}
_POLICY_KEYS = {"leavers", "email_conflicts", "placeholder_domain", "new_users", "invite_expiry_days", "leave_groups",
                "process_enrollments", "process_unenrollments", "custom_data_keys"}
_SAFETY_KEYS = {"max_leaver_share", "max_invalid_rows"}


def load_mapping(path: Path | None) -> Mapping:
    """The mapping in `path`, or the defaults when no path is given."""
    if path is None:
        return Mapping()
    try:
        with Path(path).open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"sync mapping file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"sync mapping file {path} is not valid TOML: {exc}") from None
    return mapping_from_dict(data, str(path))


def mapping_from_dict(data: dict[str, Any], source: str) -> Mapping:
    def unknown(section: str, keys: set[str], allowed: set[str]) -> None:
        extra = sorted(keys - allowed)
        if extra:
            raise ConfigError(f"sync mapping {source}: unknown key {section}{extra[0]} (known: {', '.join(sorted(allowed))})")

    def typed(value: Any, kind: type, key: str) -> Any:
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"sync mapping {source}: {key} must be a {kind.__name__}, got {value!r}")
        return value

    unknown("", set(data), _TOP_LEVEL)
    values: dict[str, Any] = {"source": source}
    for key in ("external_id_field", "identify_by"):
        if key in data:
            values[key] = typed(data[key], str, key)
    roster = typed(data.get("roster", {}), dict, "[roster]")
    unknown("roster.", set(roster), _ROSTER_KEYS)
    for key, value in roster.items():
        values[f"{key}_column"] = column_name(typed(value, str, f"roster.{key}"))
    if "fields" in data:
        table = typed(data["fields"], dict, "[fields]")
        values["fields"] = {column_name(k): typed(v, str, f"fields.{k}") for k, v in table.items()}
    if GROUPS_SECTION in data:
        rules = typed(data[GROUPS_SECTION], list, f"[[{GROUPS_SECTION}]]")
        values[GROUPS_SECTION] = tuple(_group_rule(rule, source, i) for i, rule in enumerate(rules, 1))
    for section, allowed in (("policy", _POLICY_KEYS), ("safety", _SAFETY_KEYS)):
        table = typed(data.get(section, {}), dict, f"[{section}]")
        unknown(f"{section}.", set(table), allowed)
        defaults = {f.name: f.default for f in fields(Mapping)}
        for key, value in table.items():
            values[key] = typed(value, type(defaults[key]), f"{section}.{key}")
    values["explicit"] = frozenset(values) - {"source"}
    return Mapping(**values)


def _group_rule(rule: Any, source: str, number: int) -> GroupRule:
    where = f"sync mapping {source}: [[groups]] rule {number}"
    if not isinstance(rule, dict) or not isinstance(rule.get("column"), str):
        raise ConfigError(f"{where} needs a column")
    extra = sorted(set(rule) - {"column", "values", "manages"})
    if extra:
        raise ConfigError(f"{where}: unknown key {extra[0]} (known: column, values, manages)")
    values = rule.get("values")
    if values is not None and not (isinstance(values, dict) and all(isinstance(v, str) for v in values.values())):
        raise ConfigError(f"{where}: values must map roster values to group titles")
    manages = rule.get("manages", [])
    if not (isinstance(manages, list) and all(isinstance(t, str) for t in manages)):
        raise ConfigError(f"{where}: manages must be a list of group titles")
    return GroupRule(column=column_name(rule["column"]), values=dict(values) if values is not None else None, manages=tuple(manages))
