"""The layout's rules, read from the source with `ast`: no module reaches into another's private
names, and `pipelines/` (the pipeline) never imports `assets/` (the Dagster deployment on top of it)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROJECT = ("pipelines", "assets", "tests")
# namedtuple's public API is spelt with a leading underscore
PUBLIC_UNDERSCORED = {"_replace", "_asdict", "_fields", "_make"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in PUBLIC_UNDERSCORED


def _ours(node: ast.ImportFrom | ast.Import, module: str | None) -> bool:
    return bool(getattr(node, "level", 0)) or (module or "").split(".")[0] in PROJECT


def private_reaches(source: str) -> Iterator[str]:
    """`from <our module> import _name`, and `<name imported from our modules>._name` / `.x._name`."""
    tree = ast.parse(source)
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _ours(node, node.module):
            for alias in node.names:
                if _private(alias.name):
                    yield f"line {node.lineno}: from {'.' * node.level}{node.module or ''} import {alias.name}"
                imported.add(alias.asname or alias.name)
            if any(_private(part) for part in (node.module or "").split(".")):
                yield f"line {node.lineno}: from {node.module} import ..."
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _ours(node, alias.name):
                    imported.add(alias.asname or alias.name.split(".")[0])
                    if any(_private(part) for part in alias.name.split(".")):
                        yield f"line {node.lineno}: import {alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in imported:
                yield f"line {node.lineno}: {ast.unparse(node)}"


# names with a leading underscore that their library documents as public API
PUBLIC_DESPITE_UNDERSCORE = {"os._exit"}  # the os module's exit without clean-up (pipelines/process_exit.py)


def foreign_private_attributes(source: str) -> Iterator[str]:
    """`x._name` where no `_name` is defined in this module: a private attribute of another module's
    object, ours or a library's (dlt's `resource._hints`, `spec()._bind_dataset_name`). A module's
    own private names (its functions, classes, variables, `self._x`) stay usable in it."""
    tree = ast.parse(source)
    defined: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name) \
                and node.value.id in ("self", "cls"):
            defined.add(node.attr)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in defined \
                and ast.unparse(node) not in PUBLIC_DESPITE_UNDERSCORE:
            yield f"line {node.lineno}: {ast.unparse(node)}"


def imports_of(source: str) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            yield node.lineno, node.module or ""


def _sources(*folders: str) -> Iterator[tuple[str, str]]:
    for folder in folders:
        for path in sorted((REPO / folder).rglob("*.py")):
            yield str(path.relative_to(REPO)), path.read_text()


def test_no_module_imports_another_modules_private_name() -> None:
    found = [f"{name} {where}" for name, source in _sources(*PROJECT) for where in private_reaches(source)]
    assert not found, "make the name public in the module that owns it:\n" + "\n".join(found)


def test_production_code_uses_no_private_attribute_of_another_modules_object() -> None:
    """Libraries' private attributes change without notice (dlt's included): production code uses their
    public API. Tests may patch a library's internals to inject a fault (tests/support/load_killer.py)."""
    found = [f"{name} {where}" for name, source in _sources("pipelines", "assets") for where in foreign_private_attributes(source)]
    assert not found, "use the object's public API:\n" + "\n".join(found)


def test_pipelines_never_import_assets() -> None:
    found = [
        f"{name} line {line}: {module}"
        for name, source in _sources("pipelines")
        for line, module in imports_of(source)
        if module == "assets" or module.startswith("assets.")
    ]
    assert not found, "move what pipelines/ needs below assets/ and import it from there:\n" + "\n".join(found)


def test_the_checks_catch_what_they_forbid() -> None:
    caught = list(private_reaches(
        "from ..context import ExtractContext, _safe_int\n"
        "from pipelines import config\n"
        "import pipelines.models as models\n"
        "def f(context):\n"
        "    return config._int_setting('x', 0), models.graph._cache, context._client, point._replace(x=1)\n"
    ))
    assert sorted(c.split(": ")[1] for c in caught) == ["config._int_setting", "from ..context import _safe_int", "models.graph._cache"]
    assert not list(private_reaches("from __future__ import annotations\nfrom dlt.common import _private\nself._x = 1\n"))
    foreign = list(foreign_private_attributes(
        "class Server:\n"
        "    def _halt(self):\n"
        "        self._stopped = True\n"
        "def adapt(resource, destination, server):\n"
        "    server._halt()\n"
        "    return resource._hints, destination.spec()._bind_dataset_name('x'), server._stopped\n"
    ))
    assert sorted(f.split(": ")[1] for f in foreign) == ["destination.spec()._bind_dataset_name", "resource._hints"]
    inside = "def report():\n    from assets.settings import freshness_max_age_hours\n"
    assert [m for _, m in imports_of(inside)] == ["assets.settings"]


def test_the_architecture_page_names_modules_that_exist() -> None:
    """docs/architecture.md's module paths are the tree's: a move that forgets the page fails here."""
    import re

    page = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:pipelines|assets|sql|tests)/[^`\s]*)`", page))
    assert len(named) > 30, "the page should name the modules of every layer"
    missing = sorted(path for path in named if not (REPO / path).exists())
    assert missing == []
    # every destination module is on the page, so a new one is documented where it goes
    on_disk = {f"pipelines/destinations/{p.name}" for p in (REPO / "pipelines" / "destinations").glob("*.py")}
    assert on_disk - {"pipelines/destinations/__init__.py"} <= named


def test_the_readme_layout_shows_the_tree() -> None:
    """README's Layout block names every package of pipelines/, every top-level module and every tests/ folder."""
    import re

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    named = set(re.findall(r"[\w.]+/?", block))
    packages = {f"{p.name}/" for p in (REPO / "pipelines").iterdir() if (p / "__init__.py").exists()}
    modules = {p.name for p in (REPO / "pipelines").glob("*.py")} - {"__init__.py"}
    test_areas = {f"{p.name}/" for p in (REPO / "tests").iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    assert packages - named == set()
    assert modules - named == set()
    assert test_areas - named == set()
