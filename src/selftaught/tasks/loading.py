"""User tasks: `resolve_task(spec)` and `describe_tasks()`.

A spec is, in this order: a built-in task name; `FILE.py:NAME` (the object NAME of a task
file); a path (a task file `*.py`, or a directory
holding OpenEvolve's `evaluator.py` + `initial_program.py`); an entry point of the
`selftaught.tasks` group; an importable module, optionally `module:attribute`.

Two forms of task:

- native: the `Task` protocol (`selftaught.tasks.base`). A task file or module exposes it as
  `TASK` (an object, or a class / factory called with no arguments); an entry point points at
  the same. Instances are made in the host, the child returns outputs, the task's `score`
  validates and scores them in the host.
- evaluator form: a file defining `evaluate(program_path)` (OpenEvolve / ShinkaEvolve), with
  `initial_program.py` beside it (or `INITIAL_PROGRAM = "path"` in the file); see
  `selftaught.tasks.evaluator_form` for how it runs and how far its score can be trusted.

The user's task file is trusted user code: it is imported in the host. Every user task is
wrapped in `CheckedTask`, which checks the protocol on load, and, on every score, that the
scorer returned a number in [0, 1] (a `TaskError` otherwise: that is the task's bug) and turns
a scorer exception on a candidate's output into a 0 for that instance. With `check=True` (the
default) loading also generates the first val instance twice (determinism, plain-JSON inputs),
runs the seed solution on it inside the sandbox the run uses (`seed_check` keeps its score),
requires the task's own validator to accept the seed's output, and probes the scorer with
junk outputs.
Every problem is a `TaskError` with one line saying what is wrong and how to fix it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import json
import keyword
import math
import os
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selftaught.tasks.base import Instance, Task, TaskError, child_program
from selftaught.tasks.evaluator_form import FORMS, EvaluatorTask, read_config
from selftaught.tasks.registry import SUMMARIES, TASKS, get_task, task_names
from selftaught.user_code import import_file

ENTRY_POINT_GROUP = "selftaught.tasks"
ATTRIBUTES = ("name", "entry", "seed_solution", "description", "instance_seconds", "array_args",
              "splits")  # fmt: skip
EXAMPLES = "see examples/tasks/"
_JUNK: tuple[Any, ...] = (None, "", "x", [], [[]], {}, {"k": 1}, 0, -1, 1e308, [1e308, -1e308])


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def _error_text(exc: BaseException) -> str:
    return _one_line(f"{type(exc).__name__}: {exc}", 200)


# --- finding the task -------------------------------------------------------------------------


def resolve_task(
    spec: str, *, check: bool = True, show_evaluator: bool = False, sandbox: Any = None
) -> Task:
    """A task from a registry name, a file or directory path, an entry point or a module.

    `show_evaluator`: an evaluator-form task shows the model its evaluator's source too
    (by default only a description: the source may hold the answer). `check` runs the seed
    on one instance inside `sandbox` (the run's, else a fresh one); see `CheckedTask`."""
    if spec in TASKS:
        return get_task(spec)
    if (named := _from_file_attribute(spec)) is not None:
        return checked(named, spec, check=check)
    path = Path(spec).expanduser()
    if spec.endswith(".py") or os.sep in spec or path.exists():
        if not path.exists():
            raise TaskError(f"task file {spec} does not exist; give a task name, .py file or dir")
        options = {"show_evaluator": True} if show_evaluator else {}
        task, origin = _from_path(path, options), str(path)
    else:
        task, origin = _from_installed(spec), spec
    return checked(task, origin, check=check, sandbox=sandbox)


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
    except Exception as exc:  # noqa: BLE001 - any failure of user code is a TaskError
        raise TaskError(f"task file {path} failed to import: {_error_text(exc)}") from None


def _from_file_attribute(spec: str) -> Any | None:
    """`FILE.py:NAME`: the object NAME of a task file (how the Python API records a task
    defined in a script); None when `spec` has not that form."""
    file, sep, attribute = spec.rpartition(":")
    if not (sep and file.endswith(".py") and attribute.isidentifier()):
        return None
    path = Path(file).expanduser()
    if not path.is_file():
        raise TaskError(f"task file {file} does not exist; give a task name, .py file or dir")
    module = _import_task_file(path)
    if not hasattr(module, attribute):
        raise TaskError(f"task file {file} has no attribute {attribute!r}")
    return _instantiate(getattr(module, attribute), spec)


def _top_level(path: Path) -> dict[str, ast.AST]:
    """The file's top-level definitions and assignments by name (it is not imported)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (SyntaxError, ValueError, UnicodeDecodeError) as exc:
        raise TaskError(f"{path} is not valid Python: {_error_text(exc)}") from None
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
    except TypeError as exc:
        raise TaskError(f"{evaluator}: bad SELFTAUGHT_OPTIONS: {_error_text(exc)}") from None


def _from_module(module: types.ModuleType, origin: str) -> Any:
    if hasattr(module, "TASK"):
        return _instantiate(module.TASK, origin)
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
            except Exception as exc:  # noqa: BLE001
                raise TaskError(
                    f"entry point {spec!r} ({point.value}) failed to load: {_error_text(exc)}"
                ) from None
            return _instantiate(loaded, f"entry point {spec!r}")
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if getattr(exc, "name", None) == module_name.split(".")[0]:  # not there at all
            raise TaskError(
                f"unknown task {spec!r}: not a built-in task ({', '.join(task_names())}), a .py "
                f"file, a directory, an installed module or a {ENTRY_POINT_GROUP!r} entry point"
            ) from None
        message = f"task module {module_name!r} failed to import: {_error_text(exc)}"
        raise TaskError(message) from None
    except Exception as exc:  # noqa: BLE001
        message = f"task module {module_name!r} failed to import: {_error_text(exc)}"
        raise TaskError(message) from None
    if attribute:
        if not hasattr(module, attribute):
            raise TaskError(f"module {module_name!r} has no attribute {attribute!r}")
        return _instantiate(getattr(module, attribute), spec)
    return _from_module(module, f"module {module_name!r}")


def _instantiate(obj: Any, origin: str) -> Any:
    """A task object from an object, a class, a factory or a module."""
    if isinstance(obj, types.ModuleType):
        return _from_module(obj, origin)
    if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "score")):
        try:
            return obj()
        except Exception as exc:  # noqa: BLE001
            raise TaskError(f"{origin}: making the task failed: {_error_text(exc)}") from None
    return obj


# --- checking it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedCheck:
    """What loading found: the seed's score on the first val instance, in the sandbox."""

    score: float
    instance_seed: int
    layers: list[str]


class CheckedTask:
    """A user task behind checks: protocol on load, [0, 1] on every score."""

    seed_check: SeedCheck | None = None
    last_layers: list[str] = []

    def __init__(self, task: Any, origin: str):
        self.inner = task
        self.origin = origin
        for attribute in ATTRIBUTES:
            setattr(self, attribute, getattr(task, attribute))

    def __getattr__(self, attribute: str) -> Any:  # wrap_solution, summary, ...
        if attribute in ("inner", "seed_check", "last_layers"):
            raise AttributeError(attribute)
        return getattr(self.inner, attribute)

    def instance(self, seed: int) -> Instance:
        made = self.inner.instance(seed)
        if not isinstance(made, Instance) or not isinstance(made.inputs, list):
            raise TaskError(
                f"task {self.name!r}: instance({seed}) must return Instance(inputs=[...], "
                f"answer=...), got {type(made).__name__}"
            )
        return made

    def score(self, instance: Instance, output: Any) -> tuple[float, str | None]:
        try:
            result = self.inner.score(instance, output)
        except Exception as exc:  # noqa: BLE001 - a candidate's odd output costs one instance
            return 0.0, f"the task's scorer raised {_error_text(exc)}"
        ok = isinstance(result, tuple) and len(result) == 2
        value, reason = result if ok else (None, None)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        # An evaluator-form task scores on its evaluator's own scale (see evaluator_form).
        own = getattr(self.inner, "own_scale", False)
        if not (ok and number and math.isfinite(value) and (own or 0.0 <= value <= 1.0)):
            raise TaskError(
                f"task {self.name!r} ({self.origin}): score() returned "
                f"{_one_line(repr(result), 80)}; it must return (a number in [0, 1], "
                "a reason str or None)"
            )
        if reason is not None and not isinstance(reason, str):
            reason = _one_line(repr(reason))
        return float(value), reason


def checked(task: Any, origin: str, *, check: bool = True, sandbox: Any = None) -> CheckedTask:
    _check_protocol(task, origin)
    wrapped = task if isinstance(task, CheckedTask) else CheckedTask(task, origin)
    if check:
        _check_seed(wrapped, sandbox)
    return wrapped


def _check_protocol(task: Any, origin: str) -> None:
    missing = [a for a in (*ATTRIBUTES, "instance", "score") if not hasattr(task, a)]
    if missing:
        raise TaskError(
            f"{origin}: the task has no {', '.join(missing)}; a task needs name, entry, "
            f"seed_solution, description, instance_seconds, array_args, splits, instance(seed) "
            f"and score(instance, output); {EXAMPLES}"
        )
    problems = []
    if not isinstance(task.name, str) or not task.name:
        problems.append("name must be a non-empty str")
    if (
        not isinstance(task.entry, str)
        or not task.entry.isidentifier()
        or keyword.iskeyword(task.entry)
    ):
        problems.append("entry must be a function name")
    if not isinstance(task.seed_solution, str) or not task.seed_solution.strip():
        problems.append("seed_solution must be Python source (a non-empty str)")
    if not isinstance(task.description, str) or not task.description.strip():
        problems.append("description must be a non-empty str (what the model is shown)")
    seconds = task.instance_seconds
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        problems.append("instance_seconds must be a positive number")
    if not isinstance(task.array_args, bool):
        # The sandbox converts all of an instance's list arguments or none (Sandbox.run_solution).
        problems.append("array_args must be a bool (True: list arguments arrive as numpy arrays)")
    splits = task.splits
    if not isinstance(splits, dict) or not {"val", "test"} <= set(splits):
        problems.append("splits must be a dict with 'val' and 'test' Splits")
    else:
        for key, split in splits.items():
            size, first = getattr(split, "size", None), getattr(split, "first_seed", None)
            if not (isinstance(size, int) and size >= 1 and isinstance(first, int)):
                problems.append(f"splits[{key!r}] must be Split(first_seed: int, size >= 1)")
    if not callable(task.instance) or not callable(task.score):
        problems.append("instance and score must be methods")
    if problems:
        raise TaskError(
            f"{origin}: {problems[0]}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        )


def _check_seed(task: CheckedTask, sandbox: Any = None) -> None:
    seed = task.splits["val"].first_seed
    where = f"task {task.name!r} ({task.origin})"
    try:
        first, again = task.instance(seed), task.instance(seed)
    except TaskError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise TaskError(f"{where}: instance({seed}) raised {_error_text(exc)}") from None
    try:
        encoded = json.dumps(first.inputs, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TaskError(
            f"{where}: instance inputs must be plain JSON data (lists, numbers, str; "
            f"use .tolist() for arrays): {_error_text(exc)}"
        ) from None
    if encoded != json.dumps(again.inputs, allow_nan=False):
        raise TaskError(
            f"{where}: instance({seed}) gave different inputs twice; seed a RandomState with "
            "the instance seed"
        )
    output = _run_seed_sandboxed(task, first, where, sandbox)
    score, reason = task.score(first, output)  # raises TaskError when outside [0, 1]
    if reason is not None:
        hint = ""
        if isinstance(task.inner, EvaluatorTask) and "score_range" in reason:
            hint = "; set score_range=(low, high) in SELFTAUGHT_OPTIONS or EvaluatorTask(...)"
        raise TaskError(
            f"{where}: the seed solution fails the task's own validator on instance {seed}: "
            f"{_one_line(reason, 160)}{hint or '; fix the seed solution or score()'}"
        )
    for junk in _JUNK:
        task.score(first, junk)  # any value outside [0, 1] raises TaskError
    task.seed_check = SeedCheck(score, task.splits["val"].first_seed, list(task.last_layers))


def _run_seed_sandboxed(task: CheckedTask, instance: Instance, where: str, sandbox: Any) -> Any:
    """The seed solution on one instance, inside the sandbox a run would use (`sandbox`, or
    a fresh "auto" one): a task that only fails in there must fail to load."""
    from selftaught.sandbox import Limits, open_sandbox

    seconds = float(task.instance_seconds)
    limits = Limits(seconds + 5.0, seconds + 5.0, profile=getattr(task, "profile", "strict"))
    box = open_sandbox("auto") if sandbox is None else sandbox
    try:
        run = box.run_solution(
            child_program(task, task.seed_solution), task.entry, [instance.inputs],
            instance_seconds=seconds, seed=0, array_args=task.array_args, limits=limits,
        )  # fmt: skip
    finally:
        if sandbox is None:
            box.close()
    outcome = run.outcomes[0]
    task.last_layers = run.layers
    if outcome.status != "ok":
        raise TaskError(
            f"{where}: the seed solution failed in the sandbox on the first val instance "
            f"({outcome.status}): {_one_line(outcome.error or outcome.status, 200)}; fix the "
            "seed solution or the task"
        )
    if outcome.seconds > seconds:
        raise TaskError(
            f"{where}: the seed solution took {outcome.seconds:.1f} s in the sandbox, over "
            f"instance_seconds = {seconds:g}; raise it or speed the seed up"
        )
    return outcome.output


# --- listing ----------------------------------------------------------------------------------


def _is_evaluator(task: Any) -> bool:
    return isinstance(getattr(task, "inner", task), EvaluatorTask)


def _row(name: str, task: Any, kind: str, source: str, summary: str) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,  # builtin | entry_point | file | module
        "form": "evaluator" if _is_evaluator(task) else "native",
        "profile": getattr(task, "profile", "strict"),  # the sandbox's, api.PROFILES
        "source": source,
        "splits": {k: s.size for k, s in task.splits.items()},
        "instance_seconds": task.instance_seconds,
        "summary": summary,
    }


def _summary(task: Any) -> str:
    text = getattr(task, "summary", None) or (type(getattr(task, "inner", task)).__doc__ or "")
    return _one_line(text.strip().splitlines()[0] if text.strip() else "", 120)


def describe_tasks(specs: list[str] | tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """One dict per task: built-ins, installed entry points, and any extra `specs`.

    A task that fails to load is listed with an `error` (its one-line `TaskError`) instead of
    failing the listing. Loading here skips the seed check (`check=False`): listing is cheap.
    """

    rows = []
    for name in task_names():
        task = get_task(name)
        source = type(task).__module__ + "." + type(task).__name__
        rows.append(_row(name, task, "builtin", source, SUMMARIES.get(name, "")))
    wanted: list[tuple[str, str, str]] = [
        (p.name, "entry_point", p.value)
        for p in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    ]
    for spec in specs:
        kind = "file" if (spec.endswith(".py") or os.sep in spec) else "module"
        wanted.append((spec, kind, spec))
    for name, kind, source in wanted:
        try:
            task = resolve_task(name, check=False)
        except TaskError as exc:
            rows.append({"name": name, "kind": kind, "source": source, "error": str(exc)})
            continue
        rows.append(_row(task.name, task, kind, source, _summary(task)))
    return rows
