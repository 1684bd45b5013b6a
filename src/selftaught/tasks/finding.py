"""Finding a task: what a spec names, as a task object not yet checked (`find_task`).

A user's spec is, in this order: `FILE.py:NAME` (the object NAME of a task file); a path (a task
file `*.py`, or a directory holding OpenEvolve's `evaluator.py` + `initial_program.py`,
ShinkaEvolve's `evaluate.py` + `initial.py`, or a `task.py`); an entry point of the
`selftaught.tasks` group; an importable module, optionally `module:attribute`. (Built-in names
come first, from `tasks.registry`: see `loading.resolve_task`.)

A task file or module exposes a native task as `TASK` (an object, or a class / factory called
with no arguments), or is in the evaluator form: it defines `evaluate(program_path)`. The
user's task file is trusted user code: it is imported in the host. An evaluator is never
imported here: it is read as text, and runs only in the sandbox (`tasks.evaluator_form`).
Every problem is a `TaskError` of one line; what a task must satisfy is `tasks.checking`'s.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.metadata
import inspect
import json
import os
import types
from pathlib import Path
from typing import Any

from selftaught.tasks.base import EXAMPLES, TaskError, error_text
from selftaught.tasks.evaluator_form import FORMS, EvaluatorTask, read_config
from selftaught.tasks.registry import TASKS, task_names
from selftaught.user_code import (
    UserFileError,
    file_problem,
    import_file,
    read_bytes,
    read_source,
)

ENTRY_POINT_GROUP = "selftaught.tasks"


def find_task(spec: str, *, show_evaluator: bool = False) -> tuple[Any, str]:
    """The user task `spec` names and where it came from (for messages), unchecked.

    `show_evaluator`: an evaluator-form task shows the model its evaluator's source too (by
    default only a description: the source may hold the answer)."""
    if (named := _from_file_attribute(spec)) is not None:
        return named, spec
    path = Path(spec).expanduser()
    if spec.endswith(".py") or os.sep in spec or path.exists():
        if not path.exists():
            if os.path.lexists(path):  # a link to nowhere, or a loop
                raise TaskError(f"task file {spec} {file_problem(path)}")
            raise TaskError(f"task file {spec} does not exist; give a task name, .py file or dir")
        options = {"show_evaluator": True} if show_evaluator else {}
        return _from_path(path, options), str(path)
    return _from_installed(spec), spec


def _from_path(path: Path, options: dict[str, Any]) -> Any:
    if path.is_dir():
        for evaluator, initial in FORMS.values():  # OpenEvolve's or ShinkaEvolve's layout
            if (path / evaluator).is_file():
                return _evaluator_task(path / evaluator, path / initial, options)
        if (path / "task.py").is_file():
            return _from_path(path / "task.py", options)
        raise TaskError(
            f"{path} holds neither evaluator.py + initial_program.py (OpenEvolve), evaluate.py "
            "+ initial.py (ShinkaEvolve) nor task.py"
        )
    if path.suffix != ".py":
        raise TaskError(f"{path} is not a .py file; a task file is Python defining TASK")
    if _defines_evaluate(path):
        return _evaluator_task(path, None, options)
    return _from_module(_import_task_file(path), str(path))


def _import_task_file(path: Path) -> types.ModuleType:
    name = "selftaught_user_task_" + "".join(c if c.isalnum() else "_" for c in path.stem)
    try:
        return import_file(path, name, fresh=True)
    except SystemExit as exc:  # would end selftaught silently, with the file's exit code
        raise TaskError(
            f"task file {path} called sys.exit({exc.code!r}) while being imported;"
            " a task file defines TASK and must not exit"
        ) from None
    except UserFileError as exc:
        raise TaskError(f"task file {exc}") from None
    except BaseException as exc:  # noqa: BLE001 - even KeyboardInterrupt: one line, not exit 130
        raise TaskError(f"task file {path} failed to import: {error_text(exc)}") from None


def _from_file_attribute(spec: str) -> Any | None:
    """`FILE.py:NAME`: the object NAME of a task file (how the Python API records a task
    defined in a script); None when `spec` has not that form."""
    file, sep, attribute = spec.rpartition(":")
    if not (sep and file.endswith(".py") and attribute.isidentifier()):
        return None
    path = Path(file).expanduser()
    if (problem := file_problem(path)) is not None:
        raise TaskError(f"task file {file} {problem}")
    module = _import_task_file(path)
    if not hasattr(module, attribute):
        raise TaskError(f"task file {file} has no attribute {attribute!r}")
    return instantiate(getattr(module, attribute), spec)


def _top_level(path: Path) -> dict[str, ast.AST]:
    """The file's top-level definitions and assignments by name (it is not imported)."""
    try:
        tree = ast.parse(read_source(path), str(path))
    except UserFileError as exc:
        raise TaskError(f"task file {exc}") from None
    except (SyntaxError, ValueError) as exc:
        raise TaskError(f"{path} is not valid Python: {error_text(exc)}") from None
    names: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = node.value
    return names


def _defines_evaluate(path: Path) -> bool:
    names = _top_level(path)
    return "TASK" not in names and isinstance(names.get("evaluate"), ast.FunctionDef)


