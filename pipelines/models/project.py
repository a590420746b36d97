"""The dbt project in sql/: its names and its graph of models (what a build reads from a parsed manifest).

The parsed manifest Dagster and the data dictionary read, and the project's one dagster-dbt
`DbtProject`, are in manifest.py: the CLI's build parses with the warehouse's own profile
(build.py) and does not import Dagster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent / "sql"
PROFILE = "lms_warehouse"  # dbt_project.yml `profile:`
PROJECT = "lms_warehouse"  # dbt_project.yml `name:`
SOURCE = "learnupon"  # the dbt source of the raw tables
MARTS = "marts"  # the folder of the reporting tables (dbt_project.yml gives their schema)
# models with one of these tags are built only when asked for by tag: the user sync's plan needs a roster
ON_DEMAND_TAGS = ("sync",)


class ModelError(Exception):
    """A model's SQL failed (the models downstream of it were not built), or the project does not parse."""

@dataclass
class Graph:
    """What a build needs from the manifest: models in dependency order, their parents and sources."""

    models: dict[str, Any] = field(default_factory=dict)  # name -> node
    order: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, manifest: Any) -> Graph:
        graph = cls()
        nodes = {uid: n for uid, n in manifest.nodes.items() if n.resource_type == "model" and n.package_name == PROJECT}
        graph.models = {n.name: n for n in nodes.values()}
        done: set[str] = set()
        pending = dict(nodes)
        while pending:
            ready = sorted(
                (uid for uid, n in pending.items() if all(p in done or p not in nodes for p in n.depends_on.nodes)),
                key=lambda uid: pending[uid].name,
            )
            if not ready:  # dbt refuses cycles at parse time; this only guards the loop
                raise ModelError(f"models depend on each other in a cycle: {', '.join(sorted(pending))}")
            for uid in ready:
                graph.order.append(pending.pop(uid).name)
                done.add(uid)
        return graph

    def parents(self, name: str) -> list[str]:
        by_id = {n.unique_id: n.name for n in self.models.values()}
        return [by_id[p] for p in self.models[name].depends_on.nodes if p in by_id]

    def sources(self, name: str) -> list[str]:
        """Raw tables (learnupon source tables) the model needs: those it reads directly, less those its
        `meta.optional_sources` names (it reads them through the optional_source macro, if present)."""
        node = self.models[name]
        optional = set(node.config.meta.get("optional_sources") or [])
        tables = (p.split(".")[-1] for p in node.depends_on.nodes if p.startswith(f"source.{PROJECT}.{SOURCE}."))
        return sorted(t for t in tables if t not in optional)

    def tagged(self, tag: str) -> set[str]:
        return {name for name, node in self.models.items() if tag in node.tags}

    def schema(self, name: str) -> str:
        return self.models[name].schema

    def is_mart(self, name: str) -> bool:
        return self.models[name].fqn[1] == MARTS

    def materialized(self, name: str) -> str:
        return self.models[name].config.materialized
