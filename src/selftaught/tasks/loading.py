"""User tasks: `resolve_task(spec)` and `describe_tasks()`.

`resolve_task` gives a built-in task by name (`tasks.registry`); any other spec is found
(`tasks.finding`: a task file, `FILE.py:NAME`, an evaluator directory, an entry point of the
`selftaught.tasks` group, a module) and then checked (`tasks.checking`: the contract, and with
`check=True` the seed, run once in the sandbox). Two forms of task:

- native: the `Task` protocol (`selftaught.tasks.base`). Instances are made in the host, the
  child returns outputs, the task's `score` validates and scores them in the host.
- evaluator form: a file defining `evaluate(program_path)` (OpenEvolve / ShinkaEvolve), with
  `initial_program.py` beside it (or `INITIAL_PROGRAM = "path"` in the file); see
  `selftaught.tasks.evaluator_form` for how it runs and how far its score can be trusted.

Every problem is a `TaskError` with one line saying what is wrong and how to fix it.
"""

from __future__ import annotations

import importlib.metadata
import os
from typing import Any

from selftaught.tasks.base import Task, TaskError, one_line
from selftaught.tasks.checking import checked
from selftaught.tasks.evaluator_form import EvaluatorTask
from selftaught.tasks.finding import ENTRY_POINT_GROUP, find_task
from selftaught.tasks.registry import SUMMARIES, TASKS, get_task, task_names


def resolve_task(
    spec: str, *, check: bool = True, show_evaluator: bool = False, sandbox: Any = None
) -> Task:
    """A task from a registry name, a file or directory path, an entry point or a module.

    `show_evaluator`: an evaluator-form task shows the model its evaluator's source too
    (by default only a description: the source may hold the answer). `check` runs the seed
    on one instance inside `sandbox` (the run's, else a fresh one); see `CheckedTask`."""
    if spec in TASKS:
        return get_task(spec)
    task, origin = find_task(spec, show_evaluator=show_evaluator)
    return checked(task, origin, check=check, sandbox=sandbox)


# --- listing ----------------------------------------------------------------------------------


def _is_evaluator(task: Any) -> bool:
    return isinstance(getattr(task, "inner", task), EvaluatorTask)


def _row(name: str, task: Any, kind: str, source: str, summary: str) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,  # builtin | entry_point | file | module
        "form": "evaluator" if _is_evaluator(task) else "native",
        "profile": getattr(task, "profile", Task.profile),  # the sandbox's, api.PROFILES
        "source": source,
        "splits": {k: s.size for k, s in task.splits.items()},
        "instance_seconds": task.instance_seconds,
        "summary": summary,
    }


def _summary(task: Any) -> str:
    own = getattr(task, "summary", Task.summary)
    text = own or (type(getattr(task, "inner", task)).__doc__ or "")
    return one_line(text.strip().splitlines()[0] if text.strip() else "", 120)


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
