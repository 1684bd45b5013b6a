"""The repair improver against a scripted model on the real LPN task: the model's first program
forgets an import (a NameError on every instance, score 0) and is fixed once it is shown that
error. Repair returns the fixed program; the paper's seed improver, on the same script, returns
the broken one. Real sandbox, real Evaluator, real run store; the model is `python:`."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT
from repair_world import FIXED

from selftaught.compare import compare
from selftaught.config import Budgets
from selftaught.improve import Invoker, Recorder
from selftaught.improvers import builtin_source
from selftaught.lm import open_language_model
from selftaught.meta_utility import MetaUtility
from selftaught.records import Invocation, Level, Scope
from selftaught.sandbox import Limits, open_sandbox
from selftaught.store import RunReader, RunStore
from selftaught.tasks import get_task
from selftaught.utility import Evaluator

MODEL = f"python:{ROOT / 'tests' / 'models' / 'repair_world.py'}:respond"
BUDGETS = Budgets(
    responses_per_call=2, lm_calls=2, utility_calls=3, meta_utility_calls=3, repetitions=2,
    temperature=0.7, max_tokens=256,
)  # fmt: skip


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("repair")
    store = RunStore.open_run(run_dir, create=True)
    sandbox = open_sandbox()
    broker = open_language_model(MODEL, store=store)
    try:
        rows = compare(
            ["repair", "seed"],
            [Evaluator(get_task("lpn"), sandbox, store)],
            Invoker(
                broker.sample, BUDGETS, sandbox, Recorder(store),
                Limits(wall_seconds=60, cpu_seconds=60),
            ),
            repeats=1,
            seed=3,
        )  # fmt: skip
    finally:
        broker.close()
        sandbox.close()
        store.close()
    return {row.improver: row for row in rows}, run_dir


def test_repair_returns_the_fixed_program_where_seed_returns_the_broken_one(compared):
    rows, _ = compared
    assert rows["seed"].scores == (0.0, 0.0)
    assert min(rows["repair"].scores) > 0.9


def test_the_fix_request_shows_the_error_and_its_line(compared):
    _, run_dir = compared
    with RunReader.open(run_dir) as reader:
        requests = [json.loads(r["request"]) for r in reader.rows("lm_calls", "request")]
    prompts = [m for r in requests for m in json.dumps(r).split("\\n") if m]
    text = "\n".join(prompts)
    assert "NameError: name 'itertools' is not defined" in text
    assert (
        "at line 6: `masks = np.array(list(itertools.product([0, 1], repeat=x.shape[1])))`" in text
    )
    assert "It must define `algorithm(train_samples, train_parity, test_samples)`" in text


MAJORITY = """def algorithm(train_samples, train_parity, test_samples):
    return [int(sum(train_parity) * 2 >= len(train_parity))] * len(test_samples)
"""
GOOD = f"""SOLVER = {FIXED!r}


def improve_algorithm(initial_solution, utility, language_model):
    return SOLVER
