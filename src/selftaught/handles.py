"""The host side of what improver code sees: the utility and the language model, with budgets.

`UtilityHandle` and `LanguageModelHandle` enforce the budgets, do the work and record what
happened; `make_handler` routes a child's calls to them. The child's side of the same calls,
the proxies with the paper's interface, lives in `sandbox/proxies.py`: nothing the child sets
on its proxies (`utility.budget = 10**9`) reaches the host. See docs/architecture.md, "The
trust line".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from selftaught.events import (
    HANDLE_SETATTR,
    LM_BUDGET_EXCEEDED,
    UNKNOWN_METHOD,
    USE_SANDBOX_FALSE,
    UTILITY_BUDGET_EXCEEDED,
    UTILITY_OUT_OF_RANGE,
)
from selftaught.sandbox.api import HandleError, Handler, HandleSpec
from selftaught.scores import is_unit_score

EventSink = Callable[[str, dict[str, Any]], None]


class UtilityHandle:
    """Host side of `utility`: counts uses against the budget, scores through `score`.

    Past the budget a call scores 0 (the paper's behaviour) and is recorded as a safety event;
    `use_sandbox=False` is ignored and recorded: nothing a child asks turns isolation off.
    """

    def __init__(
        self, score: Callable[[str | None], float], budget: int, description: str, events: EventSink
    ):
        self.score = score
        self.budget = budget
        self.uses = 0
        self.str = description
        self.events = events
        self.best: tuple[float, str | None] | None = None

    def __call__(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("use_sandbox") is False:
            self.events(USE_SANDBOX_FALSE, {"uses": self.uses, "line": _line(params)})
        if self.uses >= self.budget:
            self.events(UTILITY_BUDGET_EXCEEDED, {"uses": self.uses, "budget": self.budget})
            return {"score": 0.0, "uses": self.uses}
        self.uses += 1
        solution = params.get("solution")
        value = self.score(solution if isinstance(solution, str) else None)
        if not is_unit_score(value):
            # A scorer bug or a reward hack: recorded, scored 0, never clipped.
            self.events(UTILITY_OUT_OF_RANGE, {"score": repr(value)[:100], "uses": self.uses})
            value = 0.0
        return {"score": value, "uses": self.uses}


class LanguageModelHandle:
    """Host side of `language_model`: one budget unit per call, at most N messages per call."""

    def __init__(
        self,
        sample: Callable[[str, list[str], float], list[str]],
        budget: int,
        max_responses_per_call: int,
        events: EventSink,
    ):
        self.sample = sample
        self.budget = budget
        self.max_responses_per_call = max_responses_per_call
        self.events = events

    def __call__(self, params: dict[str, Any]) -> dict[str, Any]:
        messages = params.get("messages") or []
        if self.budget <= 0:
            self.events(LM_BUDGET_EXCEEDED, {"messages": len(messages)})
            raise HandleError("BudgetExceeded", "the language model's call budget is spent")
        if len(messages) > self.max_responses_per_call:
            raise HandleError(
                "ValueError",
                f"at most {self.max_responses_per_call} messages per call, got {len(messages)}",
            )
        self.budget -= 1
        temperature = min(max(float(params.get("temperature", 0.7)), 0.0), 2.0)
        responses = self.sample(str(params.get("expertise", "")), messages, temperature)
        return {"responses": responses, "budget": self.budget}


MAX_NOTICES = 100  # per invocation: a child cannot flood the run store with notices


def make_handler(utility: UtilityHandle, language_model: LanguageModelHandle) -> Handler:
    """Route a child's calls to the host handles.

    "notice" (a proxy reporting an attempt to set one of its protected attributes) is recorded
    as a `handle_setattr` event and answered None; any other unknown method is recorded as
    `unknown_method` and refused.
    """
    notices = [0]

    def handle(method: str, params: dict[str, Any]) -> Any:
        if method == "utility":
            return utility(params)
        if method in ("batch_prompt", "prompt"):
            return language_model(params)
        if method == "notice":
            notices[0] += 1
            if notices[0] <= MAX_NOTICES:
                utility.events(HANDLE_SETATTR, _notice_detail(params))
            return None
        utility.events(UNKNOWN_METHOD, {"method": method[:100]})
        raise HandleError("RemoteError", f"unknown method {method!r}")

    return handle


def _line(params: dict[str, Any]) -> int | None:
    line = params.get("line")
    return line if isinstance(line, int) and not isinstance(line, bool) else None


def _notice_detail(params: dict[str, Any]) -> dict[str, Any]:
    """Only known fields, as short strings: the child wrote them."""
    detail: dict[str, Any] = {
        key: str(params.get(key))[:100] for key in ("handle", "attribute", "action", "value")
    }
    detail["line"] = _line(params)
    return detail


def handle_spec(
    initial_solution: str, utility: UtilityHandle, language_model: LanguageModelHandle
) -> HandleSpec:
    return HandleSpec(
        initial_solution=initial_solution,
        utility_budget=utility.budget,
        utility_str=utility.str,
        lm_budget=language_model.budget,
        max_responses_per_call=language_model.max_responses_per_call,
    )
