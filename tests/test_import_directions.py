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


# An import inside a function says why it is there, on its own line or the line before (the comment
# above a run of such imports covers the run):
#   ``# cycle: ...``     the module imported at the top would import this one back, half-loaded;
#   ``# start-up: ...``  it keeps a heavy module out of a process or command that does not need it;
#   ``# optional: ...``  the dependency may be missing (or exists on some platforms only).
# Every other import belongs at the top of its module. ``if TYPE_CHECKING:`` blocks are not functions.
REASON = re.compile(r"#.*\b(cycle|start-up|optional):\s*\S")


def _function_imports(tree: ast.AST) -> list[tuple[ast.stmt, list[ast.stmt]]]:
    """Each import inside a function, with the statements of the block it is in."""
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            for field in ("body", "orelse", "finalbody", "handlers"):
                block = getattr(node, field, None)
                if not isinstance(block, list):
                    continue
                for statement in block:
                    if isinstance(statement, (ast.Import, ast.ImportFrom)):
                        found.append((statement, block))
    unique = {id(statement): (statement, block) for statement, block in found}
    return list(unique.values())


def _says_why(statement: ast.stmt, block: list[ast.stmt], lines: list[str]) -> bool:
    if REASON.search(lines[statement.lineno - 1]):
        return True
    first = statement
    index = block.index(statement)
    while index > 0 and isinstance(block[index - 1], (ast.Import, ast.ImportFrom)):
        index -= 1
        first = block[index]
    above = lines[first.lineno - 2].strip() if first.lineno > 1 else ""
    return above.startswith("#") and bool(REASON.search(above))


def deferred_imports_without_a_reason(source: str, where: str) -> list[str]:
    lines = source.splitlines()
    return [
        f"{where}:{statement.lineno}: {lines[statement.lineno - 1].strip()}"
        for statement, block in _function_imports(ast.parse(source))
        if not _says_why(statement, block, lines)
    ]


def test_the_deferred_import_check_can_fail():
    sample = (
        "def f():\n"
        "    import json\n"
        "    return json\n"
        "\n"
        "def g():\n"
        "    # cycle: webapp.models imports this module\n"
        "    import webapp.models\n"
        "    from webapp import extensions\n"
        "    import csv  # start-up: only for this command\n"
        "    x = 1\n"
        "    import io\n"
        "    return webapp, extensions, csv, io, x\n"
    )
    found = deferred_imports_without_a_reason(sample, "sample.py")
    assert found == ["sample.py:2: import json", "sample.py:11: import io"]


def test_imports_inside_functions_say_why():
    wrong = []
    checked = 0
    for path in MODULES.values():
        where = path.relative_to(REPO).as_posix()
        checked += 1
        wrong.extend(deferred_imports_without_a_reason(path.read_text(encoding="utf-8"), where))
    assert checked > 100
    assert not wrong, "move these to the top of the module, or say why they are deferred:\n" + "\n".join(sorted(wrong))
