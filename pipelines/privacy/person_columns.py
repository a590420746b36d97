"""Which columns of a raw table are about which person, derived from the table registry's personal-data classes.

A row can name several people: an audit event its initiator and the user it impacted, a module its creator
and its tutor, a course its owner. Each is a `Person` of the table: the direct identifiers sharing a prefix
(`creator_email`, `creator_first_name`, ...; the bare `email`, `first_name`, `user`, `login`, `name` are the
row's own person), the id column that names the same person (`creator_id`, or the row's `user_id`), and, for
the row's own person, its other quasi-identifiers (locale, a custom field's value) and its free text.

Erasure (erasure.py) and later loads (load_columns.py) find a person in a row the same way: by the id, or by
an email, username or login equal to one of the erased person's, or by a full name equal to theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ..learnupon.personal_data import DIRECT, FREE_TEXT, QUASI
from ..learnupon.tables import USERS

# the suffixes that name which identifier of a person a column holds; what precedes them is the person's role
_SUFFIXES = ("_first_name", "_last_name", "_email", "_username", "_name")
# bare names of the row's own person (the table's user): no role prefix
_OWN = {"first_name", "last_name", "email", "username", "display_name", "sf_contact_id", "sf_user_id", "user", "login", "name"}
# a role whose id column is not `<role>_id`
_ID_OF_ROLE = {"tutor": "session_tutor_id"}
# columns holding an identifier that names one person alone (compared whole, case and blanks ignored)
_UNIQUE_SUFFIXES = ("email", "username", "login")
# columns holding a person's whole name (compared with "first last")
_FULL_NAME = {"user", "name", "display_name", "instructor_name", "initiated_by_user", "impacted_user"}


@dataclass(frozen=True)
class Person:
    role: str  # "" for the row's own person
    id_column: str | None  # the column holding the person's LearnUpon user id, if the table has it
    unique: tuple[str, ...]  # emails, usernames, logins
    first_last: tuple[str, str] | None  # first and last name columns, compared as "first last"
    full_names: tuple[str, ...]  # columns holding "first last" whole
    replaced: tuple[str, ...]  # columns replaced by their keyed pseudonym when the person is erased
    dropped: tuple[str, ...]  # columns set to NULL (free text, and non-text quasi-identifiers)


def _role(column: str) -> str:
    if column in _OWN:
        return ""
    for suffix in _SUFFIXES:
        if column.endswith(suffix):
            column = column.removesuffix(suffix)
            break
    return column.removesuffix("_user")  # an audit event's `initiated_by_user` and `initiated_by_user_email`


@cache
def people(table: str) -> tuple[Person, ...]:
    """The people a row of raw table `table` can name (none for a table without person columns)."""
    from ..learnupon.tables import TABLES

    entry = TABLES[table]
    classes = entry.personal_data
    keyed = {*entry.primary_key, *entry.row_key, *entry.unique_key, entry.merge_key, entry.scope, "row_hash"}
    keyed |= {owner.column for owner in entry.owners}
    direct = [c for c, kind in classes.items() if kind == DIRECT]
    roles: dict[str, list[str]] = {}
    for column in direct:
        roles.setdefault(_role(column), []).append(column)
    own_id = "user_id" if "user_id" in classes else ("id" if table == USERS else None)
    if own_id and "" not in roles:
        roles[""] = []  # a table that names its user by id alone (exam enrollments, attendance, custom data)
    found = []
    for role, columns in roles.items():
        id_column = own_id if role == "" else _ID_OF_ROLE.get(role, f"{role}_id")
        if id_column not in classes:
            id_column = None
        first, last = (f"{role}_first_name", f"{role}_last_name") if role else ("first_name", "last_name")
        replaced, dropped = list(columns), []
        if role == "":
            for column, kind in classes.items():
                if column in keyed or column == id_column or column.endswith("id") or column.endswith("_by"):
                    continue  # ids stay: the facts under them (statuses, scores) are not personal on their own
                if kind == FREE_TEXT:
                    dropped.append(column)
                elif kind == QUASI:
                    (replaced if entry.columns.get(column, "text") in ("text", "json") else dropped).append(column)
        elif role in ("initiated_by", "impacted"):
            # an audit event's description names the people it is about
            dropped += [c for c, kind in classes.items() if kind == FREE_TEXT]
        found.append(
            Person(
                role=role,
                id_column=id_column,
                unique=tuple(c for c in columns if c.endswith(_UNIQUE_SUFFIXES)),
                first_last=(first, last) if first in columns and last in columns else None,
                full_names=tuple(c for c in columns if c in _FULL_NAME or c.endswith("instructor_name")),
                replaced=tuple(replaced),
                dropped=tuple(dropped),
            )
        )
    return tuple(found)


def normalised(value: object) -> str:
    """How identifiers are compared: trimmed of spaces, lower case (as pseudonyms.normalise)."""
    return str(value).strip(" ").lower()


def full_name(first: object, last: object) -> str | None:
    if not first or not last:
        return None
    return normalised(f"{str(first).strip()} {str(last).strip()}")
