"""docs/data-dictionary.md, generated from the dbt project: one source of truth.

The descriptions live beside the models (sql/models/**/_*.yml), the general notes in
sql/models/overview.md (dbt's `__overview__` docs block, also the front page of `dbt docs`),
and each grain in the model's key test. The raw tables' dbt sources
(sql/models/staging/_learnupon__sources.yml) are generated first, from the table registry
(pipelines/learnupon/tables.py). Regenerate after changing any of them:

    python -m pipelines.dictionary            # writes the sources, then docs/data-dictionary.md
    python -m pipelines.dictionary --check    # exit 1 when either file is out of date (the tests do this)
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from .learnupon.personal_data import CLASSES, NONE
from .learnupon.tables import PERSONAL_DATA, SOURCES_YML, sources_yml
from .models.manifest import prepare_manifest, project_manifest
from .models.project import PROJECT

DICTIONARY = Path(__file__).resolve().parent.parent / "docs" / "data-dictionary.md"
# (schema, title); the materialisation in each title is read from the models (dbt_project.yml)
LAYERS = [
    ("reporting", "Reporting models"),
    ("intermediate", "Intermediate models"),
    ("staging", "Staging models"),
    ("sync", "User sync models"),
]
LAYER_NOTES = {"sync": "built by `lms-warehouse sync plan|apply`, docs/user-sync.md"}


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def grains(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """Model unique_id -> its grain columns, read from its key test (unique_grain, or unique on one column)."""
    found: dict[str, list[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("attached_node"):
            continue
        meta = node.get("test_metadata") or {}
        kwargs = meta.get("kwargs") or {}
        if meta.get("name") == "unique_grain":
            found[node["attached_node"]] = list(kwargs.get("columns") or [])
        elif meta.get("name") == "unique" and node["attached_node"] not in found:
            found[node["attached_node"]] = [kwargs.get("column_name") or node.get("column_name")]
    return found


def render(manifest: dict[str, Any]) -> str:
    docs = {d["name"]: d["block_contents"].strip() for d in manifest["docs"].values() if d["package_name"] == PROJECT}
    models = sorted(
        (n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["package_name"] == PROJECT),
        key=lambda n: n["name"],
    )
    grain = grains(manifest)
    out = [
        "# Data dictionary: staging, intermediate, reporting and the user sync",
        "",
        "<!-- Generated from the dbt project by `python -m pipelines.dictionary`: edit the model YAML in",
        "     sql/models/ and sql/models/overview.md, not this file. -->",
        "",
        docs["__overview__"],
    ]
    for schema, title in LAYERS:
        nodes = [n for n in models if n["schema"] == schema]
        counted = Counter(n["config"]["materialized"] for n in nodes)
        what = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in sorted(counted.items()))
        note = f", {LAYER_NOTES[schema]}" if schema in LAYER_NOTES else ""
        out += ["", f"## {title} (schema `{schema}`: {what}{note})", ""]
        for node in nodes:
            keys = grain.get(node["unique_id"])
            grain_text = f" Grain: one row per ({', '.join(keys)})." if keys else ""
            if schema != "reporting" and node["config"]["materialized"] != "table":  # views: a line each
                out.append(f"- `{node['name']}`: {_one_line(node['description'])}{grain_text}")
                continue
            if out[-1] != "":  # a table after a list of views
                out.append("")
            out += [f"### {node['name']}", "", _one_line(node["description"]) + grain_text, ""]
            out += ["| column | meaning |", "|---|---|"]
            for column in node["columns"].values():
                out.append(f"| {column['name']} | {_one_line(column['description']).replace('|', '/')} |")
            out.append("")
        if out[-1] == "":
            out.pop()
    out += ["", *personal_data_section()]
    out += ["", "## Querying the marts", "", docs["querying"], ""]
    return "\n".join(out)


def personal_data_section() -> list[str]:
    """The raw tables' columns by personal-data class, from the table registry."""
    shown = [kind for kind in CLASSES if kind != NONE]
    out = [
        "## Personal data in the raw tables (schema `learnupon`)",
        "",
        "Each raw column's personal-data class, declared once in the table registry"
        " (`Table.personal` in `pipelines/learnupon/tables.py`; the classes: `pipelines/learnupon/personal_data.py`); every column not listed, dlt's own included, is `none`."
        " What each class means and what the pseudonymised schema does with it: docs/personal-data.md.",
        "",
        "| table | " + " | ".join(shown) + " |",
        "|---|" + "---|" * len(shown),
    ]
    without = []
    for table, classes in PERSONAL_DATA.items():
        if all(kind == NONE for kind in classes.values()):
            without.append(table)
            continue
        cells = [", ".join(c for c, k in classes.items() if k == kind) or "-" for kind in shown]
        out.append(f"| {table} | " + " | ".join(cells) + " |")
    out += ["", "No personal data: " + ", ".join(without) + "."]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.dictionary", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the dictionary or the dbt sources are out of date")
    parser.add_argument("--out", type=Path, default=DICTIONARY)
    args = parser.parse_args(argv)
    sources = sources_yml()
    if args.check:
        prepare_manifest()  # the project as it is on disk, not a manifest prepared before an edit
        stale = [path for path, text in ((SOURCES_YML, sources), (args.out, render(project_manifest())))
                 if (path.read_text(encoding="utf-8") if path.exists() else "") != text]
        for path in stale:
            print(f"{path} is out of date: run python -m pipelines.dictionary", file=sys.stderr)
        return 1 if stale else 0
    SOURCES_YML.write_text(sources, encoding="utf-8")  # first: the manifest the dictionary reads parses it
    print(f"wrote {SOURCES_YML}")
    prepare_manifest()
    text = render(project_manifest())
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
