"""The dbt project in sql/: its names, its one `DbtProject` (dagster-dbt) and its graph of models.

`DBT_PROJECT` says where the project and its parsed manifest are (`sql/target/manifest.json`);
Dagster's asset definitions, the data dictionary and the tests read that manifest. dagster-dbt
prepares it the documented way: `dagster dev` parses at load time (`prepare_if_dev`), a deployment
runs `dagster-dbt project prepare-and-package --file pipelines/models/project.py` when it is built,
and a manifest that is missing is parsed on first use. Every parse after the first is dbt's partial
parse (`sql/target/partial_parse.msgpack`): only changed files are read again. The profile beside
the project (`sql/profiles.yml`) only parses: builds use the one written for each warehouse
(pipelines/models/profile.py).

The parse is dagster-dbt's (`DbtCliResource.cli(["parse"])`, as its project preparer runs it) with
the dbt of this Python environment: the preparer looks for `dbt` on PATH, which a venv's programs
run by their path (`.venv/bin/dagster dev`, `.venv/bin/python`) do not have.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent / "sql"
PROFILE = "lms_warehouse"  # dbt_project.yml `profile:`
PROJECT = "lms_warehouse"  # dbt_project.yml `name:`
SOURCE = "learnupon"  # the dbt source of the raw tables
MARTS = "marts"  # the folder of the reporting tables (dbt_project.yml gives their schema)
# models with one of these tags are built only when asked for by tag: the user sync's plan needs a roster
ON_DEMAND_TAGS = ("sync",)

DBT_PROJECT = DbtProject(project_dir=PROJECT_DIR)
# dbt's command line in this environment (dagster-dbt runs it for the parse and for Dagster's builds)
DBT_EXECUTABLE = shutil.which("dbt", path=str(Path(sys.executable).parent)) or "dbt"


class ModelError(Exception):
    """A model's SQL failed (the models downstream of it were not built), or the project does not parse."""


def prepared_manifest_path() -> Path:
    """The manifest as dagster-dbt prepares it: parsed again under `dagster dev`, else the one a deployment
    prepared, parsed now when there is none."""
    if DBT_PROJECT.preparer.using_dagster_dev() or not DBT_PROJECT.manifest_path.exists():
        prepare_manifest()
    return DBT_PROJECT.manifest_path


def prepare_manifest() -> Path:
    """Parse the project now (dbt's partial parse: only what changed): for readers that must see the
    project as it is on disk (the data dictionary, the test session)."""
    with _manifest_lock():
        invocation = DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=DBT_EXECUTABLE).cli(
            ["parse", "--quiet"], target_path=DBT_PROJECT.target_path, raise_on_error=False
        )
        invocation.wait()
        if not invocation.is_successful():
            raise ModelError(f"the dbt project in {PROJECT_DIR} does not parse: {invocation.get_error()}")
    return DBT_PROJECT.manifest_path


@contextmanager
def _manifest_lock() -> Iterator[None]:
    """One process at a time writes or reads the manifest (dbt writes it in place; tests load definitions in parallel)."""
    folder = PROJECT_DIR / DBT_PROJECT.target_path
    folder.mkdir(exist_ok=True)
    with open(folder / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def project_manifest() -> dict[str, Any]:
    """The project's manifest.json as a dict (dagster-dbt's specs, the data dictionary)."""
    path = prepared_manifest_path()
    with _manifest_lock():
        return json.loads(path.read_text(encoding="utf-8"))


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
