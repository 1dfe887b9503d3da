"""Tests that can fail: an assertion inside a loop over data says nothing when the data is empty.

``for row in rows: assert row.n >= 10`` passes when ``rows`` is empty, and so does
``assert all(r.n >= 10 for r in rows)`` (``all`` of nothing is true) and
``assert not any(...)``. This module reads every test file (its syntax tree, never running it)
and requires such a test to say first that the data is there.

The rules (each one is exercised by the unit tests at the end of this file):

- **Checked**: a ``for`` loop whose body holds an ``assert`` (nested functions aside), and each
  ``for`` of a comprehension that is the argument of ``all(...)`` or ``not any(...)`` within an
  ``assert``.
- **Known non-empty iterables need nothing**:

  - a literal list, tuple, set or dict with an item that is not a ``*``/``**`` unpacking, a
    non-empty string;
  - ``range(n)`` with ``n`` a literal ≥ 1, an UPPER_CASE constant of the code under test (taken
    as ≥ 1) or a sum or product of those; ``range`` of literal numbers that is not empty;
  - ``x.split(<separator>)``; ``a + b`` with either known non-empty; ``a if c else b`` with both;
    ``a[:k]`` (literal ``k`` ≥ 1) of a known non-empty ``a``;
  - a comprehension without ``if`` whose every ``for`` is over a known non-empty iterable;
  - a name bound only to such values (in the same function, else at module level), a call of a
    function of the same file whose every ``return`` is such a value;
  - ``zip`` and ``itertools.product`` of such (all), and ``enumerate``, ``sorted``,
    ``reversed``, ``list``, ``tuple``, ``set``, ``frozenset``, ``.items()``, ``.keys()``,
    ``.values()`` of such.

- **Anything else is data** and needs a *non-empty assertion* before it: an ``assert`` statement
  of the same function on an earlier line (or an earlier ``and`` operand of the same assert)
  that is, or has as an ``and`` operand, one of these, where ``E`` is the data written the same
  way, or ``list``/``set``/``sorted``/``tuple``/``frozenset``/``dict``/``Counter`` of it, a
  comprehension whose first ``for`` is over it, or a slice of one of those:

  - ``E``; ``x in E``;
  - ``len(E) == k``, ``len(E) >= k``, ``len(E) > j`` (literal ``k`` ≥ 1, ``j`` ≥ 0; either side,
    in chained comparisons too); ``len(E) > len(F)``;
  - ``E == X``, ``X <= E``, ``X < E`` with ``X`` known non-empty (above).

  Through the wrappers of the first list, the assertion may be about the wrapped data instead:
  under ``zip`` and ``product`` every data argument needs one, under ``zip(..., strict=True)``
  one of them is enough (it raises unless all are as long). For ``a + b``, one of them is enough;
  for ``E[:k]`` (``k`` ≥ 1), ``E``.
- **Counted loops need nothing more**: a ``for`` loop whose body adds to a name
  (``compared += 1``) that an assert after the loop says is at least 1 (``compared``,
  ``compared >= 2``, ``compared == 3``, ``compared > 0``).
- **Waiver**: ``# may be empty: <why>`` on the loop's line, for a helper that checks "every X, if
  any" on pages that may have none (every use is a claim a reviewer reads).

The check is lexical, not a proof (an assertion in another branch counts): it catches the
common mistake, and a reader of a flagged line sees what to add.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

#: Wrappers whose result is empty exactly when (one of) their arguments is.
PASS_THROUGH = frozenset({"zip", "product", "enumerate", "sorted", "reversed", "list", "tuple", "set", "frozenset"})
#: Wrappers that are empty when any of their arguments is.
ALL_OF = frozenset({"zip", "product"})
DICT_VIEWS = frozenset({"items", "keys", "values"})
PASS_KEYWORDS = frozenset({"strict", "start", "key", "reverse"})
ITERTOOLS = ast.Name(id="itertools", ctx=ast.Load())
#: Wrappers that are empty exactly when what they wrap is, in a non-empty assertion.
EQUAL_WRAPPERS = frozenset({"list", "set", "sorted", "tuple", "frozenset", "dict", "Counter"})
#: On the loop's line, ``# may be empty: <why>`` says emptiness is fine there (a check of "every X, if any").
WAIVER = re.compile(r"# may be empty: \S")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    function: str
    data: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: in {self.function}(), `{self.data}` may be empty: assert it is not first"


def _same(a: ast.AST, b: ast.AST) -> bool:
    return ast.dump(a) == ast.dump(b)


def _call_name(node: ast.AST) -> str | None:
    """``f`` for a call ``f(...)``, and ``product`` for ``itertools.product(...)``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _same(node.func.value, ITERTOOLS):
        return node.func.attr
    return None


