"""The table registry (pipelines/learnupon/tables.py) is the one declaration of each raw table:
dbt's sources are generated from it."""

from __future__ import annotations

import yaml

from pipelines.learnupon import tables


def test_dbt_sources_are_generated_from_the_registry() -> None:
    committed = tables.SOURCES_YML.read_text(encoding="utf-8")
    assert committed == tables.sources_yml(), "run: python -m pipelines.dictionary"
    declared = {t["name"]: t["description"] for t in yaml.safe_load(committed)["sources"][0]["tables"]}
    assert declared == {name: t.description for name, t in tables.TABLES.items() if t.resource}
