"""The project parsed for a warehouse, in a parse folder every warehouse with the same parse shares.

dbt's partial parse keeps what its last parse read (`partial_parse.msgpack`) and reads again only
the files that changed, but only while the profile is the same: the profile's connection fields
are part of dbt's check, and a DuckDB warehouse's profile names the warehouse's own file. Parsed
in each warehouse's own folder, every new warehouse (each portal's, each benchmark's, each test's)
parsed the whole project: about 1.5 s in a process that had already run dbt, 2.5 s in a new one.

What a parse yields depends on the profile only through what the project's Jinja sees: the
target's type, database, schema and settings. A DuckDB file's path reaches it only as the database
name, which dbt-duckdb takes from the file's stem (no project file reads `target.path`:
tests/models/test_parsing.py checks that). So the parse runs with the warehouse's own target but
for the path, which names a file of the same name inside the parse folder (never opened by a
parse), and the folder is named by a hash of that target and the vars. dbt's own checks (project
files, dbt's version, profile, vars) still decide what is read again; two warehouses whose parse
could differ never share a folder. The folders live in the project's dbt target
(`sql/target/parse/`, beside the manifest Dagster reads); where that cannot be written, the
warehouse's own dbt folder is used as before. The build itself still runs with the warehouse's
profile, and writes its compiled SQL and run results in the warehouse's dbt folder.

A process that builds again (Dagster's code, a test session, the sync's plan after its extract) keeps
the manifests it parsed, by parse folder and the project files' sizes and times: dbt takes a parsed
manifest for any number of commands (`dbtRunner(manifest=...)`), and a partial parse that reads
nothing still costs 0.1-0.3 s, and 0.5-1 s when it is the process's first. Two builds never use a
kept manifest at once: dbt's in-process runner takes one command at a time, and so do our callers
(the CLI, the sync, Dagster's in-process executor).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .profile import dbt_args, write_profile
from .project import PROJECT_DIR, ModelError

PARSE_ROOT = PROJECT_DIR / "target" / "parse"
PROJECT_FILES = (".sql", ".yml", ".yaml", ".csv", ".md")  # what dbt reads from the project (docs blocks are .md)
NOT_PROJECT = ("target", "logs", "dbt_packages")  # dbt's own output beside the project's files
KEPT_MANIFESTS = 4  # parsed manifests a process keeps (a few MiB each): one per parse folder it built in lately

_kept: OrderedDict[tuple[Path, tuple[Any, ...]], Any] = OrderedDict()
_kept_lock = threading.Lock()


def pseudonymise_vars(pseudonymised: bool) -> dict[str, Any]:
    """The dbt var that makes a build the pseudonymised one (sql/macros/pseudonymised.sql)."""
    if not pseudonymised:
        return {}
    from ..privacy.plan import pseudonymise_plan

    return {"pseudonymise": pseudonymise_plan()}


def parse_target(target: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The warehouse's dbt target as the parse sees it: a DuckDB file's path moved into `folder`, name kept."""
    if "path" not in target:
        return dict(target)
    return {**target, "path": str(folder / Path(target["path"]).name)}


def parse_folder(target: dict[str, Any], variables: dict[str, Any], root: Path = PARSE_ROOT) -> Path:
    """The shared folder of every parse with this target (its DuckDB path aside) and these vars."""
    seen = parse_target(target, Path("."))
    key = hashlib.sha256(json.dumps([seen, variables], sort_keys=True, default=str).encode()).hexdigest()[:20]
    return root / key


def parse(target: dict[str, Any], raw_schema: str, own_folder: Path, pseudonymised: bool = False) -> Any:
    """The project's manifest (dbt's parsed graph) for a warehouse whose dbt target is `target`.

    Parsed in the shared parse folder of its target and vars (see the module's docstring), or in
    `own_folder` (the warehouse's dbt folder) where the shared one cannot be written. The as-of date is
    a var used only when SQL is compiled, so it is left out here: one parse serves every date.
    """
    from dbt.cli.main import dbtRunner

    variables = {"raw_schema": raw_schema, **pseudonymise_vars(pseudonymised)}
    folder = parse_folder(target, variables)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only install: each warehouse parses in its own folder
        folder = own_folder / ("parse-pseudonymised" if pseudonymised else "parse")
        folder.mkdir(parents=True, exist_ok=True)
    key = (folder, project_files_state())
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    with _parse_lock(folder):
        write_profile(folder, parse_target(target, folder))
        # the manifest comes back as an object: no manifest.json to write (dbt's partial-parse state is still kept)
        result = dbtRunner().invoke(["parse", *dbt_args(folder), "--no-write-json", "--vars", json.dumps(variables)])
    if not result.success:
        raise ModelError(f"the dbt project in {PROJECT_DIR} does not parse: {result.exception}")
    with _kept_lock:
        _kept[key] = result.result
        while len(_kept) > KEPT_MANIFESTS:
            _kept.popitem(last=False)
    return result.result


def project_files_state(project_dir: Path = PROJECT_DIR) -> tuple[Any, ...]:
    """Every project file's path, size and modification time: a change to any of them means a parse again."""
    state = []
    for top in sorted(project_dir.iterdir()):
        if top.name in NOT_PROJECT:
            continue
        for path in sorted(top.rglob("*")) if top.is_dir() else [top]:
            if path.suffix in PROJECT_FILES:
                stat = path.stat()
                state.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(state)


@contextmanager
def _parse_lock(folder: Path) -> Iterator[None]:
    """One parse at a time in a folder: dbt rewrites its partial-parse state and manifest in place."""
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
