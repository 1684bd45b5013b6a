"""The built-in tasks: instances, strict scorers, and seed / good solutions through the real
evaluator and sandbox.

Measured with `python tests/tasks/test_tasks_builtin.py` (prints every score), for the report:
string_grid seed val 0.443 test 0.450 (paper 43.9%), good 1.0 / 1.0; mqap seed val 0.142 test
0.145 (scaled cost 0.20, the paper's 20.4% figure), good 0.160 / 0.150; three_sat seed val
0.85 test 0.83-0.87 (paper 0%, see three_sat.py), good 1.0 / 1.0; maxcut seed val 0.03-0.06
test 0.0 (timeouts, paper 0%), good 0.595 / 0.592; parity seed ~0.51, good 1.0.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from selftaught.sandbox import open_sandbox
from selftaught.tasks import get_task, task_names
from selftaught.tasks.mqap import expected_random_cost
from selftaught.utility import Evaluator

NEW_TASKS = ["string_grid", "mqap", "three_sat", "maxcut"]

GOOD = {}

GOOD["string_grid"] = """
def algorithm(t, dist):
    # Exact: which partial costs (Hamming + changes in s) are reachable with s[i] = c.
    n = len(t)
    need = dist - sum(a != b for a, b in zip(t, t[1:]))
    reach = [{c: {int(c != t[0])} for c in "AB"}]
    for i in range(1, n):
        reach.append({c: {v + (p != c) + (c != t[i]) for p, prev in reach[-1].items() for v in prev}
                      for c in "AB"})
    end = next((c for c in "AB" if need in reach[-1][c]), None)
    if end is None:
        return t
    s, c, remaining = [end], end, need
    for i in range(n - 1, 0, -1):
        remaining -= int(c != t[i])
        for p in "AB":
            if remaining - (p != c) in reach[i - 1][p]:
                remaining -= int(p != c)
                c = p
                break
        s.append(c)
    return "".join(reversed(s))
"""

GOOD["mqap"] = """
import time
import numpy as np

def algorithm(F, D, P):
    # Restarted best-swap local search (all swaps of one position scored at once), ~0.25 s.
    start = time.time()
    n = len(F)
    rows = np.arange(n)
    def cost(a):
        return float((F * D[np.ix_(a, a)]).sum() - 0.5 * P[rows, a].sum())
    rng = np.random.default_rng(0)
    best, best_cost = None, float("inf")
    while best is None or time.time() - start < 0.2:
        a = rng.permutation(n)
        c = cost(a)
        improved = True
        while improved and time.time() - start < 0.25:
            improved = False
            for i in range(n - 1):
                js = np.arange(i + 1, n)
                swaps = np.tile(a, (len(js), 1))
                swaps[np.arange(len(js)), i] = a[js]
                swaps[np.arange(len(js)), js] = a[i]
                costs = [cost(b) for b in swaps]
                k = int(np.argmin(costs))
                if costs[k] < c - 1e-12:
                    a, c, improved = swaps[k], costs[k], True
        if c < best_cost:
            best, best_cost = a.copy(), c
    return [int(v) for v in best]
"""

GOOD["three_sat"] = """
import random
import time

def algorithm(formula):
    # WalkSAT with occurrence lists and incremental true-literal counts; restarts.
    start = time.time()
    n = max(abs(l) for c in formula for l in c)
    occurs = [[] for _ in range(n + 1)]
    for k, clause in enumerate(formula):
        for lit in clause:
            occurs[abs(lit)].append(k)
    rng = random.Random(1)
    value = None
    while time.time() - start < 0.07:
        value = [False] + [rng.random() < 0.5 for _ in range(n)]
        true_count = [sum(value[abs(l)] == (l > 0) for l in c) for c in formula]
        unsat = {k for k, t in enumerate(true_count) if t == 0}
        for _ in range(5000):
            if not unsat:
                return value
            clause = formula[rng.choice(tuple(unsat))]
            if rng.random() < 0.4:
                var = abs(rng.choice(clause))
            else:
                def breaks(v):
                    return sum(1 for k in occurs[v] if true_count[k] == 1
                               and any(abs(l) == v and value[v] == (l > 0) for l in formula[k]))
                var = min((abs(l) for l in clause), key=breaks)
            value[var] = not value[var]
            for k in occurs[var]:
                before = true_count[k]
                true_count[k] = now = sum(value[abs(l)] == (l > 0) for l in formula[k])
                if now == 0:
                    unsat.add(k)
                elif before == 0:
                    unsat.discard(k)
    return value
