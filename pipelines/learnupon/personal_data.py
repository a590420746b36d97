"""Personal-data classes: what each means. The class of each raw column is declared once, in the table
registry (`Table.personal` in tables.py; `Table.personal_data` and `PERSONAL_DATA` give every column's).

- direct identifier: names a person on its own (name, email, username, login, a CRM id). Replaced by a
  keyed hash in the pseudonymised reporting schema; can be blocked or hashed at load.
- quasi-identifier: identifies a person together with other data (LearnUpon's user ids, locale, time
  zone, custom user field values such as department or age). Kept in the pseudonymised schema: its ids
  are what joins and counts per person rest on.
- free text: text a person wrote or that was written about them (exam and assignment answers, review
  feedback, notes, an audit event's description). Dropped (NULL) in the pseudonymised schema.
- none: everything else, and every column not declared (numbers, dates, statuses, course data, dlt's own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

DIRECT = "direct identifier"
QUASI = "quasi-identifier"
FREE_TEXT = "free text"
NONE = "none"
CLASSES = (DIRECT, QUASI, FREE_TEXT, NONE)


def column_classes(columns: Iterable[str], declared: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Every column with its class: `columns` (NONE unless declared), then the declared names not among them."""
    by_column = {column: kind for kind, names in declared.items() for column in names}
    classes = {column: by_column.pop(column, NONE) for column in columns}
    return {**classes, **by_column}
