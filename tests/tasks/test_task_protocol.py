"""The `Task` protocol (tasks/base.py) declares every optional hook the code reads off a task
(issue 29, item 5): each `getattr(task, "NAME", DEFAULT)` in the package names a hook the
protocol declares, typed and with a docstring, and takes its default from it; the evaluator
form, the one task that defines them, spells each as declared."""

from __future__ import annotations

import ast
from pathlib import Path

import selftaught
from selftaught.tasks import base
from selftaught.tasks.base import Task

PACKAGE = Path(selftaught.__file__).parent
# What `tasks/checking.CheckedTask` adds around a user's task: read off a task, never defined
# by one.
CHECKED_TASK = {"inner", "seed_check"}


def _protocol() -> ast.ClassDef:
    tree = ast.parse(Path(base.__file__).read_text(encoding="utf-8"))
    [protocol] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Task"]
    return protocol


def _protocol_hooks(protocol: ast.ClassDef | None = None) -> dict[str, ast.AnnAssign]:
    """The protocol's members that have a default: the optional hooks."""
    hooks = {}
    for node in (protocol or _protocol()).body:
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            hooks[node.target.id] = node  # type: ignore[union-attr]
    return hooks


def _task_reads() -> list[tuple[str, str, str]]:
    """(where, hook, default's source) of every getattr(<a task>, "NAME", ...) in the package."""
    reads = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "getattr"):
                continue
            if len(node.args) < 2 or not isinstance(node.args[1], ast.Constant):
                continue
            target = ast.unparse(node.args[0])
            if target.rpartition(".")[2] in ("task", "inner"):
                default = ast.unparse(node.args[2]) if len(node.args) > 2 else ""
                where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
                reads.append((where, node.args[1].value, default))
    return reads


def test_every_optional_hook_is_declared_typed_and_documented():
    protocol = _protocol()
    hooks = _protocol_hooks(protocol)
    assert set(hooks) == {"profile", "summary", "own_scale", "wrap_solution", "refuse", "splice",
                          "record"}  # fmt: skip
    for hook in hooks.values():
        after = protocol.body[protocol.body.index(hook) + 1]
        assert isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant), hook.target
    assert Task.profile == "strict" and Task.own_scale is False
    assert Task.refuse is None and Task.splice is None and Task.wrap_solution is None


def test_every_hook_read_off_a_task_is_declared_and_takes_the_declared_default():
    hooks = _protocol_hooks()
    reads = _task_reads()
    assert len(reads) >= 10  # the scan sees the reads it is about
    for where, name, default in reads:
        if name in CHECKED_TASK or name.startswith("__"):  # a dunder is Python's, not a hook
            continue
        assert name in hooks, f"{where}: getattr(task, {name!r}) is not in the Task protocol"
        assert default.endswith(f"Task.{name}"), f"{where}: default {default!r}, not Task.{name}"


def test_the_evaluator_form_spells_every_hook_as_declared():
    tree = ast.parse((PACKAGE / "tasks" / "evaluator_form.py").read_text(encoding="utf-8"))
    [form] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "EvaluatorTask"]
    defined = set()
    for node in ast.walk(form):
        if isinstance(node, ast.FunctionDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                defined.add(target.attr if isinstance(target, ast.Attribute) else
                            getattr(target, "id", ""))  # fmt: skip
    assert set(_protocol_hooks()) <= defined