"""

GOOD["maxcut"] = """
import numpy as np

def algorithm(adjacency_matrix):
    # One-flip local search on a vectorised gain vector, from a random start.
    W = np.asarray(adjacency_matrix, dtype=float)
    x = np.random.default_rng(0).integers(0, 2, len(W)) * 2 - 1
    for _ in range(10 * len(W)):
        gain = x * (W @ x)  # weight kept on my side minus weight cut, per node
        i = int(np.argmax(gain))
        if gain[i] <= 0:
            break
        x[i] = -x[i]
    return [int(v > 0) for v in x]
"""

GOOD["parity"] = """
import numpy as np

def algorithm(train_samples, train_parity, test_samples):
    # Gaussian elimination over GF(2): the secret bits solve samples @ bits = parity.
    A = np.concatenate([train_samples, train_parity.reshape(-1, 1)], axis=1).astype(int) % 2
    rows, cols = A.shape
    pivots, r = [], 0
    for c in range(cols - 1):
        hit = next((i for i in range(r, rows) if A[i, c]), None)
        if hit is None:
            continue
        A[[r, hit]] = A[[hit, r]]
        for i in range(rows):
            if i != r and A[i, c]:
                A[i] ^= A[r]
        pivots.append(c)
        r += 1
    bits = np.zeros(cols - 1, dtype=int)
    for i, c in enumerate(pivots):
        bits[c] = A[i, -1]
    return (test_samples @ bits) % 2
"""

RANDOM_MAXCUT = """import random


def algorithm(adjacency_matrix):
    return [random.randint(0, 1) for _ in range(len(adjacency_matrix))]
