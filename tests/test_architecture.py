"""The package's layering, checked from its source (docs/architecture.md, "Layers"):
nothing in `sandbox/` imports a layer above it, `executors/` imports only `sandbox/`, no module
imports one that imports it back, and only the store speaks SQL."""

from __future__ import annotations

import ast
from pathlib import Path

import selftaught

PACKAGE = Path(selftaught.__file__).parent


def _module_name(path: Path) -> str:
    parts = ["selftaught", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(name: str, modules: set[str]) -> str | None:
    """The longest prefix of `name` that is a module of the package (a.b.c -> a.b)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports, anywhere in its body (lazy imports count)."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                wanted = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                # `from pkg import sub` imports the submodule; `from pkg import name`, pkg.
                wanted = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            else:
                continue
            for target in wanted:
                found = _resolve(target, modules)
                if found and found != name and found.startswith("selftaught"):
                    targets.add(found)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_known_edges():
    graph = import_graph()
    assert "selftaught.sandbox.api" in graph["selftaught.handles"]
    assert "selftaught.sandbox.proxies" in graph["selftaught.sandbox.child"]


def test_nothing_in_the_sandbox_imports_a_layer_above_it():
    upward = {
        (name, target)
        for name, targets in import_graph().items()
        if name.startswith("selftaught.sandbox")
        for target in targets
        if not target.startswith("selftaught.sandbox")
    }
    assert upward == set()


def test_the_executors_import_only_the_sandbox():
    """What a cluster node runs (executors/) needs the sandbox and nothing of the host."""
    upward = {
        (name, target)
        for name, targets in import_graph().items()
        if name.startswith("selftaught.executors")
        for target in targets
        if not target.startswith(("selftaught.executors", "selftaught.sandbox"))
    }
    assert upward == set()


def test_no_import_cycles():
    assert _cycles(import_graph()) == []


def test_only_the_store_speaks_sql():
    speakers = sorted(
        _module_name(path)
        for path in PACKAGE.rglob("*.py")
        if "sqlite3" in path.read_text(encoding="utf-8")
    )
    assert speakers and all(name.startswith("selftaught.store") for name in speakers), speakers
