"""The house rules, read from the code's own imports (every import: top level, inside functions,
under ``TYPE_CHECKING``): layers import downward only, and no module imports itself round a
circle.

    domains  <-  schemas  <-  producers  <-  consumers  <-  infra

``domains/shared`` is the kernel every domain stands on, so it imports no domain folder.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("domains", "schemas", "producers", "consumers", "infra")
KERNEL = "domains.shared"

Graph = dict[str, set[str]]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path, packages: tuple[str, ...] = LAYERS) -> Graph:
    """module -> the project modules it imports (a package import names its __init__)."""
    files = {module_name(p, root): p for pkg in packages for p in (root / pkg).rglob("*.py")}
    graph: Graph = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for imported in _imports(ast.parse(path.read_text(encoding="utf-8")), name, is_package):
            # ``from a.b import c``: the module a.b.c if there is one, else the package a.b
            while imported and imported not in files:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}".strip(".")
            yield from (f"{base}.{alias.name}" for alias in node.names)


def upward_imports(graph: Graph) -> list[str]:
    def layer(module: str) -> int:
        top = module.split(".")[0]
        return LAYERS.index(top) if top in LAYERS else len(LAYERS)

    found = [
        f"{source} -> {target}"
        for source, targets in graph.items()
        for target in targets
        if layer(target) > layer(source)
    ]
    found += [
        f"{source} -> {target} (the kernel imports no domain)"
        for source, targets in graph.items()
        if source.startswith(KERNEL)
        for target in targets
        if target.startswith("domains.") and not target.startswith(KERNEL)
    ]
    return sorted(found)


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_layers_import_downward_only() -> None:
    assert upward_imports(import_graph(ROOT)) == []


def test_no_module_imports_itself_round_a_circle() -> None:
    assert cycles(import_graph(ROOT)) == []


# -- the checks themselves can fail --------------------------------------------------------------


@pytest.fixture
def tiny_house(tmp_path: Path) -> Path:
    files = {
        "domains/__init__.py": "",
        "domains/shared/__init__.py": "",
        "domains/shared/clock.py": "from domains.order import model\n",
        "domains/order/__init__.py": "",
        "domains/order/model.py": "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from domains.order.view import View\n",
        "domains/order/view.py": "from .model import Order\n",
        "producers/__init__.py": "",
        "producers/relay.py": "def late():\n    from infra.wiring import build\n",
        "infra/__init__.py": "",
        "infra/wiring.py": "import producers.relay\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_an_upward_import_inside_a_function_is_caught(tiny_house: Path) -> None:
    graph = import_graph(tiny_house, ("domains", "producers", "infra"))
    assert upward_imports(graph) == [
        "domains.shared.clock -> domains.order.model (the kernel imports no domain)",
        "producers.relay -> infra.wiring",
    ]


def test_a_type_only_and_relative_circle_is_caught(tiny_house: Path) -> None:
    graph = import_graph(tiny_house, ("domains", "producers", "infra"))
    assert cycles(graph) == [
        ["domains.order.model", "domains.order.view"],
        ["infra.wiring", "producers.relay"],
    ]
