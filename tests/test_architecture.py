"""The module map: no import cycle, and the store's private parts stay inside ``workbook/``.

Both checks read the source with :mod:`ast` instead of importing it, so every import counts:
top-level ones, those under ``if TYPE_CHECKING:`` and those inside functions. A cycle
closed through a type-only or an in-function import is still a cycle in the design: the
two modules cannot be understood, tested or moved apart.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import heron_research

pytestmark = pytest.mark.unit

PACKAGE = Path(heron_research.__file__).parent
STORE = PACKAGE / "workbook" / "store.py"


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(root: Path) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    return {_module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    """The dotted names an import statement in ``module`` loads (before filtering)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    if node.level:  # relative: from the module's package, up level - 1 more
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, node.module] if node.module else base)
    else:
        target = node.module or ""
    yield target
    for alias in node.names:  # `from package import submodule` loads the submodule
        yield f"{target}.{alias.name}"


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, counting every import statement.

    ``from package import name`` counts as an import of ``package.name`` when that is a
    module, else of ``package`` itself (its ``__init__``). Loading a submodule also runs its
    parent package's ``__init__``; that implicit step is not an edge (it would make every
    package a cycle with its own modules).
    """
    modules = _modules(root)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            targets = list(_imported(node, name, is_package))
            submodules = [t for t in targets[1:] if t in modules]
            if isinstance(node, ast.ImportFrom) and submodules:
                edges.update(submodules)
                if len(submodules) < len(node.names) and targets[0] in modules:
                    edges.add(targets[0])  # some names come from the package itself
            else:
                edges.update(t for t in targets if t in modules)
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None (depth-first search, fixed order)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_import_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    """Top-level, type-only, in-function and relative imports are all edges, and the cycle
    they close is found; ``from package import submodule`` points at the submodule."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from pkg.a import A\n",
        "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
        "b.py": "def f():\n    from .sub import c\n",
        "sub/__init__.py": "",
        "sub/c.py": "import json\nfrom .. import a\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text, encoding="utf-8")
    graph = import_graph(pkg)
    assert graph == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.b"},  # under TYPE_CHECKING
        "pkg.b": {"pkg.sub.c"},  # in a function, relative, a submodule by name
        "pkg.sub": set(),
        "pkg.sub.c": {"pkg.a"},
    }
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    # and the real package's graph is read: the store is imported by the workbook package
    assert "heron_research.workbook.store" in import_graph()["heron_research.workbook"]


def test_no_import_cycle_counting_type_only_and_in_function_imports() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _workbook_private_names() -> set[str]:
    """The ``_``-prefixed names ``Workbook`` defines: methods, class attributes and the
    attributes its methods set on ``self`` (dunder names excluded)."""
    tree = ast.parse(STORE.read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Workbook")
    names: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node in cls.body:
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node in cls.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            names.add(node.attr)
    return {n for n in names if n.startswith("_") and not n.endswith("__")}


def test_only_workbook_modules_touch_the_stores_private_members() -> None:
    private = _workbook_private_names()
    assert {"_db", "_errors", "_clock"} <= private  # the collection itself works
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent == PACKAGE / "workbook":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in private:
                where = path.relative_to(PACKAGE.parent)
                found.append(f"{where}:{node.lineno}: .{node.attr}")
    assert not found, "outside heron_research/workbook/:\n" + "\n".join(found)
