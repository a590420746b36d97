"""The table registry (pipelines/learnupon/tables.py) is the one declaration of each raw table:
dbt's sources are generated from it, and production code names a raw table in few files."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from pipelines.learnupon import tables

REPO = Path(__file__).resolve().parents[2]


def test_dbt_sources_are_generated_from_the_registry() -> None:
    committed = tables.SOURCES_YML.read_text(encoding="utf-8")
    assert committed == tables.sources_yml(), "run: python -m pipelines.dictionary"
    declared = {t["name"]: t["description"] for t in yaml.safe_load(committed)["sources"][0]["tables"]}
    assert declared == {name: t.description for name, t in tables.TABLES.items() if t.resource}


# ---- where production code names a raw table ------------------------------------------------------------

MAX_FILES = 3  # the registry, the resource that writes the table, and one reader at most

# tables named in more files, each with its reason; the count is what the test found, so a new mention
# fails it and a removed one asks to lower the figure. Empty: other layers read the registry's names
# (tables.USERS, tables.TABLES[name].endpoint...) instead of writing them.
ALLOWED: dict[str, tuple[int, str]] = {}


def _production_files() -> list[Path]:
    roots = [REPO / "pipelines", REPO / "assets"]
    return sorted(p for root in roots for p in root.rglob("*.py") if "simulator" not in p.relative_to(REPO).parts)


def _api_vocabulary(tree: ast.AST) -> set[int]:
    """ids of the string constants that are the API's JSON wrapper keys (settings.py's *_KEYS and Listing keys)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        tuples: list[ast.AST] = []
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id.endswith("_KEYS") for t in node.targets):
            tuples.append(node.value)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Listing" and len(node.args) > 2:
            tuples.append(node.args[2])
        for value in tuples:
            found |= {id(c) for c in ast.walk(value) if isinstance(c, ast.Constant)}
    return found


def table_mentions() -> dict[str, set[str]]:
    """Raw table -> the production files with its name as a string literal.

    Production: the Python modules of pipelines/ and assets/, not the simulator (tests and docs are
    elsewhere). assets/schedules.toml, whose per-resource thresholds a deployment edits, is not code.
    """
    names = {name for name, table in tables.TABLES.items() if table.resource}
    found: dict[str, set[str]] = {name: set() for name in names}
    for path in _production_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _api_vocabulary(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in found and id(node) not in skip:
                found[node.value].add(str(path.relative_to(REPO)))
    return found


def test_a_raw_table_is_named_in_at_most_three_production_files() -> None:
    mentions = table_mentions()
    over = {name: sorted(files) for name, files in mentions.items() if len(files) > ALLOWED.get(name, (MAX_FILES,))[0]}
    assert not over, f"named in more files than allowed: {over}"
    lowered = {name: len(mentions[name]) for name, (count, _) in ALLOWED.items() if len(mentions[name]) < count}
    assert not lowered, f"fewer files now: lower ALLOWED to {lowered}"
    # the scan sees what it counts: the registry and the writing resource name each table
    assert all("pipelines/learnupon/tables.py" in files for files in mentions.values())
    assert {"pipelines/learnupon/tables.py", "pipelines/learnupon/resources/exams.py"} <= mentions["exam_answers"]
