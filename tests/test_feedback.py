"""`utility.why`: why a program scored what it did, for improvers (selftaught/feedback.py).

Real parts: a real sandboxed improver child calls the proxy, the host's handle answers from the
evaluations a real Evaluator ran in real solution children and stored in a real run store.
The improver below asks, scores, asks again, and returns what it learnt as JSON text."""

from __future__ import annotations

import json

import pytest

from selftaught.config import Budgets
from selftaught.improve import Invoker, Recorder
from selftaught.meta_utility import MetaUtility
from selftaught.records import Invocation, Scope
from selftaught.safety.analysis import report_kind
from selftaught.sandbox import Limits, open_sandbox
from selftaught.store import RunStore
from selftaught.tasks import get_task
from selftaught.utility import Evaluator, _instances

BUDGETS = Budgets(
    responses_per_call=2, lm_calls=2, utility_calls=8, meta_utility_calls=2, repetitions=1,
    temperature=0.7, max_tokens=256,
)  # fmt: skip

PROGRAMS = {
    "name_error": "def algorithm(t, dist):\n    x = 1\n    return random.choice(t)\n",
    "wrong_type": "def algorithm(t, dist):\n    return len(t)\n",
    "no_entry": "def solve(t, dist):\n    return t\n",
    "timeout": "def algorithm(t, dist):\n    while True:\n        pass\n",
    "bad_letters": "def algorithm(t, dist):\n    return 'C' * len(t)\n",
    "shows_input": "def algorithm(t, dist):\n    raise ValueError(t + '|' + str(dist))\n",
    "ok": "def algorithm(t, dist):\n    return t\n",
}

ASKER = """
import json

PROGRAMS = {programs!r}


def improve_algorithm(initial_solution, utility, language_model):
    out = {{"before": utility.why(PROGRAMS["name_error"])}}
    for name, program in PROGRAMS.items():
        out[name + "_score"] = utility(program)
        out[name] = utility.why(program)
    {extra}
    return json.dumps(out)
"""


@pytest.fixture(scope="module")
def sandbox():
    box = open_sandbox()
    yield box
    box.close()


def world(sandbox, tmp_path):
    store = RunStore.open_run(tmp_path, create=True)
    evaluator = Evaluator(get_task("string_grid"), sandbox, store)
    invoker = Invoker(
        lambda *a: [], BUDGETS, sandbox, Recorder(store), Limits(wall_seconds=120, cpu_seconds=60)
    )
    return store, evaluator, MetaUtility([evaluator], invoker, run_seed=0)


def ask(meta, evaluator, improver):
    """Run `improver` at the task level, wired as the meta-utility wires every repetition."""
    program = meta.recorder.program(improver, "improver")
    result = meta.invoker(
        improver,
        evaluator.task.seed_solution,
        lambda s: meta._score(evaluator, s, "val", program),
        utility_budget=len(PROGRAMS),
        description="utility",
        scope=Scope.repetition("t=0", "string_grid", 0),
        seed=1,
        invocation=Invocation.meta_utility("string_grid", 0),
        explain=lambda s: meta.why_solution(evaluator, s),
    )
    assert result is not None, meta.recorder.store.rows("invocations", "status", "error")
    return json.loads(result)


def test_why_says_status_line_and_types(sandbox, tmp_path):
    store, evaluator, meta = world(sandbox, tmp_path)
    # The test split of the program that prints its inputs is on record too: never shown.
    evaluator.evaluate(PROGRAMS["shows_input"], "test")
    out = ask(meta, evaluator, ASKER.format(programs=PROGRAMS, extra=""))
    assert out["before"]["status"] == "not_scored" and out["before"]["error"] is None

    name_error = out["name_error"]
    assert name_error["status"] == "error" and out["name_error_score"] == 0.0
    assert name_error["error"] == "NameError: name 'random' is not defined"
    assert (name_error["line"], name_error["code"]) == (3, "return random.choice(t)")
    assert name_error["failed"] == name_error["total"] == 20

    wrong = out["wrong_type"]
    assert (wrong["status"], wrong["expected"], wrong["returned"]) == (
        "wrong_output_type",
        "str",
        "int",
    )
    assert out["no_entry"]["status"] == "no_entry_function"
    assert out["timeout"]["status"] == "timeout" and out["timeout"]["line"] is None
    # What the scorer said about the letters stays in the host.
    assert out["bad_letters"] == {**out["bad_letters"], "status": "invalid_output", "error": None}
    assert out["ok"]["status"] == "ok" and out["ok"]["score"] == out["ok_score"] > 0

    text = json.dumps(out)
    val = [inst.inputs[0] for inst in _instances(evaluator.task, "val", None)]
    test = [inst.inputs[0] for inst in _instances(evaluator.task, "test", None)]
    shown = out["shows_input"]["error"]
    assert shown.startswith("ValueError: ") and shown.split(": ", 1)[1].split("|")[0] in val
    assert not [t for t in test if len(t) >= 12 and t not in val and t in text]
    store.close()


