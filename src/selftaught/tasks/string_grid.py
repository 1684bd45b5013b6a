"""String grid distance, a transfer task, with the reference parameters.

An instance is a string `t` over {A, B} of length 1..30 and a target distance `dist`, where
`dist = grid_dist(s, t)` for a hidden string `s` of the same length and

    grid_dist(s, t) = Hamming(s, t) + (adjacent changes in s) + (adjacent changes in t).

The solution `algorithm(t, dist)` returns a string `s'` with `grid_dist(s', t) == dist`. Such a
string always exists (the hidden one), so 1.0 is reachable on every instance. The hidden `s`
stays in `Instance.answer`; the scorer does not need it, it recomputes the distance.

Utility, per instance, as the reference: 1.0 for the exact distance, else
`0.5 - |d - dist| / (6 len(t))`, clipped to [0, 0.5] (it cannot go below 0 anyway, since both
distances are at most 3 len(t)). Output validation is strict: a `str` of the same length made
of A and B only, otherwise 0 with the reason. 0.1 s per instance, measured by the parent.
Splits: val 20 instances (seeds 4321+i), test 50 (seeds 5678+i, the reference's 50).

The seed returns `t` unchanged (the paper's u(s) = 43.9% on its own draws).

Time limit: `instance_seconds` of CPU time per instance, as the host reads it from the kernel
(so a loaded machine does not lower a score), and as long, plus `sandbox.runs.WAIT_MARGIN`,
waiting for anything but a CPU (sleeping, stopped); a starved child meets a wall-clock backstop
of `sandbox.api.WALL_BACKSTOP` times that plus a second. Each is a timeout and scores 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from selftaught.tasks.base import Instance, paper_splits

SEED_SOLUTION = """def algorithm(t: str, dist: int):
    return t
"""

DESCRIPTION = '''import random
import time

def grid_dist(s: str, t: str):
    assert isinstance(s, str) and isinstance(t, str)
    assert len(s) == len(t) and set(s + t) <= set("AB")
    ans = sum(a != b for a, b in zip(s, t))
    ans += sum(a != b for a, b in zip(s, s[1:]))
    ans += sum(a != b for a, b in zip(t, t[1:]))
    return ans

def score_test(t: str, dist: int, find_at_dist: callable, max_time=0.1) -> float:
    start_time = time.time()
    try:
        s = find_at_dist(t, dist)
        d = grid_dist(s, t)
        if time.time() - start_time > max_time:
            return 0.0
        if d == dist:
            return 1.0  # perfect!
        else:
            return 0.5 - abs(d - dist) / (6 * len(t))  # between 0 and 0.5
    except:
        return 0.0  # error

def utility(algorithm_str: str):
    """Implements the str_grid_dist task. Returns a value between 0 and 1."""

    try:
        exec(algorithm_str, globals())
    except:
        return 0.0

    scores = []
    for _ in range(20):
        length = random.randint(1, 30)
        t = "".join(random.choice("AB") for _ in range(length))
        s = "".join(random.choice("AB") for _ in range(length))
        dist = grid_dist(s, t)
        scores.append(score_test(t, dist, algorithm))
    return sum(scores) / len(scores)
'''


def grid_dist(s: str, t: str) -> int:
    return (
        sum(a != b for a, b in zip(s, t, strict=True))
        + sum(a != b for a, b in zip(s, s[1:], strict=False))
        + sum(a != b for a, b in zip(t, t[1:], strict=False))
    )


class StringGridDistance:
    name = "string_grid"
    entry = "algorithm"
    seed_solution = SEED_SOLUTION
    description = DESCRIPTION
    instance_seconds = 0.1
    array_args = False  # a str and an int: nothing to convert
    splits = paper_splits(20, 50)

    def instance(self, seed: int) -> Instance:
        rng = np.random.RandomState(seed)
        length = int(rng.randint(1, 31))
        t = "".join(rng.choice(["A", "B"], length))
        s = "".join(rng.choice(["A", "B"], length))
        return Instance(inputs=[t, grid_dist(s, t)], answer=s)

    def score(self, instance: Instance, output: Any) -> tuple[float, str | None]:
        t, dist = instance.inputs
        if not isinstance(output, str):
            return 0.0, f"expected a str, got {type(output).__name__}"
        if len(output) != len(t):
            return 0.0, f"expected a string of length {len(t)}, got length {len(output)}"
        if not set(output) <= {"A", "B"}:
            return 0.0, "the string may only contain A and B"
        d = grid_dist(output, t)
        if d == dist:
            return 1.0, None
        return min(0.5, max(0.0, 0.5 - abs(d - dist) / (6 * len(t)))), None