def _literal_number(node: ast.AST) -> int | float | None:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal_number(node.operand)
        return None if inner is None else -inner
    return None


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``scope``'s body, without descending into nested functions, lambdas or classes."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


class _Scope:
    """One function (or the module): its name bindings and its assert statements."""

    def __init__(self, node: ast.AST, name: str, outer: _Scope | None):
        self.node, self.name, self.outer = node, name, outer
        self.bindings: dict[str, list[ast.AST | None]] = {}
        self.asserts: list[ast.Assert] = []
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        for child in _own_nodes(node):
            if isinstance(child, ast.Assert):
                self.asserts.append(child)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[child.name] = child
            elif isinstance(child, ast.Assign):
                for target in child.targets:
                    self._bind(target, child.value)
            elif isinstance(child, ast.AnnAssign) and isinstance(child.target, ast.Name):
                self._bind(child.target, child.value)
            elif isinstance(child, (ast.AugAssign, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith, ast.NamedExpr)):
                for target in _targets(child):
                    self._bind(target, None)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for argument in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
                self.bindings.setdefault(argument.arg, []).append(None)

    def _bind(self, target: ast.AST, value: ast.AST | None) -> None:
        if isinstance(target, ast.Name):
            self.bindings.setdefault(target.id, []).append(value)
        else:  # unpacking, subscripts, attributes: the names bound get no known value
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    self.bindings.setdefault(name.id, []).append(None)

    def known_nonempty(self, node: ast.AST, seen: frozenset[str] = frozenset()) -> bool:
        """Whether ``node`` has at least one item, whatever the data."""
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return any(not isinstance(e, ast.Starred) for e in node.elts)
        if isinstance(node, ast.Dict):
            return any(key is not None for key in node.keys)  # None: a ``**`` unpacking
        if isinstance(node, ast.Constant):
            return isinstance(node.value, (str, bytes)) and bool(node.value)
        if _head(node) is not None:
            return self.known_nonempty(_head(node), seen)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            return all(not g.ifs and self.known_nonempty(g.iter, seen) for g in node.generators)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.known_nonempty(node.left, seen) or self.known_nonempty(node.right, seen)
        if isinstance(node, ast.IfExp):
            return self.known_nonempty(node.body, seen) and self.known_nonempty(node.orelse, seen)
        if isinstance(node, ast.Name):
            return node.id not in seen and self._name_nonempty(node.id, seen | {node.id})
        name = _call_name(node)
        if name == "range":
            return (len(node.args) == 1 and _at_least_one(node.args[0])) or _literal_range(node.args)
        if name in PASS_THROUGH and node.args and _passes_through(node):
            arguments = node.args if name in ALL_OF else node.args[:1]
            return all(self.known_nonempty(a, seen) for a in arguments)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self._returns_nonempty(node.func.id, seen)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, owner = node.func.attr, node.func.value
            if method in DICT_VIEWS and not node.args:
                return self.known_nonempty(owner, seen)
            if method == "split" and node.args:
                return True  # split with a separator gives at least one item, even of ""
        return False

    def _returns_nonempty(self, name: str, seen: frozenset[str]) -> bool:
        """Whether the function ``name`` of this file returns a known non-empty value on every ``return``."""
        scope: _Scope | None = self
        while scope is not None and name not in scope.functions:
            scope = scope.outer
        if scope is None or f"{name}()" in seen:
            return False
        function = scope.functions[name]
        body = list(_own_nodes(function))
        if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in body):
            return False
        returns = [n.value for n in body if isinstance(n, ast.Return)]
        inner = _Scope(function, name, scope)
        return bool(returns) and all(v is not None and inner.known_nonempty(v, seen | {f"{name}()"}) for v in returns)

    def _name_nonempty(self, name: str, seen: frozenset[str]) -> bool:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.bindings:
                values = scope.bindings[name]
                return all(v is not None and scope.known_nonempty(v, seen) for v in values)
            scope = scope.outer
        return False

    def says_nonempty(self, claim: ast.AST, data: ast.AST) -> bool:
        """Whether ``claim`` (one ``and`` operand of an assert) says ``data`` is not empty."""
        if _about(claim, data):
            return True
        for subject, operator, other in _comparisons(claim):
            if _call_name(subject) == "len" and len(subject.args) == 1 and _about(subject.args[0], data):
                if _positive(operator, _literal_number(other)):
                    return True
                if isinstance(operator, ast.Gt) and _call_name(other) == "len":
                    return True
            if isinstance(operator, ast.Eq) and _about(subject, data) and self.known_nonempty(other):
                return True
            if isinstance(operator, ast.In) and _about(other, data):
                return True
            if isinstance(operator, (ast.GtE, ast.Gt)) and _about(subject, data) and self.known_nonempty(other):
                return True  # a superset of something non-empty
        return False

    def unsaid(self, node: ast.AST, claims: list[ast.AST]) -> list[ast.AST]:
        """The parts of the iterable ``node`` that may be empty, with no claim that they are not."""
        if self.known_nonempty(node) or any(self.says_nonempty(claim, node) for claim in claims):
            return []
        name = _call_name(node)
        if name in PASS_THROUGH and node.args and _passes_through(node):
            if name not in ALL_OF:
                return self.unsaid(node.args[0], claims)
            each = [self.unsaid(a, claims) for a in node.args]
            if _strict(node) and any(not parts for parts in each):
                return []  # zip(..., strict=True) raises unless all are as long as the non-empty one
            return [part for parts in each for part in parts]
        head = _head(node)
        if head is not None:
            return self.unsaid(head, claims)
        concatenation = isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)
        if concatenation and (not self.unsaid(node.left, claims) or not self.unsaid(node.right, claims)):
            return []  # a + b holds all of a and of b
        dict_view = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DICT_VIEWS
        if dict_view and not node.args:
            return self.unsaid(node.func.value, claims)
        return [node]


