"""The dbt project's parsed manifest, the dagster-dbt way: its one `DbtProject`.

`DBT_PROJECT` says where the project and its parsed manifest are (`sql/target/manifest.json`);
Dagster's asset definitions, the data dictionary and the tests read that manifest. dagster-dbt
prepares it the documented way: `dagster dev` parses at load time (`prepare_if_dev`), a deployment
runs `dagster-dbt project prepare-and-package --file pipelines/models/manifest.py` when it is built,
and a manifest that is missing is parsed on first use. Every parse after the first is dbt's partial
parse (`sql/target/partial_parse.msgpack`): only changed files are read again. The profile beside
the project (`sql/profiles.yml`) only parses: builds use the one written for each warehouse
(pipelines/models/profile.py). The CLI's build does not import this module (nor Dagster): it
parses with the warehouse's own profile, whose database the relation names carry (build.py).

The parse is dagster-dbt's (`DbtCliResource.cli(["parse"])`, as its project preparer runs it) with
the dbt of this Python environment: the preparer looks for `dbt` on PATH, which a venv's programs
run by their path (`.venv/bin/dagster dev`, `.venv/bin/python`) do not have.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject

# absolute: dagster-dbt's `project prepare-and-package --file` imports this file on its own
from pipelines.models.parsing import project_files_state
from pipelines.models.project import PROJECT_DIR, ModelError

DBT_PROJECT = DbtProject(project_dir=PROJECT_DIR)
# what a parse's output depends on beside the project's files (an adapter brings its own macros)
DBT_DISTRIBUTIONS = ("dbt-core", "dbt-adapters", "dbt-duckdb", "dbt-postgres")
# dbt's command line in this environment (dagster-dbt runs it for the parse and for Dagster's builds)
DBT_EXECUTABLE = shutil.which("dbt", path=str(Path(sys.executable).parent)) or "dbt"


def prepared_manifest_path() -> Path:
    """The manifest as dagster-dbt prepares it: parsed again under `dagster dev`, else the one a deployment
    prepared, parsed now when there is none."""
    if DBT_PROJECT.preparer.using_dagster_dev() or not DBT_PROJECT.manifest_path.exists():
        prepare_manifest()
    return DBT_PROJECT.manifest_path


def prepare_manifest() -> Path:
    """Parse the project now (dbt's partial parse: only what changed): for readers that must see the
    project as it is on disk (the data dictionary, the test session).

    Not when the manifest was parsed from the project files as they are now: their sizes and times and
    dbt's versions are recorded beside it (`manifest.state`). dbt's own check would read nothing again
    either, but only after two processes of its own (`dbt --version`, `dbt parse`): 5-7 s."""
    with _manifest_lock():
        state, stamp = _project_state(), Path(DBT_PROJECT.project_dir) / DBT_PROJECT.target_path / "manifest.state"
        if DBT_PROJECT.manifest_path.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == state:
            return DBT_PROJECT.manifest_path
        invocation = DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=DBT_EXECUTABLE).cli(
            ["parse", "--quiet"], target_path=DBT_PROJECT.target_path, raise_on_error=False
        )
        invocation.wait()
        if not invocation.is_successful():
            raise ModelError(f"the dbt project in {DBT_PROJECT.project_dir} does not parse: {invocation.get_error()}")
        stamp.write_text(state, encoding="utf-8")  # the state read before the parse: an edit during it parses again
    return DBT_PROJECT.manifest_path


def _project_state() -> str:
    """What the manifest was parsed from: every project file's size and time, and dbt's and its adapters' versions."""
    versions = []
    for name in DBT_DISTRIBUTIONS:
        try:
            versions.append(metadata.version(name))
        except metadata.PackageNotFoundError:
            versions.append(None)
    files = project_files_state(Path(DBT_PROJECT.project_dir))
    return hashlib.sha256(json.dumps([versions, files]).encode()).hexdigest()


@contextmanager
def _manifest_lock() -> Iterator[None]:
    """One process at a time writes or reads the manifest (dbt writes it in place; tests load definitions in parallel)."""
    folder = DBT_PROJECT.project_dir / DBT_PROJECT.target_path
    folder.mkdir(exist_ok=True)
    with open(folder / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def project_manifest() -> dict[str, Any]:
    """The project's manifest.json as a dict (dagster-dbt's specs, the data dictionary)."""
    path = prepared_manifest_path()
    with _manifest_lock():
        return json.loads(path.read_text(encoding="utf-8"))
