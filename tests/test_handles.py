import pytest

from selftaught.handles import LanguageModelHandle, UtilityHandle, make_handler
from selftaught.sandbox.api import HandleError
from selftaught.sandbox.proxies import BudgetExceeded, child_handles, raise_remote


def _world():
    events = []
    sink = lambda kind, detail: events.append(kind)  # noqa: E731
    utility = UtilityHandle(lambda s: 0.5 if s else 0.0, 2, "describe", sink)
    lm = LanguageModelHandle(lambda e, m, t: [f"r:{x}" for x in m], 1, 3, sink)
    return events, utility, lm


def test_utility_budget_and_use_sandbox_false_are_recorded():
    events, utility, _ = _world()
    assert utility({"solution": "x", "use_sandbox": False})["score"] == 0.5
    assert utility({"solution": None})["score"] == 0.0
    assert utility({"solution": "x"}) == {"score": 0.0, "uses": 2}  # past the budget
    assert events == ["use_sandbox_false", "utility_budget_exceeded"]


def test_language_model_budget_and_message_cap():
    events, _, lm = _world()
    with pytest.raises(HandleError) as too_many:
        lm({"expertise": "e", "messages": ["a"] * 4})
    assert too_many.value.kind == "ValueError"
    assert lm({"expertise": "e", "messages": ["a", "b"]}) == {
        "responses": ["r:a", "r:b"],
        "budget": 0,
    }
    with pytest.raises(HandleError) as spent:
        lm({"expertise": "e", "messages": ["a"]})
    assert spent.value.kind == "BudgetExceeded"
    assert events == ["lm_budget_exceeded"]


def test_child_proxies_talk_only_through_the_call_function():
    _, utility, lm = _world()
    handler = make_handler(utility, lm)
    spec = {
        "utility_budget": 2,
        "utility_str": "describe",
        "lm_budget": 1,
        "max_responses_per_call": 3,
    }
    u, model = child_handles(lambda method, params: handler(method, params).value, spec)
    assert (u.budget, u.str, model.max_responses_per_call) == (2, "describe", 3)
    u.budget = 10**9  # a child's attempt to raise its budget changes nothing in the host
    assert model.prompt("e", "m", n_responses=2) == ["r:m", "r:m"]
    assert model.budget == 0
    assert u("code") == 0.5 and u.uses == 1
    u("code")
    assert u("code") == 0.0 and utility.uses == 2


def test_remote_errors_become_the_expected_exceptions():
    with pytest.raises(BudgetExceeded):
        raise_remote("BudgetExceeded", "spent")
    with pytest.raises(ValueError):
        raise_remote("ValueError", "too many")