def _passes_through(call: ast.Call) -> bool:
    """A wrapper call with only the keywords that keep its items (``strict``, ``start``, ``key``, ``reverse``)."""
    name = _call_name(call)
    positional = len(call.args) == 1 or name in ALL_OF or (name == "enumerate" and len(call.args) == 2)
    return positional and all(k.arg in PASS_KEYWORDS for k in call.keywords)


def _strict(call: ast.Call) -> bool:
    return any(k.arg == "strict" and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords)


def _at_least_one(node: ast.AST) -> bool:
    """``range``'s one argument: a literal ≥ 1, an UPPER_CASE constant of the code (taken as ≥ 1), or a sum of those."""
    number = _literal_number(node)
    if number is not None:
        return number >= 1
    if isinstance(node, ast.Name):
        return node.id.isupper()
    if isinstance(node, ast.Attribute):
        return node.attr.isupper()
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
        return _at_least_one(node.left) and _at_least_one(node.right)
    return False


def _literal_range(arguments: list[ast.expr]) -> bool:
    numbers = [_literal_number(a) for a in arguments]
    if not arguments or any(not isinstance(n, int) for n in numbers):
        return False
    return len(range(*numbers)) > 0


def _targets(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return [node.target]
    if isinstance(node, ast.AugAssign):
        return [node.target]
    if isinstance(node, ast.NamedExpr):
        return [node.target]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return [item.optional_vars for item in node.items if item.optional_vars is not None]
    return []


def _conjuncts(test: ast.AST) -> list[ast.AST]:
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return [c for value in test.values for c in _conjuncts(value)]
    return [test]


def _says_counted(claim: ast.AST, counter: str) -> bool:
    """Whether ``claim`` says the number ``counter`` is at least 1: ``n``, ``n >= k``, ``n == k``, ``n > j``."""
    if isinstance(claim, ast.Name) and claim.id == counter:
        return True
    return any(
        isinstance(subject, ast.Name) and subject.id == counter and _positive(operator, _literal_number(other))
        for subject, operator, other in _comparisons(claim)
    )


def _comparisons(claim: ast.AST) -> Iterator[tuple[ast.AST, ast.cmpop, ast.AST]]:
    """Each comparison of ``claim`` (chained ones too), both ways round: ``a < b`` gives ``(a, <, b)`` and ``(b, >, a)``."""
    if not isinstance(claim, ast.Compare):
        return
    sides = [claim.left, *claim.comparators]
    for left, op, right in zip(sides, claim.ops, sides[1:], strict=False):
        yield left, op, right
        yield right, _mirror(op), left


def _counters(loop: ast.For | ast.AsyncFor) -> set[str]:
    """The names the loop's body adds to (``n += ...``)."""
    body = ast.Module(body=loop.body, type_ignores=[])
    return {
        node.target.id
        for node in _own_nodes(body)
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and isinstance(node.target, ast.Name)
    }


def _about(node: ast.AST, data: ast.AST) -> bool:
    """Whether ``node`` is empty only when ``data`` is: ``data`` itself, ``data`` in one of
    :data:`EQUAL_WRAPPERS`, or a comprehension whose first ``for`` is over ``data``."""
    if _same(node, data):
        return True
    if _call_name(node) in EQUAL_WRAPPERS and len(node.args) == 1:
        return _about(node.args[0], data)
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        return _same(node.generators[0].iter, data)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        return _about(node.value, data)  # a part of data is empty when data is
    return False


def _head(node: ast.AST) -> ast.AST | None:
    """``E`` when ``node`` is ``E[:k]`` (``k`` a literal ≥ 1) or ``E[:]``: not empty when ``E`` is not."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice)):
        return None
    part = node.slice
    upper = None if part.upper is None else _literal_number(part.upper)
    if part.lower is None and part.step is None and (part.upper is None or (upper is not None and upper >= 1)):
        return node.value
    return None


def _mirror(op: ast.cmpop) -> ast.cmpop:
    """``a op b`` as ``b op' a``."""
    flipped = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}
    return flipped.get(type(op), type(op))()


