"""Which parts of the code may import which (issue #18).

* ``analysis`` is the statistics engine: it imports neither Flask nor SQLAlchemy nor any of the
  application's packages, so it can be used (and tested against R) on its own.
* Views — modules that declare routes — are imported only by the code that wires the application
  together (the application factory, a package's ``__init__`` registering its blueprints). No service,
  model, command or other view module imports a view: what several views need lives in a service.

Imports are read from the source (``ast``), deferred imports inside functions included.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("webapp", "surveys", "public", "analysis")
ROUTE = re.compile(r"^@\w+\.(route|get|post|put|patch|delete)\(", re.MULTILINE)
FORBIDDEN_IN_ANALYSIS = ("flask", "flask_babel", "flask_wtf", "sqlalchemy", "webapp", "surveys", "public")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path) -> set[str]:
    """Every module name ``path`` imports, and every ``module.name`` it imports from a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parents = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parents, base] if base else parents)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


MODULES = _modules()
VIEWS = {name for name, path in MODULES.items() if ROUTE.search(path.read_text(encoding="utf-8"))}


def test_the_walk_sees_the_code():
    assert len(MODULES) > 100 and len(VIEWS) > 20
    assert {"public.pages", "surveys.online", "webapp.admin.users_views"} <= VIEWS


def test_analysis_imports_neither_flask_nor_sqlalchemy_nor_the_application():
    wrong = []
    modules = [name for name in MODULES if name.split(".")[0] == "analysis"]
    assert modules
    for name in modules:
        for imported in _imports(name, MODULES[name]):
            if imported.split(".")[0] in FORBIDDEN_IN_ANALYSIS:
                wrong.append(f"{name} imports {imported}")
    assert not wrong, "\n".join(sorted(wrong))


def test_views_are_imported_only_where_the_application_is_wired():
    wrong = []
    for name, path in MODULES.items():
        if path.name == "__init__.py":  # the factory and packages registering their blueprints
            continue
        for imported in _imports(name, path) & VIEWS:
            if imported != name:
                wrong.append(f"{name} imports the view module {imported}")
    assert not wrong, "\n".join(sorted(wrong))
