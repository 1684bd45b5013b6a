"""Tasks and models given as Python objects, recorded as the specs the CLI takes.

A run records where its task and model come from, so that `selftaught resume` (or the API's
`resume`) finds them again in another process. An object is recorded by the module-level name
it has: `/abs/file.py:NAME` for a top-level module or a script (`__main__`), `package.module:NAME`
for a module inside a package. In this process the loaders then hand back the very object
given (`selftaught.user_code`: a file already imported is not imported again). What has no
such name (a lambda, a closure, an object made inline, anything defined in a notebook or the
interactive prompt) cannot be found again and is refused with the fix.

Tasks are loaded in the host either way: sandboxed children only ever receive a solution's
source and an instance's inputs, never the task.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from selftaught.api.errors import SelftaughtError

WHY = "a run records where to find it, so that it can resume"


def task_spec(task: Any) -> str | None:
    """A `--task` value from a spec, a path, a task object or class, or a list of them."""
    if task is None or isinstance(task, str):
        return task
    if isinstance(task, os.PathLike):
        return os.fspath(task)
    if isinstance(task, list | tuple):
        return ",".join(str(task_spec(one)) for one in task)
    if not (hasattr(task, "score") and hasattr(task, "instance")):
        raise SelftaughtError(
            f"task={task!r} is neither a task spec (a name or a path) nor a task object "
            "(a selftaught.Task, with instance(seed) and score(instance, output))"
        )
    return object_spec(task, "task")


def model_spec(model: Any) -> str | None:
    """A `--model` value from a spec or from a function fn(system, user, n, temperature)."""
    if model is None or isinstance(model, str):
        return model
    if not callable(model):
        raise SelftaughtError(
            f"model={model!r} is neither a model spec (see `selftaught models`) nor a function "
            "fn(system, user, n, temperature) -> list of n strings"
        )
    return "python:" + object_spec(model, "model function")


def object_spec(obj: Any, what: str) -> str:
    """`/abs/file.py:NAME` or `package.module:NAME` of `obj`, or SelftaughtError saying why
    there is none."""
    label = getattr(obj, "__qualname__", None) or type(obj).__name__
    for module in _candidate_modules(obj):
        name = _name_in(module, obj)
        if name is None:
            continue
        if "." in module.__name__ and importlib.util.find_spec(module.__name__) is not None:
            return f"{module.__name__}:{name}"
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and file.endswith(".py") and os.path.isfile(file):
            return f"{os.path.realpath(file)}:{name}"
        raise SelftaughtError(
            f"the {what} {label} is defined in {module.__name__!r}, which has no .py file "
            f"(a notebook or the interactive prompt?); {WHY}: define it in a .py file and "
            "import it from there"
        )
    raise SelftaughtError(
        f"the {what} {label} is not a module-level name of any module; {WHY}: assign it "
        "at the top level of a .py file (NAME = ... or def NAME) and pass that"
    )


def _candidate_modules(obj: Any) -> Iterable[ModuleType]:
    """Its own module first, then the script, then every other module."""
    first = [sys.modules.get(getattr(obj, "__module__", None) or ""), sys.modules.get("__main__")]
    seen: set[int] = set()
    for module in [*first, *list(sys.modules.values())]:
        if isinstance(module, ModuleType) and id(module) not in seen:
            seen.add(id(module))
            yield module


def _name_in(module: ModuleType, obj: Any) -> str | None:
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(qualname, str) and qualname.isidentifier():
        if getattr(module, qualname, None) is obj:
            return qualname
    for name, value in list(vars(module).items()):
        if value is obj and name.isidentifier() and not name.startswith("__"):
            return name
    return None
