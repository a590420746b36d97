"""The project's parse is shared by the warehouses whose parse is the same (pipelines/models/parsing.py)."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import duckdb

from pipelines.models import PROJECT_DIR, build_models
from pipelines.models.parsing import parse, parse_folder, parse_target
from pipelines.run.runner import Warehouse
from tests.models.test_models_data import make_duckdb_warehouse


def test_no_project_file_reads_the_duckdb_path() -> None:
    """The shared parse assumes a DuckDB file's path reaches the project only as its database name."""
    readers = [
        str(path.relative_to(PROJECT_DIR))
        for path in PROJECT_DIR.rglob("*")
        if path.suffix in (".sql", ".yml", ".yaml") and "target" not in path.relative_to(PROJECT_DIR).parts[:1]
        and re.search(r"target\s*(\.\s*path|\[\s*['\"]path)", path.read_text(encoding="utf-8"))
    ]
    assert readers == []


def test_two_warehouses_share_one_parse_and_each_is_built_in_its_own_file(tmp_path: Path) -> None:
    first, second = Warehouse(out_dir=tmp_path / "first"), Warehouse(out_dir=tmp_path / "second")
    for warehouse in (first, second):
        make_duckdb_warehouse(warehouse.out_dir)
    variables = {"raw_schema": first.dataset}
    folder = parse_folder(first.backend.dbt_target(), variables)
    assert parse_folder(second.backend.dbt_target(), variables) == folder
    # anything the project's Jinja can see parses apart: the schema, the vars, the database's name
    other_schema = {**first.backend.dbt_target(), "schema": "elsewhere"}
    assert parse_folder(other_schema, variables) != folder
    assert parse_folder(first.backend.dbt_target(), {**variables, "pseudonymise": {"x": 1}}) != folder
    renamed = {**first.backend.dbt_target(), "path": str(tmp_path / "other.duckdb")}
    assert parse_folder(renamed, variables) != folder
    assert parse_target(first.backend.dbt_target(), folder)["path"] == str(folder / "warehouse.duckdb")

    built = {w.out_dir: build_models(w, as_of=date(2026, 6, 15), export_parquet=False) for w in (first, second)}
    assert (folder / "target" / "partial_parse.msgpack").exists()
    assert not list(folder.glob("*.duckdb"))  # a parse never opens the file its profile names
    for warehouse in (first, second):
        assert built[warehouse.out_dir]["compliance_status"] > 0
        with duckdb.connect(str(warehouse.duckdb_path), read_only=True) as con:
            rows = con.execute("select count(*) from reporting.compliance_status").fetchone()[0]
        assert rows == built[warehouse.out_dir]["compliance_status"]
        # the build's own files stay in the warehouse's dbt folder
        assert (Path(warehouse.out_dir) / ".dbt" / "target" / "run_results.json").exists()


def test_a_process_parses_again_only_when_a_project_file_changed(tmp_path: Path) -> None:
    """A manifest parsed once serves every later build in the process, until a project file changes."""
    warehouse = Warehouse(out_dir=tmp_path)
    make_duckdb_warehouse(warehouse.out_dir)
    target, work = warehouse.backend.dbt_target(), tmp_path / ".dbt"
    first = parse(target, warehouse.dataset, work)
    assert parse(target, warehouse.dataset, work) is first
    model = PROJECT_DIR / "models" / "marts" / "compliance_status.sql"
    times = model.stat()
    try:
        os.utime(model, ns=(times.st_atime_ns, times.st_mtime_ns + 1_000_000_000))
        again = parse(target, warehouse.dataset, work)
    finally:
        os.utime(model, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert again is not first
    assert "model.lms_warehouse.compliance_status" in again.nodes
    # a build with the kept manifest still builds every mart
    built = build_models(warehouse, as_of=date(2026, 6, 15), export_parquet=False)
    assert built["compliance_status"] > 0