def _positive(op: ast.cmpop, number: int | float | None) -> bool:
    """Whether ``len(E) op number`` makes ``len(E)`` at least 1."""
    if number is None:
        return False
    if isinstance(op, ast.Eq):
        return number >= 1
    if isinstance(op, ast.GtE):
        return number > 0
    if isinstance(op, ast.Gt):
        return number >= 0
    return False


def _checked_comprehensions(test: ast.AST) -> Iterator[ast.comprehension]:
    """The ``for`` parts of ``all(<comprehension>)`` and ``not any(<comprehension>)`` in an assert's test."""
    for node in ast.walk(test):
        call = None
        if _call_name(node) == "all":
            call = node
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and _call_name(node.operand) == "any":
            call = node.operand
        if call is not None and len(call.args) == 1:
            argument = call.args[0]
            if isinstance(argument, (ast.GeneratorExp, ast.ListComp, ast.SetComp)):
                yield from argument.generators


def _asserts_in_body(loop: ast.For | ast.AsyncFor) -> bool:
    body = ast.Module(body=loop.body, type_ignores=[])
    return any(isinstance(node, ast.Assert) for node in _own_nodes(body))


def _source(node: ast.AST) -> str:
    return ast.unparse(node)


def findings_in(source: str, path: str = "<string>") -> list[Finding]:
    """Every loop over data in ``source`` that asserts inside without a non-empty assertion before."""
    tree = ast.parse(source)
    lines = source.splitlines()
    module = _Scope(tree, "<module>", None)
    found: list[Finding] = []

    def visit(scope: _Scope) -> None:
        for node in _own_nodes(scope.node):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(_Scope(node, node.name, scope))
            elif isinstance(node, ast.ClassDef):
                for method in node.body:
                    if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        visit(_Scope(method, f"{node.name}.{method.name}", scope))
            elif isinstance(node, (ast.For, ast.AsyncFor)) and _asserts_in_body(node):
                if not counted(scope, node):
                    check(scope, node.iter, node.lineno, prior=[])
            elif isinstance(node, ast.Assert):
                operands = _conjuncts(node.test)
                for index, operand in enumerate(operands):
                    for generator in _checked_comprehensions(operand):
                        check(scope, generator.iter, node.lineno, prior=operands[:index])

    def counted(scope: _Scope, loop: ast.For | ast.AsyncFor) -> bool:
        """Whether an assert after the loop says a number the loop adds to is at least 1."""
        after = [c for a in scope.asserts if a.lineno > (loop.end_lineno or loop.lineno) for c in _conjuncts(a.test)]
        return any(_says_counted(claim, name) for name in _counters(loop) for claim in after)

    def check(scope: _Scope, iterable: ast.AST, line: int, prior: list[ast.AST]) -> None:
        if WAIVER.search(lines[line - 1]):
            return
        claims = [c for a in scope.asserts if a.lineno < line for c in _conjuncts(a.test)] + prior
        for part in scope.unsaid(iterable, claims):
            found.append(Finding(path, line, scope.name, _source(part)))

    visit(module)
    return sorted(found, key=lambda f: f.line)


