"""`selftaught.evaluate`: the utility of one solution, as `selftaught evaluate` gives it (in a
sandboxed child; nothing is recorded)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from selftaught.api.arguments import checked, shown
from selftaught.api.errors import SelftaughtError, user_errors
from selftaught.api.keywords import keywords
from selftaught.api.records import Evaluation
from selftaught.launch.options import Given


@checked
@keywords("evaluate")
def evaluate(given: Given) -> Evaluation:
    """Score `solution` (Python source, or a path to a .py file) on `task`'s `split`.
    `task`: a spec, a path, or a task object (here any object will do: nothing is recorded)."""
    from selftaught.config import ConfigError
    from selftaught.sandbox import open_sandbox
    from selftaught.tasks import resolve_task
    from selftaught.tasks.checking import checked
    from selftaught.tasks.finding import instantiate
    from selftaught.utility import Evaluator

    task, split = given.task, given.split
    with user_errors():
        if isinstance(task, str | os.PathLike):
            the_task = resolve_task(os.fspath(task))
        else:
            origin = f"task object {getattr(task, '__name__', type(task).__name__)}"
            the_task = checked(instantiate(task, origin), origin)  # a class is made here
        if split not in the_task.splits:
            raise ConfigError(f"unknown split {split!r}; use one of: {', '.join(the_task.splits)}")
        source = _solution_source(given.solution)
        try:
            box = open_sandbox(given.sandbox)
        except ValueError as exc:  # an unknown mode
            raise SelftaughtError(str(exc)) from None
    try:
        return Evaluation.from_internal(Evaluator(the_task, box, None).evaluate(source, split))
    finally:
        box.close()


def _solution_source(solution: Any) -> str:
    """Source given as text, or read from a file path."""
    if isinstance(solution, str) and "\n" not in solution and solution.endswith(".py"):
        solution = Path(solution)
    if isinstance(solution, os.PathLike):
        from selftaught.user_code import UserFileError, read_source

        try:
            return read_source(solution)  # a FIFO or a device is refused, a BOM dropped
        except UserFileError as exc:
            raise SelftaughtError(f"solution file {exc}") from None
    if not isinstance(solution, str):
        raise SelftaughtError(
            f"selftaught.evaluate: solution={shown(solution)} must be Python source (a str) or "
            "the path of a .py file"
        )
    return solution
