"""The pseudonymised build's plan, derived from the table registry's personal-data classes: per raw table,
each column kept, hashed (direct identifiers) or dropped (free text). dbt reads it as the var
`pseudonymise` (sql/macros/pseudonymised.sql); a column the registry does not know is left out there."""

from __future__ import annotations

from ..learnupon.personal_data import DIRECT, FREE_TEXT
from ..learnupon.tables import PERSONAL_DATA, PORTAL

SCHEMA_SUFFIX = "_pseudonymised"  # sql/macros/generate_schema_name.sql appends it in the pseudonymised build
ACTIONS = {DIRECT: "hash", FREE_TEXT: "drop"}


def pseudonymise_plan() -> dict[str, dict[str, str]]:
    # the portal (added to every raw table's rows after conversion, tables.with_portal) is no person's: kept,
    # since every model keys on it
    return {
        table: {PORTAL: "keep", **{column: ACTIONS.get(kind, "keep") for column, kind in columns.items()}}
        for table, columns in PERSONAL_DATA.items()
    }