def suite_files() -> list[Path]:
    files = sorted(TESTS.rglob("*.py"))
    assert len(files) > 50, "the test files were not found"
    return files


def all_findings() -> list[Finding]:
    found = []
    for path in suite_files():
        found += findings_in(path.read_text(encoding="utf-8"), path.relative_to(REPO).as_posix())
    return found


# --- the check of the suite ------------------------------------------------------------------------


def test_no_loop_over_data_asserts_without_saying_the_data_is_there():
    flagged = [str(f) for f in all_findings()]
    assert not flagged, "\n".join(flagged)


# --- the checker itself can fail -----------------------------------------------------------------


def flagged(source: str) -> list[str]:
    return [f.data for f in findings_in(source)]


@pytest.mark.parametrize(
    "source, data",
    [
        ("def test_x(rows):\n    for row in rows:\n        assert row.n > 0\n", ["rows"]),
        ("def test_x(db):\n    for row in db.rows():\n        assert row\n", ["db.rows()"]),
        ("def test_x(rows):\n    assert all(r.n > 0 for r in rows)\n", ["rows"]),
        ("def test_x(rows):\n    assert not any(r.bad for r in rows)\n", ["rows"]),
        ("def test_x(rows):\n    assert len(rows) == 0\n    for r in rows:\n        assert r\n", ["rows"]),
        ("def test_x(rows):\n    assert len(rows) >= 0\n    for r in rows:\n        assert r\n", ["rows"]),
        ("def test_x(rows):\n    assert rows == []\n    for r in rows:\n        assert r\n", ["rows"]),
        ("def test_x(rows):\n    for r in rows:\n        assert r\n    assert rows\n", ["rows"]),
        ("def test_x(a, b):\n    assert a\n    for x, y in zip(a, b):\n        assert x == y\n", ["b"]),
        ("def test_x(d):\n    for k, v in sorted(d.items()):\n        assert k != v\n", ["d"]),
        ("def test_x(rows):\n    for r in [*rows]:\n        assert r\n", ["[*rows]"]),
        ("def test_x(links):\n    assert '/a' not in links\n    assert not any('b' in x for x in links)\n", ["links"]),
        ("def test_x():\n    for r in []:\n        assert r\n", ["[]"]),
        ("def test_x(a, b):\n    for r in a + b:\n        assert r\n", ["a + b"]),
        ("def test_x(a):\n    assert a\n    for x in a[1:]:\n        assert x\n", ["a[1:]"]),
        (
            "def test_x(a):\n    assert [s.code for s in a.aspects] == []\n    for s in a.aspects:\n        assert s\n",
            ["a.aspects"],
        ),
        ("def test_x(a):\n    assert [s for s in a.b if s] == [1]\n    for s in a.c:\n        assert s\n", ["a.c"]),
        (
            "def test_x(a):\n    assert {s.code for s in a.items} <= {'x'}\n    assert all(s for s in a.items)\n",
            ["a.items"],
        ),
        ("def test_x():\n    odd = [n for n in range(10) if n % 2]\n    for t in odd:\n        assert t\n", ["odd"]),
        ("def test_x(a):\n    for x, y in itertools.product(a, (1, 2)):\n        assert x\n", ["a"]),
        (
            "def paths(db):\n    if db:\n        return db.all()\n    return ['/']\ndef test_x(db):\n    for p in paths(db):\n        assert p\n",
            ["paths(db)"],
        ),
        ("def paths(db):\n    yield '/'\ndef test_x(db):\n    for p in paths(db):\n        assert p\n", ["paths(db)"]),
        ("def test_x():\n    for r in range(0):\n        assert r\n", ["range(0)"]),
        ("def test_x(a, b):\n    assert a\n    for x, y in zip(a, b, strict=False):\n        assert x\n", ["b"]),
        ("def test_x(rows):\n    for r in rows:  # may be empty\n        assert r\n", ["rows"]),
        (
            "def test_x(rows):\n    n = 0\n    for r in rows:\n        assert r\n        n += 1\n    assert n >= 0\n",
            ["rows"],
        ),
        (
            "def test_x(rows):\n    n = 0\n    assert n\n    for r in rows:\n        assert r\n        n += 1\n",
            ["rows"],
        ),
        ("def test_x(a, b):\n    assert len(a) > len(b)\n    for x in b:\n        assert x\n", ["b"]),
        ("def test_x(rows):\n    for r in rows:  # may be empty: \n        assert r\n", ["rows"]),
        ("def test_x(rows):\n    assert all(x for r in rows for x in r)\n", ["rows", "r"]),
        ("def test_x(h):\n    for part in h.split():\n        assert part\n", ["h.split()"]),
        ("def test_x(rows):\n    assert rows or True\n    for r in rows:\n        assert r\n", ["rows"]),
        ("def test_x(n):\n    for i in range(n):\n        assert i >= 0\n", ["range(n)"]),
        ("NAMES = load()\ndef test_x():\n    for n in NAMES:\n        assert n\n", ["NAMES"]),
        (
            "def test_x(rows):\n    for r in rows:\n        for c in r.cells:\n            assert c\n",
            ["rows", "r.cells"],
        ),
        ("def helper(rows):\n    for r in rows:\n        assert r\n", ["rows"]),
        ("class TestX:\n    def test_x(self, rows):\n        for r in rows:\n            assert r\n", ["rows"]),
        ("def test_x(rows):\n    def check():\n        assert rows\n    for r in rows:\n        assert r\n", ["rows"]),
    ],
)
def test_the_checker_flags_a_loop_that_could_pass_on_nothing(source, data):
    assert flagged(source) == data