"""


@pytest.fixture(scope="module")
def sandbox():
    box = open_sandbox("auto")
    yield box
    box.close()


def evaluate(sandbox, name, source, split):
    return Evaluator(get_task(name), sandbox, None).evaluate(source, split)


# --- instances ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NEW_TASKS)
def test_instances_are_deterministic_plain_json_and_split_seeds_are_fixed(name):
    import json

    task = get_task(name)
    assert task.name == name and name in task_names()
    assert (task.splits["val"].first_seed, task.splits["test"].first_seed) == (4321, 5678)
    first, again, other = task.instance(4321), task.instance(4321), task.instance(4322)
    assert json.dumps(first.inputs) == json.dumps(again.inputs)
    assert json.dumps(first.inputs) != json.dumps(other.inputs)
    json.dumps(first.inputs, allow_nan=False)  # what goes to the child is plain JSON


def test_split_sizes_follow_the_task_table():
    sizes = {
        n: (get_task(n).splits["val"].size, get_task(n).splits["test"].size) for n in NEW_TASKS
    }
    assert sizes == {"string_grid": (20, 50), "mqap": (10, 10), "three_sat": (20, 30),
                     "maxcut": (20, 100)}  # fmt: skip


def test_hidden_parameters_stay_out_of_the_inputs():
    grid = get_task("string_grid").instance(4321)
    assert len(grid.inputs) == 2 and isinstance(grid.answer, str)  # [t, dist]; s is hidden
    t, dist = grid.inputs
    from selftaught.tasks.string_grid import grid_dist

    assert grid_dist(grid.answer, t) == dist and len(grid.answer) == len(t)
    sat = get_task("three_sat").instance(4321)
    assert len(sat.inputs) == 1  # the formula only; the planted assignment is the answer
    formula, planted = sat.inputs[0], sat.answer
    n = max(abs(lit) for clause in formula for lit in clause)
    assert 5 <= n <= 50 and len(formula) == 4 * (len(planted) - 1)
    assert all(len({abs(lit) for lit in clause}) == 3 for clause in formula)
    assert get_task("three_sat").score(sat, planted[: n + 1]) == (1.0, None)


def test_instance_parameters_match_the_reference():
    for seed in range(4321, 4331):
        (F, D, P) = get_task("mqap").instance(seed).inputs
        assert np.shape(F) == np.shape(D) == np.shape(P) == (15, 15)
        (adjacency,) = get_task("maxcut").instance(seed).inputs
        W = np.asarray(adjacency)
        assert 50 <= len(W) <= 200 and (W == W.T).all() and (np.diag(W) == 0).all()
        weights = W[np.triu_indices(len(W), 1)]
        assert set(np.unique(weights)) <= set(range(11))
        assert 0.3 < (weights > 0).mean() < 0.5
        t, _ = get_task("string_grid").instance(seed).inputs
        assert 1 <= len(t) <= 30 and set(t) <= {"A", "B"}


# --- scorers: always in [0, 1], strict about shapes and types --------------------------------


def _adversarial(instance):
    """Outputs a careless scorer would misjudge: wrong length/type, NaN, broadcasting shapes."""
    sizes = [len(a) for a in instance.inputs if isinstance(a, list | str)] or [1]
    n = max(sizes)
    junk = [None, True, 0, -1, 1e308, -1e308, math.nan, math.inf, "", "AB" * 20, "x", [], [[]],
            {}, {"combined_score": 2}, [math.nan] * n, [math.inf] * n, [0] * (n + 1),
            [0] * max(n - 1, 0), [[0] * n] * n, [[1]] * n, [[0, 1]] * n, list(range(n)),
            list(range(-1, n - 1)), [True] * n, ["0"] * n, [0.5] * n, [2] * n, [[0] * 20] * 20,
            [1] * 10**5]  # fmt: skip
    return junk


@pytest.mark.parametrize("name", task_names())
def test_every_score_is_in_the_unit_interval_on_random_and_adversarial_outputs(name):
    task = get_task(name)
    rng = random.Random(0)
    for seed in (4321, 4322, 5678):
        instance = task.instance(seed)
        outputs = _adversarial(instance)
        for _ in range(20):
            n = rng.randint(0, 300)
            outputs.append([rng.choice([0, 1, 2, -1, 0.5, True, "A"]) for _ in range(n)])
            outputs.append("".join(rng.choice("ABC") for _ in range(rng.randint(0, 40))))
        for output in outputs:
            score, reason = task.score(instance, output)
            assert isinstance(score, float) and 0.0 <= score <= 1.0, (name, output, score)
            assert reason is None or isinstance(reason, str)


def test_the_1000_percent_lpn_hack_scores_at_most_one():
    task = get_task("lpn")
    instance = task.instance(4321)
    broadcast = [[v] * 20 for v in instance.answer]  # (20, 20) against (20,) labels
    assert task.score(instance, broadcast)[0] <= 1.0
    assert task.score(instance, [[v] for v in instance.answer]) == (1.0, None)


def test_scorers_validate_strictly():
    grid = get_task("string_grid")
    inst = grid.instance(4321)
    t = inst.inputs[0]
    assert grid.score(inst, t + "A")[1].startswith("expected a string of length")
    assert "only contain" in grid.score(inst, "C" * len(t))[1]
    assert grid.score(inst, list(t))[0] == 0.0
    mqap = get_task("mqap")
    inst = mqap.instance(4321)
    assert mqap.score(inst, list(range(15)))[1] is None
    assert "permutation" in mqap.score(inst, [0] * 15)[1]
    assert mqap.score(inst, [float(i) for i in range(15)])[1] is None  # integral floats
    assert mqap.score(inst, [True] + list(range(1, 15)))[0] == 0.0  # bools are not indices
    cut = get_task("maxcut")
    inst = cut.instance(4321)
    n = len(inst.inputs[0])
    assert cut.score(inst, [0] * n) == (0.0, None)  # valid, cuts nothing
    assert cut.score(inst, [2] * n)[1].startswith("labels must be 0 or 1")
    sat = get_task("three_sat")
    inst = sat.instance(4321)
    assert sat.score(inst, None) == (0.0, "no assignment (None)")
    assert "entries" in sat.score(inst, [0])[1]


def test_mqap_direction_lower_cost_scores_higher():
    task = get_task("mqap")
    inst = task.instance(4321)
    F, D, P = (np.asarray(m) for m in inst.inputs)
    rng = np.random.default_rng(0)
    perms = [rng.permutation(15).tolist() for _ in range(200)]
    from selftaught.tasks.mqap import cost

    ranked = sorted(perms, key=lambda a: cost(F, D, P, a))
    assert task.score(inst, ranked[0])[0] > task.score(inst, ranked[-1])[0]
    mean_cost = np.mean([cost(F, D, P, a) for a in perms])
    assert abs(mean_cost - expected_random_cost(F, D, P)) < 0.02 * mean_cost


# --- seed and good solutions, through the real evaluator and sandbox --------------------------


def test_string_grid_seed_near_paper_and_exact_solution_perfect(sandbox):
    seed = evaluate(sandbox, "string_grid", get_task("string_grid").seed_solution, "test")
    assert abs(seed.score - 0.439) < 0.08  # paper u(s) = 43.9%; SE over 50 instances ~0.04
    good = evaluate(sandbox, "string_grid", GOOD["string_grid"], "test")
    assert good.score == 1.0, good.instances


def test_mqap_seed_reproduces_the_papers_scaled_cost_and_local_search_beats_it(sandbox):
    task = get_task("mqap")
    seed = evaluate(sandbox, "mqap", task.seed_solution, "test")
    assert all(r["status"] == "ok" for r in seed.instances), seed.instances
    assert 0.10 < seed.score < 0.19
    # Invert u = (E - cost) / E per instance to recover the paper's quantity, cost / 225.
    scaled = []
    for i, row in enumerate(seed.instances):
        F, D, P = (np.asarray(m) for m in task.instance(5678 + i).inputs)
        expected = expected_random_cost(F, D, P)
        scaled.append(expected * (1 - row["score"]) / 225)
    assert abs(np.mean(scaled) - 0.204) < 0.02  # paper: 20.4%
    # The range is narrow (the best assignments save a little over 20%), and the local search
    # is time-bounded: compare on val, where it is measured 0.160 against the seed's 0.142.
    seed_val = evaluate(sandbox, "mqap", task.seed_solution, "val")
    good = evaluate(sandbox, "mqap", GOOD["mqap"], "val")
    assert good.score > seed_val.score, (good.score, seed_val.score)


def test_three_sat_seed_and_good_solver(sandbox):
    seed = evaluate(sandbox, "three_sat", get_task("three_sat").seed_solution, "val")
    assert 0.5 <= seed.score <= 1.0  # measured 0.85: timeouts on the largest formulas only
    good = evaluate(sandbox, "three_sat", GOOD["three_sat"], "test")
    assert good.score >= 0.9, good.instances


def test_maxcut_seed_times_out_and_local_search_beats_random(sandbox):
    task = get_task("maxcut")
    seed = evaluate(sandbox, "maxcut", task.seed_solution, "val")
    # Like the paper's 0%: the cubic greedy overruns 0.1 s on the larger graphs. How many it
    # overruns depends on the machine (none to about half of 20 seen, 4 on a CI machine), so the
    # test asks for what holds on any machine: an overrun scores 0, the seed's time grows with
    # the graph, and the graphs it overruns are larger than those it finishes.
    assert {r["status"] for r in seed.instances} <= {"ok", "timeout"}
    first = task.splits["val"].first_seed
    rows = [(len(task.instance(first + i).inputs[0]), r) for i, r in enumerate(seed.instances)]
    timed_out = [n for n, r in rows if r["status"] == "timeout"]
    finished = [(n, r["seconds"]) for n, r in rows if r["status"] == "ok"]
    assert all(r["score"] == 0.0 and r["reason"] for _, r in rows if r["status"] == "timeout")
    if timed_out and finished:
        assert np.mean(timed_out) > np.mean([n for n, _ in finished]), (timed_out, finished)
    if len(finished) >= 5:
        assert np.corrcoef(np.array(finished).T)[0, 1] > 0.5, finished
    coin = evaluate(sandbox, "maxcut", RANDOM_MAXCUT, "val")
    assert 0.45 < coin.score < 0.55
    good = evaluate(sandbox, "maxcut", GOOD["maxcut"], "val")
    assert good.score > 0.57 and good.score > coin.score + 0.05, good.instances
    assert good.score > seed.score


def test_parity_seed_is_a_coin_and_elimination_is_exact(sandbox):
    seed = evaluate(sandbox, "parity", get_task("parity").seed_solution, "test")
    assert abs(seed.score - 0.5) < 0.05  # 1000 coin flips
    good = evaluate(sandbox, "parity", GOOD["parity"], "test")
    assert good.score >= 0.98


if __name__ == "__main__":  # the figures in the report: python tests/tasks/test_tasks_builtin.py
    box = open_sandbox("auto")
    for task_name in ["string_grid", "mqap", "three_sat", "maxcut", "parity"]:
        for label, source in (("seed", get_task(task_name).seed_solution),
                              ("good", GOOD[task_name])):  # fmt: skip
            for split_name in ("val", "test"):
                result = evaluate(box, task_name, source, split_name)
                print(f"{task_name:12s} {label} {split_name:4s} {result.score:.3f}")
    box.close()
