"""A merge table's first load is written as an append (pipelines/run/first_loads.py): the same rows,
SCD2 columns included, as dlt's merge writes, and the merges after it work on them as on their own.

Two identical portals (same seed and clock), one loaded with first loads appended, the other through
dlt's merge; a full run, the same churn, an incremental run; the tables compared after each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.run.first_loads import appendable
from pipelines.run.runner import Warehouse

from tests.conftest import modes_once, run_pipeline
from tests.support.truth import assert_tables_match

RESOURCES = ["users", "groups", "group_memberships", "courses", "learning_paths", "enrollments", "learning_path_enrollments"]
# tables whose rows do not depend on when the portal answered (others carry times relative to its clock)
DETERMINISTIC = ("users", "user_custom_data", "enrollments")
LOAD_COLUMNS = ("_dlt_load_id", "_dlt_valid_from", "_dlt_valid_to")  # compared apart: each load has its own time


def _tables(path: Path) -> dict[str, dict[str, Any]]:
    """Appendable table -> its column types and its rows (the load's own columns as facts about each row)."""
    found: dict[str, dict[str, Any]] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        names = [r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = 'learnupon'").fetchall()]
        for table in sorted(n for n in names if appendable(n)):
            types = {r[0]: r[1] for r in con.execute(f"describe learnupon.{table}").fetchall()}
            data = [c for c in types if c not in LOAD_COLUMNS]
            validity = ""
            if "_dlt_valid_from" in types:
                # open rows start at their load's boundary (the load package's time, which its id is)
                validity = (", _dlt_valid_to is null as open,"
                            " abs(epoch_us(_dlt_valid_from) - _dlt_load_id::double * 1e6) < 1 as from_its_load")
            rows = con.execute(f"select {', '.join(data)}{validity} from learnupon.{table} order by all").fetchall()
            found[table] = {"types": types, "rows": rows}
    return found


def _same_rows_and_versions(one: dict[str, Any], other: dict[str, Any]) -> None:
    """The same rows (by their first column) and, in SCD2 tables, the same versions open and retired."""
    assert set(one) == set(other)
    for table in one:
        scd2 = "_dlt_valid_from" in one[table]["types"]
        rows = [sorted(((r[0], r[-2] if scd2 else None) for r in t[table]["rows"]), key=repr) for t in (one, other)]
        assert rows[0] == rows[1], table


def _staged(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = 'learnupon_staging'").fetchall()}


@pytest.mark.parametrize("portal_factory", modes_once(), indirect=True)
def test_a_first_load_appended_holds_what_a_merge_writes_and_merges_on_from_there(portal_factory: Any, tmp_path: Path) -> None:
    appended, merged = Warehouse(out_dir=tmp_path / "appended"), Warehouse(out_dir=tmp_path / "merged", first_load_append=False)
    portals = {w.out_dir: portal_factory(users=60) for w in (appended, merged)}
    for warehouse, portal in zip((appended, merged), portals.values()):
        assert run_pipeline(portal, warehouse, resources=RESOURCES).status == "succeeded"
    first, merged_first = _tables(appended.duckdb_path), _tables(merged.duckdb_path)
    assert {"users", "user_custom_data", "group_memberships", "enrollments", "learning_path_courses"} <= set(first)
    assert all(first[t]["rows"] for t in DETERMINISTIC)
    assert {t: first[t]["types"] for t in first} == {t: merged_first[t]["types"] for t in merged_first}
    assert {t: first[t] for t in DETERMINISTIC} == {t: merged_first[t] for t in DETERMINISTIC}
    _same_rows_and_versions(first, merged_first)
    # the first load did not go through a staging copy; the merge did
    assert {"users", "user_custom_data", "enrollments"} <= _staged(merged.duckdb_path)
    assert not {"users", "user_custom_data", "enrollments"} & _staged(appended.duckdb_path)
    # every version open, from its load's boundary, as dlt's SCD2 merge writes it
    assert all(row[-2:] == (True, True) for row in first["users"]["rows"])

    for warehouse, portal in zip((appended, merged), portals.values()):
        changes = portal.churn(days=1, share=0.2)
        assert changes["users_deleted"] > 0 and changes["enrollments_deleted"] > 0
        assert run_pipeline(portal, warehouse, resources=RESOURCES).status == "succeeded"
    # churned a few seconds apart, the two portals' new timestamps differ: each warehouse's users are held to its portal
    for warehouse, portal in zip((appended, merged), portals.values()):
        assert_tables_match(warehouse.out_dir, portal.ground_truth(), ["users"])
    after = _tables(appended.duckdb_path)
    _same_rows_and_versions(after, _tables(merged.duckdb_path))
    # the second load merged: versions were retired (SCD2) in both
    assert any(row[-2] is False for row in after["users"]["rows"])
    assert "users" in _staged(appended.duckdb_path)
