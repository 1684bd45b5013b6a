"""What a task is: a seed solution, an instance generator and a trusted scorer.

Instances are made in the host. A child receives `Instance.inputs` and nothing else: never the
answer, the hidden parameters or the seed. `score` runs in the host on the plain-JSON output a
child sent back, so no candidate can reach the scorer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from selftaught.tasks.splicing import Spliced


class TaskError(Exception):
    """A task name or task file is unusable."""


EXAMPLES = "see examples/tasks/"  # where a TaskError about a task's form points


def one_line(text: object, limit: int = 300) -> str:
    """`text` on one line, cut to `limit` characters: a `TaskError` is always one line."""
    return " ".join(str(text).split())[:limit]


def error_text(exc: BaseException) -> str:
    """An exception of the user's code as a `TaskError` quotes it: its type, then its text."""
    text = str(exc)  # KeyboardInterrupt and the like carry none
    return one_line(f"{type(exc).__name__}: {text}" if text else type(exc).__name__, 200)


@dataclass(frozen=True)
class Instance:
    inputs: list[Any]  # the entry's positional arguments, as plain JSON data
    answer: Any  # host only


@dataclass(frozen=True)
class Split:
    first_seed: int
    size: int


# The reference code's instance seeds: val instances from 4321 on, test instances from 5678 on.
VAL_FIRST_SEED = 4321
TEST_FIRST_SEED = 5678


def paper_splits(val: int, test: int) -> dict[str, Split]:
    """`val` and `test` instances from the reference code's first seeds."""
    return {"val": Split(VAL_FIRST_SEED, val), "test": Split(TEST_FIRST_SEED, test)}


class Task(Protocol):
    name: str
    entry: str  # the function a solution defines, e.g. "algorithm"
    seed_solution: str
    description: str  # `utility.str`: what the language model is shown
    instance_seconds: float  # CPU seconds per instance; over this it scores 0 (a timeout)
    array_args: bool  # pass list inputs to the entry as numpy arrays
    splits: dict[str, Split]

    def instance(self, seed: int) -> Instance: ...

    def score(self, instance: Instance, output: Any) -> tuple[float, str | None]:
        """Score in [0, 1] and, when the output is unusable, why."""
        ...

    # Optional hooks: a task may leave any of them out. Code reads each one as
    # `getattr(task, NAME, Task.NAME)`, so the value here is what a task without it means.
    # The built-in tasks define none; the evaluator form (tasks/evaluator_form.py) all.

    profile: str = "strict"
    """The sandbox's confinement profile for its solutions (`sandbox.api.PROFILES`): "strict",
    or "evaluator", which lets an evaluator start child processes."""

    summary: str | None = None
    """One line for `selftaught tasks`; without it, the first line of the class's docstring."""

    own_scale: bool = False
    """True when `score` returns the task's own scale, not [0, 1]: the checks then ask only for
    a finite number (an evaluator without a score_range)."""

    wrap_solution: Callable[[str], str] | None = None
    """The source a solution child loads for a solution (`child_program`): the evaluator form
    wraps the candidate in the harness that runs the evaluator on it inside the child."""

    refuse: Callable[[str], str | None] | None = None
    """Why a solution scores 0 without being run (over a length limit, code changed outside
    its EVOLVE-BLOCKs), or None to run it."""

    splice: Callable[[str], Spliced | None] | None = None
    """A whole-program rewrite read into the initial program's EVOLVE-BLOCKs, or None when the
    solution runs as written (tasks/splicing.py)."""

    record: Callable[[Any], dict[str, Any]] | None = None
    """What an evaluation records of an output beyond its score (metrics, artifacts)."""


def child_program(task: Task, solution: str) -> str:
    """The source a solution child loads for `solution`: the solution itself, unless the task
    wraps it (the evaluator-form adapter wraps the candidate in a harness that runs the
    user's evaluator on it inside the child). Callers hash and store `solution`, not this."""
    wrap = getattr(task, "wrap_solution", Task.wrap_solution)
    return wrap(solution) if callable(wrap) else solution