"""
BAD = "from algorithm import algorithm_str\n" + GOOD  # the 1.5B's pasted meta-utility


def test_at_the_meta_level_repair_shows_why_a_candidate_improver_failed(tmp_path):
    """Repair improving an improver: the scripted model's first candidate imports what does
    not exist; shown that error (from `utility.why` on the meta-utility), it drops the line."""
    prompts: list[str] = []

    def sample(expertise, messages, temperature, scope):
        if scope.level != Level.STOP:  # the seed improver, scored as the initial one
            return [f"```python\n{MAJORITY}```" for _ in messages]
        prompts.extend(messages)
        shown = "ModuleNotFoundError: No module named 'algorithm'"
        return [f"```python\n{GOOD if shown in m else BAD}```" for m in messages]

    store = RunStore.open_run(tmp_path, create=True)
    sandbox = open_sandbox()
    try:
        budgets = BUDGETS.model_copy(update={"repetitions": 1})
        invoker = Invoker(
            sample, budgets, sandbox, Recorder(store), Limits(wall_seconds=60, cpu_seconds=60)
        )
        meta = MetaUtility([Evaluator(get_task("lpn"), sandbox, store)], invoker, run_seed=0)
        result = invoker(
            builtin_source("repair"), builtin_source("seed"),
            lambda s: meta(s, "t=1", with_test=False).val, utility_budget=3,
            description=meta.description(), scope=Scope.stop(1), seed=1,
            invocation=Invocation.stop(1), explain=meta.why_improver,
        )  # fmt: skip
    finally:
        sandbox.close()
        store.close()
    assert result is not None and result.strip() == GOOD.strip()
    fix = [p for p in prompts if "ModuleNotFoundError" in p]
    assert fix and "at line 1: `from algorithm import algorithm_str`" in fix[0]
    assert "It must define `improve_algorithm(initial_solution, utility, language_model)`" in fix[0]


OLD_HOST = '''

_repair = improve_algorithm


class _OldUtility:
    """A utility as older hosts offer it: no `why`."""

    def __init__(self, utility):
        self._utility, self.budget, self.str = utility, utility.budget, utility.str

    @property
    def uses(self):
        return self._utility.uses

    def __call__(self, solution, use_sandbox=True):
        return self._utility(solution, use_sandbox=use_sandbox)


def improve_algorithm(initial_solution, utility, language_model):
    assert not hasattr(_OldUtility(utility), "why")
    return _repair(initial_solution, _OldUtility(utility), language_model)
'''


def test_without_why_it_still_improves(tmp_path):
    from improver_worlds import LevelWorld, run_improver

    path = tmp_path / "repair_on_an_old_host.py"
    path.write_text(builtin_source("repair") + OLD_HOST)
    sandbox = open_sandbox()
    try:
        world = LevelWorld(seed=1)
        out = run_improver(sandbox, str(path), world)
    finally:
        sandbox.close()
    assert out.status == "ok", out.error
    assert world.score(out.result) > world.score(world.initial)
    assert world.score(out.result) == max(out.scores)


def test_the_improve_request_says_where_the_initial_solution_falls_short(tmp_path):
    """Max-Cut's seed times out on most graphs but scores above 0: repair asks `why` of the
    initial solution too, and says so in its improve request, which is what moves the scripted
    model from another slow greedy to a fast partition."""
    model = f"python:{ROOT / 'tests' / 'models' / 'maxcut_world.py'}:respond"
    store = RunStore.open_run(tmp_path, create=True)
    sandbox = open_sandbox()
    broker = open_language_model(model, store=store)
    try:
        rows = compare(
            ["repair"], [Evaluator(get_task("maxcut"), sandbox, store)],
            Invoker(
                broker.sample, BUDGETS.model_copy(update={"repetitions": 1}), sandbox,
                Recorder(store), Limits(wall_seconds=120, cpu_seconds=120),
            ),
            repeats=1, seed=0,
        )  # fmt: skip
        with RunReader.open(tmp_path) as reader:
            requests = [r["request"] for r in reader.rows("lm_calls", "request")]
    finally:
        broker.close()
        sandbox.close()
        store.close()
    assert any("It fails on" in r and "too slow" in r for r in requests)
    assert min(rows[0].scores) > 0.45  # the fast partition; the seed scores about 0.25


def test_every_call_asks_for_all_the_responses_it_may_and_scores_within_budget():
    """Replies are cheap next to utility uses on a batching backend, and many are broken or
    repeats, which cost no use: repair asks for every response a call allows, spreads the
    uses over the calls, and returns the best candidate it scored."""
    from improver_worlds import LevelWorld, run_improver

    sandbox = open_sandbox()
    try:
        world = LevelWorld(seed=2)
        out = run_improver(sandbox, "repair", world, lm_calls=2, responses=4, utility_calls=5)
    finally:
        sandbox.close()
    assert out.status == "ok", out.error
    assert [len(batch) for batch in out.batches] == [4, 4]
    # The initial solution first, then each distinct program once (a score is its LEVEL / 10;
    # the replies differ only in a comment, so repeats of a LEVEL are the same program).
    initial, *candidates = out.scores
    assert initial == world.score(world.initial) and out.utility_uses <= 5
    assert len(candidates) == len(set(candidates)) and initial not in candidates
    assert len(candidates) >= 3  # more than the two one-response calls of before could bring
    assert world.score(out.result) == max(out.scores)


class PastingWorld:
    """A small model's habits: the initial program again with the scoring code pasted above it
    and an import added (a copy), or a real change; utility = what `algorithm` returns / 10."""

    initial = "def algorithm():\n    return 3\n"
    COPY = (
        "import random\n\n\ndef utility(algorithm_str):\n    exec(algorithm_str, globals())\n"
        "    return algorithm() / 10\n\n\ndef algorithm():\n    return 3  # variant {k}\n"
    )
    CHANGED = "def algorithm():\n    return 5\n"

    def __init__(self):
        self.count = 0

    def sample(self, expertise, messages, temperature):
        self.count += 1
        code = self.CHANGED if self.count == 2 else self.COPY.format(k=self.count)
        return [f"```python\n{code}```" for _ in messages]

    def score(self, solution):
        namespace = {}
        exec(solution, namespace)  # test-side scripted utility over our own programs
        return namespace["algorithm"]() / 10


def test_the_initial_program_with_the_scoring_code_pasted_back_costs_no_utility_use():
    """A copy of the initial program under a pasted `utility` and a new import is the initial
    program again: no use is spent on it, so it cannot win by val noise; the change is scored."""
    from improver_worlds import run_improver

    sandbox = open_sandbox()
    try:
        world = PastingWorld()
        out = run_improver(sandbox, "repair", world, lm_calls=3, responses=1, utility_calls=5)
    finally:
        sandbox.close()
    assert out.status == "ok", out.error
    assert out.lm_calls == 3
    assert out.scores == [0.3, 0.5]  # the initial, then the change; neither copy
    assert out.result.strip() == PastingWorld.CHANGED.strip()


def test_a_program_deep_enough_to_parse_but_not_to_dump_gets_a_key_not_an_exception():
    """1,000 nested unary minuses parse, but dumping their tree overflows the stack: the key
    falls back to the program's words, so such a reply cannot crash the improver."""
    import sys

    from selftaught.sandbox import helpers

    sys.modules.setdefault("helpers", helpers)
    namespace: dict = {}
    exec(compile(builtin_source("repair"), "repair.py", "exec"), namespace)
    deep = "def algorithm():\n    return " + "-" * 1000 + "1\n"
    key = namespace["_key"](deep, ["utility"], imports=False)
    assert key == " ".join(deep.split())
