"""Random 3-SAT with a planted solution, a transfer task, with the reference parameters.

An instance draws n in 5..50 variables and m = 4n clauses from `RandomState(seed)`: a planted
assignment (each variable true with probability 1/2), then clauses of 3 distinct variables with
random signs, keeping only clauses the planted assignment satisfies (so every formula is
satisfiable). The planted assignment stays in `Instance.answer`; the child sees only the
formula, a list of clauses, each a list of 3 non-zero ints (literal v means variable v true,
-v means false), passed as plain lists (`array_args = False`, as the reference passes lists).

The solution `algorithm(formula)` returns an assignment in the reference's convention: a list
indexed by variable, `assignment[v]` for v = 1..N where N is the largest variable in the
formula, index 0 unused, so exactly N + 1 entries. An entry counts as true when it is > 0
(bools and numbers accepted, as the reference's `assignment[v] > 0`). Any other output
(None, wrong length, strings, ...) scores 0 with its reason.

Utility: fraction of instances whose returned assignment satisfies every clause, verified in the
host. 0.1 s per instance. A timeout or exception costs that instance only: the reference
returned ~0 for the whole split on any exception (its pool's TimeoutError was not the builtin
one), which is why the paper's seed scores 0%; ours scores what it solves (see the report in
tests/tasks/test_tasks_builtin.py). Splits: val 20 (seeds 4321+i), test 30 (5678+i; the
reference's 30).

Time limit: `instance_seconds` of CPU time per instance, as the host reads it from the kernel
(so a loaded machine does not lower a score), and as long, plus `sandbox.runs.WAIT_MARGIN`,
waiting for anything but a CPU (sleeping, stopped); a starved child meets a wall-clock backstop
of `sandbox.api.WALL_BACKSTOP` times that plus a second. Each is a timeout and scores 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from selftaught.tasks.base import Instance, paper_splits

SEED_SOLUTION = """import random


def algorithm(formula):
    # WalkSAT-style random walk: up to 1000 flips; with probability 0.4 flip a random variable
    # of a random unsatisfied clause, otherwise the one whose flip breaks the fewest clauses.
    n = max(abs(lit) for clause in formula for lit in clause)
    value = [False] * (n + 1)

    def satisfied(clause):
        return any(value[abs(lit)] == (lit > 0) for lit in clause)

    def breaks(var):
        value[var] = not value[var]
        broken = sum(1 for clause in formula if var in map(abs, clause) and not satisfied(clause))
        value[var] = not value[var]
        return broken

    for _ in range(1000):
        unsatisfied = [clause for clause in formula if not satisfied(clause)]
        if not unsatisfied:
            return value
        clause = random.choice(unsatisfied)
        if random.random() < 0.4:
            var = abs(random.choice(clause))
        else:
            var = min((abs(lit) for lit in clause), key=breaks)
        value[var] = not value[var]
    return None
"""

DESCRIPTION = '''import random
import time

def generate_3sat_formula(n, m):
    """Generate a random 3-SAT formula with n variables and m clauses, satisfiable by design."""
    formula = []
    valid_assignment = [False] + [random.random() < 0.5 for _ in range(n)]
    while len(formula) < m:
        clause = random.sample(range(1, n + 1), 3)
        clause = [var if random.random() < 0.5 else -var for var in clause]
        # Keep the clause only if the planted assignment satisfies it
        if any((valid_assignment[abs(lit)] > 0) == (lit > 0) for lit in clause):
            formula.append(clause)
    return formula

def check_3sat_formula(formula, assignment):
    return all(any((assignment[abs(lit)] > 0) == (lit > 0) for lit in clause) for clause in formula)

def utility(algorithm_str: str):
    """
    Implements the Random 3-SAT problem with n variables and m clauses.
    Returns the fraction of formulas solved successfully within the time limit.
    The algorithm must be extremely fast. If it takes more than 100 milliseconds to run, it is a
    failure. Your algorithm function must be named 'algorithm' and take a single argument,
    formula, which is a list of m clauses, each containing exactly 3 literals. It returns a list
    `assignment` of length N + 1 (N = the largest variable in the formula; index 0 is unused).
    """
    n_tests = 30
    solved_count = 0

    try:
        exec(algorithm_str, globals())
    except:
        return 0

    for test_idx in range(n_tests):
        n = random.randint(5, 50)  # Number of variables
        m = 4 * n  # Number of clauses
        formula = generate_3sat_formula(n, m)
        try:
            start_time = time.time()
            assignment = algorithm(formula)
            if time.time() - start_time > 0.1:
                continue  # counts as unsolved
            if check_3sat_formula(formula, assignment):
                solved_count += 1
        except Exception:
            pass  # counts as unsolved

    return solved_count / n_tests
'''


def generate(seed: int) -> tuple[list[list[int]], list[bool]]:
    """(formula, planted) with planted[v] for v = 1..n and planted[0] unused."""
    rng = np.random.RandomState(seed)
    n = int(rng.randint(5, 51))
    m = 4 * n
    planted = rng.rand(n + 1) < 0.5
    planted[0] = False
    formula: list[list[int]] = []
    while len(formula) < m:
        # A batch of candidate clauses: 3 distinct variables each (the first 3 of a random
        # permutation), random signs; about 7 in 8 survive the planted-assignment filter.
        variables = np.argsort(rng.rand(m, n), axis=1)[:, :3] + 1
        positive = rng.rand(m, 3) < 0.5
        keep = (planted[variables] == positive).any(axis=1)
        for clause_vars, signs in zip(variables[keep], positive[keep], strict=True):
            pairs = zip(clause_vars, signs, strict=True)
            formula.append([int(v) if s else -int(v) for v, s in pairs])
            if len(formula) == m:
                break
    return formula, planted.tolist()


def satisfies(formula: list[list[int]], truth: list[bool]) -> bool:
    return all(any(truth[abs(lit)] == (lit > 0) for lit in clause) for clause in formula)


class ThreeSat:
    name = "three_sat"
    entry = "algorithm"
    seed_solution = SEED_SOLUTION
    description = DESCRIPTION
    instance_seconds = 0.1
    array_args = False  # the formula stays a list of lists, as in the reference
    splits = paper_splits(20, 30)

    def instance(self, seed: int) -> Instance:
        formula, planted = generate(seed)
        return Instance(inputs=[formula], answer=planted)

    def score(self, instance: Instance, output: Any) -> tuple[float, str | None]:
        formula = instance.inputs[0]
        top = max(abs(lit) for clause in formula for lit in clause)
        if output is None:
            return 0.0, "no assignment (None)"
        if not isinstance(output, list):
            return 0.0, f"expected a list, got {type(output).__name__}"
        if len(output) != top + 1:
            return 0.0, f"expected {top + 1} entries (index 0 unused), got {len(output)}"
        truth = []
        for v in output:
            if not isinstance(v, bool | int | float) or (isinstance(v, float) and math.isnan(v)):
                return 0.0, f"entries must be bools or numbers, got {type(v).__name__}"
            truth.append(v > 0)
        if not satisfies(formula, truth):
            return 0.0, "the assignment leaves a clause unsatisfied"
        return 1.0, None
