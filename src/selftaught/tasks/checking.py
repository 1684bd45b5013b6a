"""Checking a user task: its contract, its seed, its scores (`checked`, `CheckedTask`).

Every user task is wrapped in `CheckedTask`, which checks the protocol on load (the attributes
of `tasks.base.Task`, with their types), and, on every score, that the scorer returned a number
in [0, 1] (a `TaskError` otherwise: that is the task's bug) and turns a scorer exception on a
candidate's output into a 0 for that instance. With `check=True` (the default) loading also
generates the first val instance twice (determinism, plain-JSON inputs), runs the seed solution
on it inside the sandbox the run uses (`seed_check` keeps its score), requires the task's own
validator to accept the seed's output, and probes the scorer with junk outputs.
Every problem is a `TaskError` with one line saying what is wrong and how to fix it.
"""

from __future__ import annotations

import json
import keyword
from dataclasses import dataclass
from typing import Any

from selftaught.scores import UNIT, in_bounds
from selftaught.tasks.base import (
    EXAMPLES,
    Instance,
    Task,
    TaskError,
    child_program,
    error_text,
    one_line,
)
from selftaught.tasks.evaluator_form import EvaluatorTask

ATTRIBUTES = ("name", "entry", "seed_solution", "description", "instance_seconds", "array_args",
              "splits")  # fmt: skip
_JUNK: tuple[Any, ...] = (None, "", "x", [], [[]], {}, {"k": 1}, 0, -1, 1e308, [1e308, -1e308])


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
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - an odd output costs one instance
            return 0.0, f"the task's scorer raised {error_text(exc)}"
        ok = isinstance(result, tuple) and len(result) == 2
        value, reason = result if ok else (None, None)
        # An evaluator-form task scores on its evaluator's own scale (see evaluator_form).
        own = getattr(self.inner, "own_scale", Task.own_scale)
        if not (ok and in_bounds(value, None if own else UNIT)):
            raise TaskError(
                f"task {self.name!r} ({self.origin}): score() returned "
                f"{one_line(repr(result), 80)}; it must return (a number in [0, 1], "
                "a reason str or None)"
            )
        if reason is not None and not isinstance(reason, str):
            reason = one_line(repr(reason))
        return float(value), reason


def checked(task: Any, origin: str, *, check: bool = True, sandbox: Any = None) -> CheckedTask:
    """`task` (found at `origin`) behind the checks; with `check`, its seed run once in
    `sandbox` (a fresh one when None) first."""
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
    except BaseException as exc:  # noqa: BLE001 - sys.exit, KeyboardInterrupt: one line too
        raise TaskError(f"{where}: instance({seed}) raised {error_text(exc)}") from None
    try:
        encoded = json.dumps(first.inputs, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TaskError(
            f"{where}: instance inputs must be plain JSON data (lists, numbers, str; "
            f"use .tolist() for arrays): {error_text(exc)}"
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
            f"{one_line(reason, 160)}{hint or '; fix the seed solution or score()'}"
        )
    for junk in _JUNK:
        task.score(first, junk)  # any value outside [0, 1] raises TaskError
    task.seed_check = SeedCheck(score, task.splits["val"].first_seed, list(task.last_layers))


def _run_seed_sandboxed(task: CheckedTask, instance: Instance, where: str, sandbox: Any) -> Any:
    """The seed solution on one instance, inside the sandbox a run would use (`sandbox`, or
    a fresh "auto" one): a task that only fails in there must fail to load."""
    from selftaught.sandbox import Limits, open_sandbox

    seconds = float(task.instance_seconds)
    limits = Limits(seconds + 5.0, seconds + 5.0, profile=getattr(task, "profile", Task.profile))
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
            f"({outcome.status}): {one_line(outcome.error or outcome.status, 200)}; fix the "
            "seed solution or the task"
        )
    if outcome.seconds > seconds:
        raise TaskError(
            f"{where}: the seed solution took {outcome.seconds:.1f} s in the sandbox, over "
            f"instance_seconds = {seconds:g}; raise it or speed the seed up"
        )
    return outcome.output