@pytest.mark.parametrize(
    "source",
    [
        "def test_x(rows):\n    assert rows\n    for row in rows:\n        assert row.n > 0\n",
        "def test_x(rows):\n    assert rows, 'none'\n    for row in rows:\n        assert row.n > 0\n",
        "def test_x(rows):\n    assert len(rows) == 3\n    for row in rows:\n        assert row\n",
        "def test_x(rows):\n    assert len(rows) > 0 and rows[0]\n    for row in rows:\n        assert row\n",
        "def test_x(rows):\n    assert 2 <= len(rows)\n    for row in rows:\n        assert row\n",
        "def test_x(d):\n    assert d['n'] == len(d['rows']) > 300\n    for r in d['rows']:\n        assert r\n",
        "def test_x(rows):\n    assert sorted(rows) == [1, 2]\n    for r in rows:\n        assert r\n",
        "def test_x(rows):\n    assert rows and all(r.n > 0 for r in rows)\n",
        "def test_x(rows):\n    assert len(rows) == 2\n    assert all(r.n > 0 for r in rows)\n",
        "def test_x(rows):\n    for row in rows:\n        print(row)\n",
        "def test_x(rows):\n    assert any(r.n for r in rows)\n",
        "def test_x():\n    for lang in ('vi', 'en'):\n        assert lang\n",
        "def test_x(a, b):\n    for x in (a, b):\n        assert x\n",
        "def test_x():\n    for i in range(3):\n        assert i < 3\n",
        "def test_x():\n    for i, c in enumerate(sorted('abc')):\n        assert c\n",
        "NAMES = ('a', 'b')\ndef test_x():\n    for n in NAMES:\n        assert n\n",
        "MAP = {'a': 1}\ndef test_x():\n    for k, v in MAP.items():\n        assert v\n",
        "def test_x():\n    paths = ['/a', '/b']\n    for p in paths:\n        assert p\n",
        "def test_x(a, b):\n    assert a and b\n    for x, y in zip(a, b):\n        assert x == y\n",
        "def test_x(d):\n    assert d\n    for k, v in sorted(d.items()):\n        assert k != v\n",
        "def test_x(a, b):\n    assert b\n    for x, y in zip(a, b, strict=True):\n        assert x == y\n",
        "def test_x(a):\n    b = {'x': 1}\n    assert set(a) == set(b)\n    for x in a:\n        assert x\n",
        "def test_x(a, b):\n    assert 0 < len(a) < len(b)\n    for x in b:\n        assert x\n",
        "def test_x(rows):\n    n = 0\n    for r in rows:\n        assert r\n        n += 1\n    assert n >= 2\n",
        "def test_x(rows):\n    for i, r in enumerate(rows, 1):  # may be empty: a page may have none\n        assert r\n",
        "def test_x(q):\n    for label in ['2025', *q]:\n        assert label\n",
        "def test_x(en):\n    for n in ('1.0', '2.0') if en else ('1,0', '2,0'):\n        assert n\n",
        "def test_x(h):\n    for part in h.split(';'):\n        assert part\n",
        "def test_x(rows):\n    for r in [1] + rows:\n        assert r\n",
        "def test_x():\n    times = [str(n) for n in range(10)]\n    for t in times:\n        assert t\n",
        "def test_x(a):\n    assert a\n    for x, y in itertools.product(a, (1, 2)):\n        assert x\n",
        "def test_x(a, b):\n    assert b\n    for x in a + b:\n        assert x\n",
        "NAMES = ('a', 'b', 'c')\ndef test_x():\n    for n in NAMES[:2]:\n        assert n\n",
        "def test_x(a):\n    assert {1} < set(a)\n    for x in a:\n        assert x\n",
        "def test_x(a):\n    assert [p.text for p in a][:2] == ['x', 'y']\n    for x in a[:2]:\n        assert x\n",
        "def test_x(links):\n    assert '/a' in links\n    assert not any('b' in x for x in links)\n",
        "def test_x(a):\n    assert [s.code for s in a.aspects] == ['x', 'y']\n    for s in a.aspects:\n        assert s\n",
        "def test_x(a):\n    assert {'x'} <= {s.code for s in a.items}\n    assert all(s for s in a.items)\n",
        "def test_x(new):\n    assert Counter(u.kind for u in new) == {'ward': 8}\n    assert all(u for u in new)\n",
        "def paths(db):\n    return ['/', f'/u/{db}']\ndef test_x(db):\n    for p in paths(db):\n        assert p\n",
        "def test_x():\n    for i in range(LIMIT + 2):\n        assert i >= 0\n",
        "def test_x():\n    for i in range(1, 4):\n        assert i\n",
        "def test_x():\n    assert {'a': 1}\n    for k in {**OTHER, 'a': 1}:\n        assert k\n",
    ],
)
def test_the_checker_accepts_a_loop_over_known_data(source):
    assert flagged(source) == []
