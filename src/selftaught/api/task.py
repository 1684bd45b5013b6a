"""`selftaught.Task`: a base class for tasks defined in Python, with the paper's defaults.

A subclass sets `name`, `seed_solution` and `description`, and defines `instance(seed)` and
`score(instance, output)`; the rest has defaults. It is the same protocol as a task file's
`TASK` (`selftaught.tasks.base.Task`) and is loaded, checked and run the same way: instances
and scores in the host, the solution in a sandboxed child that sees only the inputs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from selftaught.tasks.base import Instance, Split


class PythonTask:
    """`selftaught.Task` (named apart from the protocol it meets, `tasks.base.Task`).
    Subclass, set the attributes, define `instance` and `score`:

        class Knapsack(selftaught.Task):
            name = "knapsack"
            seed_solution = "def algorithm(weights, values, capacity): ..."
            description = "...the utility the language model is shown..."

            def instance(self, seed): ...   # -> Instance(inputs=[...], answer=...)
            def score(self, instance, output): ...   # -> (score in [0, 1], reason or None)
    """

    name: ClassVar[str]
    seed_solution: ClassVar[str]
    description: ClassVar[str]  # `utility.str`: what the language model is shown
    entry: ClassVar[str] = "algorithm"  # the function a solution defines
    instance_seconds: ClassVar[float] = 1.0  # over this an instance scores 0
    array_args: ClassVar[bool | list[bool]] = False  # list inputs as numpy arrays
    # The paper's splits: val 20 instances from seed 4321, test 50 from seed 5678.
    splits: ClassVar[dict[str, Split]] = {"val": Split(4321, 20), "test": Split(5678, 50)}

    def instance(self, seed: int) -> Instance:
        """The instance of `seed`, the same every time: inputs (plain JSON data, all that the
        solution sees) and the answer (kept in the host)."""
        raise NotImplementedError(f"{type(self).__name__}.instance(seed)")

    def score(self, instance: Instance, output: Any) -> tuple[float, str | None]:
        """A number in [0, 1] for the solution's plain-JSON `output`, and why it is unusable
        (None when it is usable)."""
        raise NotImplementedError(f"{type(self).__name__}.score(instance, output)")


Task = PythonTask  # the name users subclass: `class Knapsack(selftaught.Task)`