def test_why_past_its_cap_is_a_recorded_refusal(sandbox, tmp_path):
    store, evaluator, meta = world(sandbox, tmp_path)
    flood = "for _ in range(100000):\n        last = utility.why(PROGRAMS['ok'])\n"
    flood += "    out['flood'] = last"
    out = ask(meta, evaluator, ASKER.format(programs=PROGRAMS, extra=flood))
    assert out["flood"]["status"] == "refused"
    assert out["ok"]["status"] == "ok"  # within the cap it answered
    events = [e for e in store.events() if e.kind == "why_budget_exceeded"]
    assert 1 <= len(events) <= 6  # the first few in full, then one count
    assert sum(e.detail.get("count", 0) for e in events) > 99_000
    assert report_kind("why_budget_exceeded", {}) == "budget_spent"  # ran out: no offence
    store.close()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("utility.why(123)", "takes the solution's source code"),
        ("utility._call('why', {'solution': 123})", "bad utility.why call: solution"),
        ("utility._call('why', {'solution': 'x' * 300_000})", "bad utility.why call"),
    ],
)
def test_hostile_why_calls_raise_value_error_in_the_child(sandbox, tmp_path, call, message):
    store, evaluator, meta = world(sandbox, tmp_path)
    improver = f"""
def improve_algorithm(initial_solution, utility, language_model):
    try:
        {call}
    except ValueError as exc:
        return "ValueError: " + str(exc)
    return "no error"
"""
    program = meta.recorder.program(improver, "improver")
    result = meta.invoker(
        improver, "x", lambda s: meta._score(evaluator, s, "val", program), utility_budget=1,
        description="", scope=Scope("s"), seed=1, invocation=Invocation.meta_utility("x", 0),
        explain=lambda s: meta.why_solution(evaluator, s),
    )  # fmt: skip
    assert result and result.startswith("ValueError") and message in result, result
    store.close()


BAD_IMPROVER = """from algorithm import algorithm_str


def improve_algorithm(initial_solution, utility, language_model):
    return initial_solution
"""


def test_why_at_the_meta_level_names_the_failed_import(sandbox, tmp_path):
    """The improver of improvers scores a candidate improver that imports what does not exist
    (the 1.5B's pasted meta-utility) and asks why it scored 0."""
    store, evaluator, meta = world(sandbox, tmp_path)
    asker = f"""
import json

BAD = {BAD_IMPROVER!r}


def improve_algorithm(initial_solution, utility, language_model):
    before = utility.why(BAD)
    return json.dumps({{"before": before, "score": utility(BAD), "why": utility.why(BAD)}})
"""
    result = meta.invoker(
        asker, asker, lambda s: meta(s, "t=1", with_test=False).val, utility_budget=2,
        description=meta.description(), scope=Scope.stop(1), seed=1,
        invocation=Invocation.stop(1), explain=meta.why_improver,
    )  # fmt: skip
    out = json.loads(result)
    assert out["before"]["status"] == "not_scored" and out["score"] == 0.0
    why = out["why"]
    assert why["status"] == "error" and why["failed"] == why["total"] == BUDGETS.repetitions
    assert why["error"] == "ModuleNotFoundError: No module named 'algorithm'"
    assert (why["line"], why["code"]) == (1, "from algorithm import algorithm_str")
    assert "utility.why(solution)" in meta.description()
    store.close()


def test_explanations_from_records_alone():
    """The logic on recorded outcomes, without a child: what is passed on, what is kept back."""
    from selftaught.feedback import explain_evaluation, explain_invocations
    from selftaught.utility import Evaluation

    assert explain_invocations([], "x").status == "not_recorded"
    returned_nothing = explain_invocations([("ok", None, False), ("ok", None, True)], "x")
    assert (returned_nothing.status, returned_nothing.failed, returned_nothing.total) == (
        "no_result", 1, 2)  # fmt: skip
    rows = [{"score": 0.0, "status": "invalid_output", "reason": "expected 42, got 41"}]
    kept_back = explain_evaluation(Evaluation(0.0, rows, 0.1, []), "s")
    assert kept_back.status == "invalid_output" and "42" not in kept_back.model_dump_json()
    scorer = [{"score": 0.0, "status": "invalid_output", "reason": "the task's scorer raised X"}]
    assert explain_evaluation(Evaluation(0.0, scorer, 0.1, []), "s").error is None
    wrapped = [{"score": 0.0, "status": "error", "reason": "KeyError: 'a' (candidate line 2)"}]
    shown = explain_evaluation(Evaluation(0.0, wrapped, 0.1, []), "a\nb\n", wrapped=True)
    assert (shown.error, shown.line, shown.code) == ("KeyError: 'a'", None, None)
    assert (
        explain_evaluation(Evaluation(0.0, [], 0.0, [], failure="no solution code"), "").status
        == "no_code"
    )
