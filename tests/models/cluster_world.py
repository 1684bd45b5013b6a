"""A task and a scripted model for the cluster executor's tests (tests/executors/).

As a task file (`--task tests/models/cluster_world.py`): `algorithm(x)` should return
x * x mod 11; four val and four test instances. As a model
(`python:tests/models/cluster_world.py:respond`): asked for a solution, it returns n different
ones (some right, some not), each burning CLUSTER_BURN seconds of CPU per instance (default
0), so that a node can be killed while it runs one; asked for an improver, the seed improver.
Every reply is a function of the prompt and of how many calls came before it, so that each call
brings new programs to evaluate and runs that call in the same order (concurrency 1) match.

CLUSTER_COUNT_FILE: count the calls in this file (one line per call) instead of in memory, so
that a resumed run goes on counting where the killed one stopped; CLUSTER_KILL_AFTER=N:
SIGKILL this process when call N+1 begins (every call before it is recorded by then).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import signal
from importlib import resources
from typing import Any

from selftaught.tasks import Instance, Split

SEED = "def algorithm(x):\n    return x % 11\n"

SOLUTION = """import time


def algorithm(x):
    end = time.process_time() + {burn}
    while time.process_time() < end:
        pass
    return {formula}  # variant {variant}
"""
FORMULAS = ("(x * x) % 11", "x % 11", "(x * x + {variant}) % 11")


class ClusterTask:
    name = "cluster_squares"
    entry = "algorithm"
    seed_solution = SEED
    description = "def utility(algorithm_str):\n    # algorithm(x) -> x * x % 11, 8 instances\n"
    instance_seconds = 5.0
    array_args = False
    splits = {"val": Split(4321, 4), "test": Split(5678, 4)}
    summary = "x * x mod 11 (the cluster executor's tests)"

    def instance(self, seed: int) -> Instance:
        x = seed % 97
        return Instance(inputs=[x], answer=(x * x) % 11)

    def score(self, instance: Instance, output: Any) -> tuple[float, str | None]:
        if not isinstance(output, int):
            return 0.0, "not an int"
        return float(output == instance.answer), None


TASK = ClusterTask()
_CALLS = itertools.count()


def respond(system: str, user: str, n: int, temperature: float) -> list[str]:
    if "def improve_algorithm" in user:
        seed = resources.files("selftaught.improvers").joinpath("seed.py").read_text()
        return [f"```python\n{seed}```\n"] * n
    digest = int(hashlib.sha256(user.encode()).hexdigest(), 16) + 7 * _next_call()
    burn = float(os.environ.get("CLUSTER_BURN", "0"))
    replies = []
    for i in range(n):
        variant = (digest + i) % 1000
        formula = FORMULAS[variant % len(FORMULAS)].format(variant=variant)
        code = SOLUTION.format(burn=burn, formula=formula, variant=variant)
        replies.append(f"```python\n{code}```\n")
    return replies


def _next_call() -> int:
    """This call's number, counting from 0 over the whole run (resumes included)."""
    path = os.environ.get("CLUSTER_COUNT_FILE")
    if not path:
        return next(_CALLS)
    done = 0
    if os.path.exists(path):
        with open(path) as calls:
            done = sum(1 for _ in calls)
    if done >= int(os.environ.get("CLUSTER_KILL_AFTER", "-1")) >= 0:
        os.kill(os.getpid(), signal.SIGKILL)
    with open(path, "a") as calls:
        calls.write("call\n")
    return done
