"""The fuzz suite's task: tiny instances, a short time limit, so that thousands of hostile
programs run in minutes. `algorithm(x)` should return 2 * x."""

from __future__ import annotations

from typing import Any

from selftaught.tasks import Instance, Split


class Double:
    name = "double"
    entry = "algorithm"
    seed_solution = "def algorithm(x):\n    return 2 * x\n"
    description = "def utility(algorithm_str):\n    '''1 if algorithm(x) == 2 * x.'''\n"
    instance_seconds = 0.2
    array_args = False
    splits = {"val": Split(1, 2), "test": Split(100, 2)}

    def instance(self, seed: int) -> Instance:
        return Instance(inputs=[seed], answer=2 * seed)

    def score(self, instance: Instance, output: Any) -> tuple[float, str | None]:
        if isinstance(output, bool) or not isinstance(output, int | float):
            return 0.0, f"expected a number, got {type(output).__name__}"
        return float(output == instance.answer), None


TASK = Double()
