"""A user's custom data as rows: one per (user, field), whichever documented shape a record carries.

The reference's user table lists two attributes for the same facts, each with its own sample:
`customDataFieldValues` ([{"definition_id": 231, "value": "Support"}, ...], keyed by the field's
id) and `CustomData` ({"department": "Support", ...}, keyed by the field's label, which "is not
case sensitive"). A record may carry either or both. Both describe one field once: a label is
turned into its definition id through the field definitions, and when a record gives a field in
both shapes the definition-id shape wins (it names the field without doubt) and a disagreement is
returned so that it can be reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .records import parse_int
from .resources.common import json_text

BY_ID = "customDataFieldValues"
BY_LABEL = ("CustomData", "custom_data", "customData")  # the reference spells it CustomData; the others seen in the wild
ATTRIBUTES = (BY_ID, *BY_LABEL)  # keys of a user record that go to user_custom_data, not users


@dataclass(frozen=True)
class Disagreement:
    """A field the record gives in both shapes with different values."""

    user_id: Any
    definition_id: Any
    label: str
    by_label: Any  # the value CustomData gives (not kept)
    by_id: Any  # the value customDataFieldValues gives (kept)


def label_key(label: Any) -> str:
    """How a label is compared: in any case, spaces kept (the reference's rule for field names)."""
    return str(label).strip().lower()


def field_ids(definitions: Iterable[dict[str, Any]]) -> dict[str, int | None]:
    """label key -> definition id, from the custom field definitions."""
    return {label_key(d.get("label", "")): _int_or_none(d.get("id")) for d in definitions}


def carries_labels(record: dict[str, Any]) -> bool:
    """Whether the record gives custom data keyed by label (which needs the definitions to name the field)."""
    return any(isinstance(record.get(key), dict) and record.get(key) for key in BY_LABEL)


def custom_data_rows(record: dict[str, Any], ids: dict[str, int | None]) -> tuple[list[dict[str, Any]], list[Disagreement]]:
    """The record's custom data, one row per field (user_id, definition_id, label, value), and the disagreements.

    `label` is the key CustomData used (null when only the definition-id shape gave the field);
    `value` is the definition-id shape's when it has the field, as JSON text unless a string.
    """
    user_id = record.get("id")
    rows: dict[Any, dict[str, Any]] = {}
    raw_values: dict[Any, Any] = {}
    values = record.get(BY_ID)
    if isinstance(values, list):
        for item in values:
            if not isinstance(item, dict):
                continue
            raw_id = item.get("definition_id")
            definition_id = _int_or_none(raw_id)
            key = definition_id if definition_id is not None else ("raw", json_text(raw_id))
            if key in rows:
                continue  # a field listed twice: the first is kept, as the API's order would show it
            rows[key] = {"user_id": user_id, "definition_id": raw_id if definition_id is None else definition_id,
                         "label": None, "value": json_text(item.get("value"))}
            raw_values[key] = item.get("value")
    disagreements: list[Disagreement] = []
    for attribute in BY_LABEL:
        data = record.get(attribute)
        if not isinstance(data, dict):
            continue
        for label, value in data.items():
            definition_id = ids.get(label_key(label))
            key = definition_id if definition_id is not None else ("label", label_key(label))
            row = rows.get(key)
            if row is None:
                rows[key] = {"user_id": user_id, "definition_id": definition_id, "label": label, "value": json_text(value)}
                raw_values[key] = value
                continue
            if row["label"] is None:
                row["label"] = label
            if not same_value(raw_values[key], value):
                disagreements.append(Disagreement(user_id, row["definition_id"], label, value, raw_values[key]))
    return list(rows.values()), disagreements


def same_value(a: Any, b: Any) -> bool:
    """Whether two renderings of a custom field's value say the same: a choice field reads back as a
    one-element list in one shape and a plain value in the other, a number as a number or its text."""
    if type(a) is type(b) and isinstance(a, (str, int, float)) and a == b:
        return True  # the usual case, decided without reading text as a number (a raised ValueError each)
    return _canonical(a) == _canonical(b)


def _canonical(value: Any) -> Any:
    if isinstance(value, list):
        if len(value) == 1:
            return _canonical(value[0])
        return [_canonical(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if _DIGIT.search(text) is None and text.lower().lstrip("+-") not in _FLOAT_WORDS:
            return text  # float() would refuse it: most text, and a raised ValueError costs more than this look
        try:
            return float(text)
        except ValueError:
            return text
    return json_text(value)


_DIGIT = re.compile(r"\d")  # any decimal digit float() reads (Unicode ones included)
_FLOAT_WORDS = {"nan", "inf", "infinity"}  # the numbers float() reads without a digit


def _int_or_none(value: Any) -> int | None:
    try:
        return parse_int(value)
    except (TypeError, ValueError):
        return None


def choice_list(value: Any) -> Any:
    """A definition's `predefined_values` as a list, whichever documented shape it came in.

    The reference types it as a string (its examples: `"Monday","Tuesday"`, `1.00, 2.00`,
    `1,2,3,4,5`); portals also send a JSON list. The warehouse column is JSON, so text that is not
    JSON would be stored as an invalid document: it becomes the list of its comma-separated values.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        parsed = json.loads(text)  # a JSON list, or a JSON string holding the text
    except ValueError:
        parsed = text
    if isinstance(parsed, list):
        return parsed
    if isinstance(parsed, str) and parsed != text:
        return choice_list(parsed)
    # comma-separated values, each kept as written (`1.00` stays `1.00`), quotes around one dropped
    return [part.strip().strip('"').strip() for part in str(text).split(",") if part.strip().strip('"').strip()]
