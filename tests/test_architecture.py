"""The package's layering, checked from its source (docs/architecture.md, "Layers"):
nothing in `sandbox/` imports a layer above it, `executors/` imports only `sandbox/`, the two
faces (`cli/`, `api/`) stand on the launch layer and never on each other, no module imports one
that imports it back, and only the store speaks SQL: the benchmarks and the tests read runs
through it too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import ROOT

import selftaught

PACKAGE = Path(selftaught.__file__).parent
# The only test files that open a run database with sqlite3 itself, and what each builds that
# no selftaught command writes; every other test reads runs through the store's reader.
RAW_SQLITE_TESTS = {
    "tests/models/report_runs.py": "a killed run's deleted rows; thousands of events at once",
    "tests/report/test_report.py": "a database with tables missing",
    "tests/store/test_schema_versions.py": "a run as schema version 2 wrote it (no node column)",
    "tests/test_listing.py": "a killed STOP run relabelled as a comparison",
    "tests/test_reliability_errors.py": "a meta value that is not JSON",
    "tests/test_secret_seeds.py": "a finished run made to look killed before t = 0",
}


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


def doc_layers() -> dict[str, int]:
    """docs/architecture.md's "Layers" list: each module or package it names (`stop.py` ->
    "stop", `lm/` -> "lm", `__init__.py` -> "__init__") and its layer, from 1 at the bottom."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    layers: dict[str, int] = {}
    for number, item in re.findall(r"^(\d+)\. (.*?)(?=^\d+\. |^$)", section, re.M | re.S):
        for name in re.findall(r"`(\w+)(?:\.py|/)`", item):
            assert layers.get(name, int(number)) == int(number), f"{name} in two layers"
            layers[name] = int(number)
    return layers


def _unit(module: str) -> str:
    """The top-level module or package of the package that `module` belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_the_layer_list_names_every_module():
    units = {_unit(name) for name in import_graph()}
    layers = doc_layers()
    assert units - set(layers) == set(), "modules docs/architecture.md's layers leave out"
    assert set(layers) - units == set(), "modules docs/architecture.md names that do not exist"


def test_every_import_runs_down_the_layers_the_doc_states():
    layers, graph = doc_layers(), import_graph()
    upward = sorted(
        f"{name} (layer {layers[_unit(name)]}) imports {target} (layer {layers[_unit(target)]})"
        for name, targets in graph.items()
        for target in targets
        if layers[_unit(target)] > layers[_unit(name)]
    )
    assert upward == []
    bottom = {n: t for n, t in graph.items() if layers[_unit(n)] == 1 and t}
    assert bottom == {}, "layer 1 imports nothing of the package"


def test_the_doc_layers_are_read_as_written():
    layers = doc_layers()
    assert layers["records"] == 1 and layers["cli"] == 7 and layers["sandbox"] == 2
    assert layers["stop"] > layers["improvers"] > layers["store"] > layers["sandbox"]


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


def _imports_between(importers: str, imported: tuple[str, ...]) -> set[tuple[str, str]]:
    """(module, target) for every import by a module of package `importers` of one of
    `imported` (lazy imports inside functions count)."""
    return {
        (name, target)
        for name, targets in import_graph().items()
        if name == importers or name.startswith(importers + ".")
        for target in targets
        if target.startswith(imported)
    }


def test_the_api_imports_nothing_of_the_command_line():
    """The API stands on the launch layer, as the command does: nothing it needs is the
    command's (issue 29: it imported `selftaught.cli` in 9 places, 4 of them private names)."""
    assert _imports_between("selftaught.api", ("selftaught.cli",)) == set()


def test_the_command_line_imports_nothing_of_the_api():
    assert _imports_between("selftaught.cli", ("selftaught.api",)) == set()


def test_the_launch_layer_imports_neither_face():
    faces = ("selftaught.cli", "selftaught.api")
    assert _imports_between("selftaught.launch", faces) == set()
    assert {"selftaught.launch.settings", "selftaught.launch.options"} <= {
        target for _, target in _imports_between("selftaught.cli", ("selftaught.launch",))
    }  # the check sees the faces' real imports
    assert "selftaught.launch.options" in {
        target for _, target in _imports_between("selftaught.api", ("selftaught.launch",))
    }


def test_no_import_cycles():
    assert _cycles(import_graph()) == []


def test_only_the_store_speaks_sql():
    speakers = sorted(
        _module_name(path)
        for path in PACKAGE.rglob("*.py")
        if "sqlite3" in path.read_text(encoding="utf-8")
    )
    assert speakers and all(name.startswith("selftaught.store") for name in speakers), speakers


def _imports_sqlite3(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name == "sqlite3" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "sqlite3":
            return True
    return False


# A peer's own database is not a run of ours: peer_runs.py reads ShinkaEvolve's programs.sqlite.
PEER_DATABASES = {"peer_runs.py"}


def test_the_benchmarks_read_runs_through_the_store():
    raw = [p.name for p in (ROOT / "benchmarks").rglob("*.py") if _imports_sqlite3(p)]
    assert sorted(set(raw) - PEER_DATABASES) == []


def test_tests_read_runs_through_the_store_unless_they_build_a_damaged_one():
    files = (ROOT / "tests").rglob("*.py")
    raw = {p.relative_to(ROOT).as_posix() for p in files if _imports_sqlite3(p)}
    assert raw == set(RAW_SQLITE_TESTS)  # a new raw reader fails, and so does a stale entry
    for name in RAW_SQLITE_TESTS:  # each connection says what it builds
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            assert "sqlite3.connect(" not in line or "# raw:" in line, (name, line)


def _llama_constructions(path: Path) -> list[tuple[int, bool]]:
    """(line, inside `with unrepacked_weights():`) of every `Llama(...)` call in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, bool]] = []

    def visit(node: ast.AST, unrepacked: bool) -> None:
        if isinstance(node, ast.With):
            calls = [item.context_expr for item in node.items]
            unrepacked = unrepacked or any(
                isinstance(c, ast.Call) and getattr(c.func, "id", None) == "unrepacked_weights"
                for c in calls
            )
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name == "Llama":
                found.append((node.lineno, unrepacked))
        for child in ast.iter_child_nodes(node):
            visit(child, unrepacked)

    visit(tree, False)
    return found


def test_every_model_load_goes_through_the_one_unrepacked_loader():
    """llama.cpp's repacked weights segfault on Intel Xeons with AMX and change samples with the
    batch width: a `Llama(...)` anywhere but `lm.llamacpp.load_llama` would load them so."""
    loader = ROOT / "src" / "selftaught" / "lm" / "llamacpp.py"
    everywhere = {}
    for folder in ("src", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            if ".venv" not in path.parts and (found := _llama_constructions(path)):
                everywhere[path] = found
    assert list(everywhere) == [loader], sorted(str(p.relative_to(ROOT)) for p in everywhere)
    assert [unrepacked for _, unrepacked in everywhere[loader]] == [True]
