"""The layout keeps its plan: dependencies point one way, and each package says what it is for."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterable
from pathlib import Path

import pytest

from .conftest import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "roleplay"
ROLES = ["backends", "call", "cli", "judge", "measure", "storage", "team", "ui", "understanding", "voice"]


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _runtime_imports(path: Path) -> set[str]:
    """The roleplay modules ``path`` imports when it runs (imports inside functions included;
    those under ``if TYPE_CHECKING:`` only serve annotations and never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree)
                   if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
                   for stmt in node.body for n in ast.walk(stmt)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("roleplay"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {name for name in found if name in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in list(graph):
        if v not in index:
            visit(v)
    return groups


def _edges() -> Iterable[tuple[str, str]]:
    for name, path in MODULES.items():
        for dep in _runtime_imports(path) - {name}:
            # a package's face importing its own modules is how it re-exports them
            if not dep.startswith(name + "."):
                yield name, dep


def _top(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph: dict[str, set[str]] = {}
    for a, b in _edges():
        graph.setdefault(a, set()).add(b)
    assert _cycles(graph) == []


def test_no_package_depends_on_one_that_depends_on_it() -> None:
    graph: dict[str, set[str]] = {}
    for a, b in _edges():
        if _top(a) != _top(b):
            graph.setdefault(_top(a), set()).add(_top(b))
    assert _cycles(graph) == []


def test_the_app_never_depends_on_the_measuring_tools() -> None:
    users = sorted({_top(a) for a, b in _edges() if _top(b) == "roleplay.measure"} - {"roleplay.measure"})
    assert users == ["roleplay.cli", "roleplay.studio", "roleplay.ui"]  # the commands and the studio's trials


@pytest.mark.parametrize("role", ROLES)
def test_each_package_says_what_it_is_for_and_exports_what_it_names(role: str) -> None:
    face = importlib.import_module(f"roleplay.{role}")
    assert face.__doc__ and len(face.__doc__.split()) >= 8, f"roleplay/{role}/__init__.py needs a docstring"
    for name in getattr(face, "__all__", []):
        assert hasattr(face, name), f"roleplay.{role} names {name} in __all__ but has no such thing"


#: A module a reader can hold in their head: longer ones are split by what they are for.
MAX_MODULE_LINES = 400


def test_no_module_is_longer_than_a_reader_can_hold() -> None:
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these by what they are for (at most {MAX_MODULE_LINES} lines): {long}"
