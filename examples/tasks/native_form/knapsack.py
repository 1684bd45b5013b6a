"""An example user task in selftaught's native form: 0/1 knapsack.

Load it with `selftaught.tasks.resolve_task("examples/tasks/native_form/knapsack.py")`.
A native task file is trusted user code, imported in the host; it exposes `TASK`.

- `instance(seed)` runs in the host and must be deterministic in `seed`; its `inputs` (plain
  JSON data) are all the sandboxed solution sees. The optimum stays in `answer`.
- `score(instance, output)` runs in the host on the plain-JSON output and returns
  (a number in [0, 1], a reason when the output is unusable, else None).

Contract: `algorithm(weights, values, capacity)` returns the indices of the chosen items.
Utility: chosen value / optimal value (0 for an invalid or overweight choice).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from selftaught.tasks import Instance, Split

SEED = """def algorithm(weights, values, capacity):
    # Greedy by value per unit of weight.
    order = sorted(range(len(weights)), key=lambda i: values[i] / weights[i], reverse=True)
    chosen, load = [], 0
    for i in order:
        if load + weights[i] <= capacity:
            chosen.append(i)
            load += weights[i]
    return chosen
"""

DESCRIPTION = '''import random

def utility(algorithm_str: str):
    """0/1 knapsack: the mean over 20 instances of chosen value / best possible value.
    algorithm(weights, values, capacity) returns the list of chosen item indices
    (distinct, in range, total weight <= capacity), within 0.5 seconds."""
    exec(algorithm_str, globals())
    total = 0.0
    for _ in range(20):
        n = random.randint(10, 40)
        weights = [random.randint(1, 30) for _ in range(n)]
        values = [random.randint(1, 50) for _ in range(n)]
        capacity = sum(weights) // 3
        chosen = algorithm(weights, values, capacity)
        if len(set(chosen)) == len(chosen) and sum(weights[i] for i in chosen) <= capacity:
            total += sum(values[i] for i in chosen) / best_value(weights, values, capacity)
    return total / 20
'''


def best_value(weights: list[int], values: list[int], capacity: int) -> int:
    best = np.zeros(capacity + 1, dtype=np.int64)
    for w, v in zip(weights, values, strict=True):
        if w <= capacity:
            best[w:] = np.maximum(best[w:], best[:-w] + v)  # RHS reads the old row: 0/1
    return int(best[capacity])


class Knapsack:
    name = "knapsack"
    entry = "algorithm"
    seed_solution = SEED
    description = DESCRIPTION
    instance_seconds = 0.5
    array_args = False
    splits = {"val": Split(4321, 10), "test": Split(5678, 20)}
    summary = "0/1 knapsack, 10..40 items (example of a native user task)"

    def instance(self, seed: int) -> Instance:
        rng = np.random.RandomState(seed)
        n = int(rng.randint(10, 41))
        weights = rng.randint(1, 31, n).tolist()
        values = rng.randint(1, 51, n).tolist()
        capacity = sum(weights) // 3
        return Instance([weights, values, capacity], best_value(weights, values, capacity))

    def score(self, instance: Instance, output: Any) -> tuple[float, str | None]:
        weights, values, capacity = instance.inputs
        if not isinstance(output, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in output
        ):
            return 0.0, "expected a list of item indices"
        if len(set(output)) != len(output) or not all(0 <= i < len(weights) for i in output):
            return 0.0, "indices must be distinct and in range"
        if sum(weights[i] for i in output) > capacity:
            return 0.0, "over capacity"
        return sum(values[i] for i in output) / instance.answer, None


TASK = Knapsack()
