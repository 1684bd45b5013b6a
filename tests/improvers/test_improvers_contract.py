"""Every library improver keeps the paper's contract when run for real in a sandboxed child:
it stays within the language-model and utility budgets (counted in the host), stops cleanly
when a budget runs out, and never returns a solution worse than the one it was given by the
utility it measured."""

from __future__ import annotations

import ast
import sys

import pytest
from models.improver_worlds import LevelWorld, run_improver

from selftaught.improvers import SUMMARIES, builtin_source
from selftaught.sandbox import HandleError, open_sandbox

LIBRARY = [name for name in SUMMARIES if name != "seed"]
BUDGETS = [  # (lm calls, responses per call, utility uses)
    (4, 6, 25),  # the paper's
    (2, 3, 5),  # utility runs out before the model
    (3, 2, 1),  # only the baseline can be measured
    (1, 1, 25),  # the model runs out first
]


@pytest.fixture(scope="module")
def sandbox():
    box = open_sandbox()
    yield box
    box.close()


def test_every_strategy_is_registered():
    expected = {
        "temperature_sweep", "beam_search", "genetic", "annealing", "decompose", "ucb",
        "prompt_bandit", "hints", "epsilon_greedy",
    }  # fmt: skip
    assert expected <= set(LIBRARY)


@pytest.mark.parametrize("name", LIBRARY)
def test_source_names_its_origin_and_imports_only_what_the_sandbox_has(name):
    tree = ast.parse(builtin_source(name))
    doc = ast.get_docstring(tree)
    assert doc and "STOP" in doc and ("Fig." in doc or "appendix" in doc)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            assert top in sys.stdlib_module_names or top in ("numpy", "helpers"), module


@pytest.mark.parametrize("budgets", BUDGETS, ids=lambda b: "lm{}-n{}-u{}".format(*b))
@pytest.mark.parametrize("name", list(SUMMARIES))
def test_stays_within_budgets_and_returns_the_best_it_saw(sandbox, name, budgets):
    lm_calls, responses, utility_calls = budgets
    world = LevelWorld(seed=1)
    out = run_improver(
        sandbox, name, world, lm_calls=lm_calls, responses=responses, utility_calls=utility_calls
    )
    assert out.status == "ok", out.error
    assert isinstance(out.result, str)
    assert out.lm_calls <= lm_calls and out.utility_uses <= utility_calls
    # The host never had to refuse a call: the improver checked its budgets before asking.
    assert not {"lm_budget_exceeded", "utility_budget_exceeded"} & set(out.events), out.events
    if name != "seed":  # the paper's seed improver does not measure the initial solution
        assert world.score(out.result) >= world.score(world.initial)
        assert world.score(out.result) == max(out.scores, default=0.0)
        assert out.utility_uses >= min(utility_calls, 1)  # the baseline, at least


@pytest.mark.parametrize("name", LIBRARY)
def test_returns_the_initial_solution_when_every_candidate_is_worse(sandbox, name):
    world = LevelWorld(seed=2, steps=(-2, -1))
    out = run_improver(sandbox, name, world)
    assert out.status == "ok", out.error
    assert out.lm_calls > 0 and out.utility_uses > 1  # it did try
    assert out.result == world.initial


def test_the_seed_improver_has_no_such_guarantee(sandbox):
    world = LevelWorld(seed=2, steps=(-2, -1))
    out = run_improver(sandbox, "seed", world)
    assert world.score(out.result) < world.score(world.initial)


@pytest.mark.parametrize("name", LIBRARY)
def test_budget_exceeded_midway_returns_the_best_so_far(sandbox, name, monkeypatch):
    """The host refuses the third call although the child was told 4: BudgetExceeded in the
    child, which the improver must absorb and answer with what it has."""
    from selftaught.handles import LanguageModelHandle

    original = LanguageModelHandle.__call__
    served = []

    def stingy(self, params):
        if len(served) >= 2:
            raise HandleError("BudgetExceeded", "the host's budget is smaller than announced")
        served.append(1)
        return original(self, params)

    monkeypatch.setattr(LanguageModelHandle, "__call__", stingy)
    world = LevelWorld(seed=3)
    out = run_improver(sandbox, name, world)
    assert out.status == "ok", out.error
    assert out.lm_calls == 2
    assert world.score(out.result) == max(out.scores)
    assert world.score(out.result) >= world.score(world.initial)
