"""Every raw column has a personal-data class, and the classes name the columns where people's names, emails and
usernames land (pipelines/learnupon/personal_data.py, read through the table registry)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.dictionary import personal_data_section
from pipelines.learnupon.personal_data import CLASSES, DIRECT, NONE
from pipelines.learnupon.tables import MODULE_PEOPLE, PERSON, PERSONAL_DATA, TABLES

from tests.conftest import run_pipeline
from tests.support.people import columns_holding, person_values


def test_every_column_of_every_raw_table_has_a_class() -> None:
    assert set(PERSONAL_DATA) == set(TABLES)
    for name, table in TABLES.items():
        classes = PERSONAL_DATA[name]
        assert list(classes)[: len(table.columns)] == list(table.columns), name
        assert set(classes.values()) <= set(CLASSES), name
        declared = [c for names in table.personal.values() for c in names]
        assert len(declared) == len(set(declared)), f"{name}: a column declared in two classes"
        assert NONE not in table.personal, name
    # names the spec does not type are declared on purpose: the fields the reference documents beyond it
    untyped = {f"{t}.{c}" for t, table in TABLES.items() for c in PERSONAL_DATA[t] if c not in table.columns}
    assert untyped == {f"modules.{c}" for c in MODULE_PEOPLE} | {f"course_instructors.{c}" for c in PERSON}


def test_the_data_dictionary_lists_each_class() -> None:
    section = "\n".join(personal_data_section())
    assert "| users | first_name, last_name, email, username, display_name" in section
    assert "| exam_answers | user, email | - | given_answer, given_answers_json |" in section
    text = (Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    assert section in text


def test_people_land_only_in_columns_classed_direct_identifier(portal_factory: Any, tmp_path: Path) -> None:
    """A whole load of a portal, every text column of every raw table scanned for its users' names, emails and usernames."""
    portal = portal_factory(users=40)
    summary = run_pipeline(portal, tmp_path)
    assert summary.status == "succeeded", summary.failed
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        found = columns_holding(con, "learnupon", person_values(portal))
    # the scan sees people where the registry says they are (it would find nothing if it were broken)
    assert {"users.email", "users.first_name", "enrollments.email", "audit_trails.impacted_user_email"} <= set(found)
    registry = {f"{t}.{c}": kind for t, columns in PERSONAL_DATA.items() for c, kind in columns.items()}
    misclassed = {column: registry.get(column) for column in found if registry.get(column) != DIRECT}
    assert not misclassed, f"columns holding people's names, emails or usernames not classed {DIRECT!r}: {misclassed}"
