"""Compare what landed in the warehouse with the simulated portal's ground truth, field by field.

For tests that hold the ground truth (`portal.ground_truth()`) of a run, in any destination. The statement of
each table, its columns, types and expected rows, is tests/support/raw_truth.py's (from the simulator's model, not
the extractor's parsers or column list); tables whose rows need more of the portal's model than its ground
truth (custom data, sessions, awards, ...) are compared by tests/extract/test_ground_truth.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tests.support import raw_truth
from tests.conftest import query, reading

CORE = ("users", "courses", "enrollments")
# tables whose expected rows the ground truth alone states (raw_truth's builders that read no more of the model)
NEEDS_THE_MODEL = {"user_custom_data", "course_instructors", "markcompletes", "sessions", "session_instructors",
                   "user_awards"}
COVERAGE = tuple(sorted(set(raw_truth.EXPECTED) - NEEDS_THE_MODEL - set(CORE)))


def _model(out_dir: Any, truth: dict[str, list[Any]], destination: str) -> raw_truth.Model:
    # the leaderboard's snapshot is the warehouse's newest: its date is the run's, which the truth does not hold
    latest = query(out_dir, "select max(snapshot_date) d from learnupon.leaderboard_snapshots", destination=destination)
    return raw_truth.Model(truth, None, frozenset(), latest[0]["d"] if latest else "")


def assert_tables_match(out_dir: Any, truth: dict[str, list[Any]], tables: Iterable[str], destination: str = "duckdb") -> None:
    """Each table's current rows equal the truth's, field by field; fields of a known defect apart
    (raw_truth.KNOWN_DEFECTS, listed in the report of tests/extract/test_ground_truth.py)."""
    tables = list(tables)
    # which destination holds it: a PostgreSQL database (a dsn), a Warehouse (its own), else the one named
    kind = "postgres" if getattr(out_dir, "dsn", None) else getattr(out_dir, "destination", destination)
    model = _model(out_dir, truth, destination) if "leaderboard_snapshots" in tables else raw_truth.Model(truth, None, frozenset(), "")
    with reading(out_dir, destination, tables) as read:
        columns = raw_truth.column_names(read)
        for table in tables:
            expected = raw_truth.EXPECTED[table](model)
            names = columns.get(table, set())
            loaded = raw_truth.loaded(read, table, names)
            if not expected and not loaded:  # nothing served, nothing held (Delta writes no table for a resource with no row)
                continue
            problems = [text for column, text in raw_truth.table_differences(table, expected, loaded, names)
                        if not raw_truth.known(None, None, table, column, kind)]
            assert not problems, f"{table} differs from the portal: {problems[:10]}"


def assert_matches_truth(out_dir: Any, truth: dict[str, list[Any]], destination: str = "duckdb") -> None:
    """The warehouse equals the portal: users (current), courses (every version), enrollments, field by field."""
    assert_tables_match(out_dir, truth, CORE, destination)


def assert_coverage_matches_truth(out_dir: Any, truth: dict[str, list[Any]], destination: str = "duckdb") -> None:
    """Every other table the ground truth states on its own equals the warehouse too, field by field."""
    assert_tables_match(out_dir, truth, COVERAGE, destination)