def _evaluator_task(evaluator: Path, initial: Path | None, options: dict[str, Any]) -> Any:
    """An evaluator-form task, read without importing the evaluator: it may import packages
    (openevolve, shinka) that only the sandbox provides, and it is run only there."""
    names = _top_level(evaluator)
    for name in ("SELFTAUGHT_OPTIONS", "INITIAL_PROGRAM"):
        if name in names:
            try:
                options = options | {name: ast.literal_eval(names[name])}
            except (ValueError, TypeError, SyntaxError, RecursionError):
                raise TaskError(f"{evaluator}: {name} must be a literal") from None
    settings = options.pop("SELFTAUGHT_OPTIONS", {})
    program = options.pop("INITIAL_PROGRAM", None)
    if not isinstance(settings, dict):
        raise TaskError(f"{evaluator}: SELFTAUGHT_OPTIONS must be a dict")
    initial = evaluator.parent / program if program else initial
    if initial is None:  # a lone file: OpenEvolve's name for the seed, beside it
        initial = evaluator.parent / FORMS["openevolve"][1]
    if not initial.is_file():
        raise TaskError(
            f"{evaluator} is an evaluator but {initial} is missing; put the seed program "
            "there (or set INITIAL_PROGRAM = 'path' in the evaluator)"
        )
    form = next((f for f, (e, _i) in FORMS.items() if e == evaluator.name), "openevolve")
    settings = {"form": form, "config": read_config(evaluator.parent / "config.yaml")} | settings
    try:
        return EvaluatorTask(evaluator, initial, **(settings | options))
    except (TypeError, ValueError, OverflowError) as exc:  # a value of the wrong type
        raise TaskError(f"{evaluator}: bad SELFTAUGHT_OPTIONS: {error_text(exc)}") from None


def _from_module(module: types.ModuleType, origin: str) -> Any:
    if hasattr(module, "TASK"):
        return instantiate(module.TASK, origin)
    if callable(getattr(module, "evaluate", None)) and getattr(module, "__file__", None):
        return _evaluator_task(Path(module.__file__), None, {})
    raise TaskError(
        f"{origin} defines no task: set TASK = <task object> (native form) or define "
        f"evaluate(program_path) (evaluator form); {EXAMPLES}"
    )


def _from_installed(spec: str) -> Any:
    for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if point.name == spec:
            try:
                loaded = point.load()
            except BaseException as exc:  # noqa: BLE001 - sys.exit, KeyboardInterrupt too
                raise TaskError(
                    f"entry point {spec!r} ({point.value}) failed to load: {error_text(exc)}"
                ) from None
            return instantiate(loaded, f"entry point {spec!r}")
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if getattr(exc, "name", None) == module_name.split(".")[0]:  # not there at all
            raise TaskError(
                f"unknown task {spec!r}: not a built-in task ({', '.join(task_names())}), a .py "
                f"file, a directory, an installed module or a {ENTRY_POINT_GROUP!r} entry point"
            ) from None
        message = f"task module {module_name!r} failed to import: {error_text(exc)}"
        raise TaskError(message) from None
    except BaseException as exc:  # noqa: BLE001 - sys.exit, KeyboardInterrupt too
        message = f"task module {module_name!r} failed to import: {error_text(exc)}"
        raise TaskError(message) from None
    if attribute:
        if not hasattr(module, attribute):
            raise TaskError(f"module {module_name!r} has no attribute {attribute!r}")
        return instantiate(getattr(module, attribute), spec)
    return _from_module(module, f"module {module_name!r}")


def instantiate(obj: Any, origin: str) -> Any:
    """A task object from an object, a class, a factory or a module."""
    if isinstance(obj, types.ModuleType):
        return _from_module(obj, origin)
    if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "score")):
        try:
            return obj()
        except BaseException as exc:  # noqa: BLE001 - sys.exit, KeyboardInterrupt too
            raise TaskError(f"{origin}: making the task failed: {error_text(exc)}") from None
    return obj


def source_digest(spec: str, task: Any) -> str | None:
    """A digest of the user's source behind the task `spec` loaded as `task`, so that a resumed
    run notices a hand edit; None for a built-in task (it changes only with selftaught). It
    covers the file the spec names (a directory: its .py and .yaml files), an evaluator form's
    evaluator, seed and settings, and the file that defines a native task's class."""
    if spec in TASKS:
        return None
    inner = getattr(task, "inner", task)  # a checked task wraps the one found
    digest = hashlib.sha256()
    for path in [*_spec_files(spec), *_class_file(inner)]:
        try:
            digest.update(read_bytes(path))
        except UserFileError as exc:  # over the size cap, gone: its problem is the digest
            digest.update(str(exc).encode())
    if isinstance(inner, EvaluatorTask):
        for text in (inner.evaluator_source, inner.seed_solution):
            digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(json.dumps(inner.config, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _spec_files(spec: str) -> list[Path]:
    file, sep, attribute = spec.rpartition(":")
    path = Path(file if sep and file.endswith(".py") and attribute.isidentifier() else spec)
    if path.is_dir():
        return sorted(f for f in path.iterdir() if f.suffix in (".py", ".yaml", ".yml")
                      and f.is_file())  # fmt: skip
    return [path] if path.is_file() else []


def _class_file(task: Any) -> list[Path]:
    """The file defining `task`'s class, unless it is selftaught's own."""
    try:
        file = inspect.getsourcefile(type(task))
    except TypeError:  # a built-in type
        return []
    own = Path(__file__).resolve().parents[1]
    if file is None or Path(file).resolve().is_relative_to(own) or not os.path.isfile(file):
        return []
    return [Path(file)]
