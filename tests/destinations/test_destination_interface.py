"""The layout a contributor extends: production code asks its destination (pipelines/destinations/) what to
do and never branches on the destination's name. What is left is listed here, each with its reason."""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.destinations import DESTINATIONS, KINDS, Destination

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = ("pipelines", "assets")
DESTINATIONS_PACKAGE = "pipelines/destinations/"
NAMES = "|".join(DESTINATIONS)
# a comparison with a destination's name, a test of the destination attribute, or the flags that stood for a group
BRANCH = re.compile(
    rf'destination\s*(==|!=|\bin\b|\bnot in\b)|(==|!=)\s*"({NAMES})"|"({NAMES})"\s*(==|!=)'
    r"|\bis_sql\b|\bloads_duckdb\b|SQL_DESTINATIONS"
)
# (file, the line's code): what could not move yet, and why (empty: every branch moved behind the interface)
ALLOWED: set[tuple[str, str]] = set()


def destination_branches() -> set[tuple[str, str]]:
    found = set()
    for folder in PRODUCTION:
        for path in sorted((REPO / folder).rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            if relative.startswith(DESTINATIONS_PACKAGE) or "/simulator/" in relative:
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                if BRANCH.search(line):
                    found.add((relative, line.split("#")[0].strip()))
    return found


def test_no_destination_branch_outside_the_destinations_package() -> None:
    found = destination_branches()
    assert found - ALLOWED == set(), "branch on the destination's name: ask pipelines/destinations/ instead"
    assert ALLOWED - found == set(), "an allowed branch is gone: take it off the list"


def test_the_pattern_finds_a_branch() -> None:
    """The check above can fail: the pattern matches each shape of branch it looks for."""
    for line in ('if warehouse.destination == "delta":', 'x = "postgres" if kind == "postgres" else 1',
                 "if warehouse.is_sql:", "if warehouse.loads_duckdb:", 'if self.destination not in ("duckdb",):'):
        assert BRANCH.search(line), line
    assert not BRANCH.search("table_format=warehouse.backend.table_format")


def test_every_destination_has_its_module_and_implements_the_interface() -> None:
    assert set(DESTINATIONS) == {"duckdb", "parquet", "delta", "postgres"}
    for name, kind in KINDS.items():
        assert issubclass(kind, Destination) and kind.name == name
        assert (REPO / DESTINATIONS_PACKAGE / f"{name}.py").is_file()
        assert not getattr(kind, "__abstractmethods__", None), (name, kind.__abstractmethods__)
