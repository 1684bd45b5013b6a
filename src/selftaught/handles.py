"""The host side of what improver code sees: the utility and the language model, with budgets.

`UtilityHandle` and `LanguageModelHandle` enforce the budgets, do the work and record what
happened; `make_handler` routes a child's calls to them. The child's side of the same calls,
the proxies with the paper's interface, lives in `sandbox/proxies.py`: nothing the child sets
on its proxies (`utility.budget = 10**9`) reaches the host. See docs/architecture.md, "The
trust line".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from selftaught import sizes
from selftaught.events import (
    HANDLE_SETATTR,
    LM_BUDGET_EXCEEDED,
    UNKNOWN_METHOD,
    USE_SANDBOX_FALSE,
    UTILITY_BUDGET_EXCEEDED,
    UTILITY_OUT_OF_RANGE,
    WHY_BUDGET_EXCEEDED,
)
from selftaught.feedback import NOT_SCORED, Why
from selftaught.sandbox.api import HandleError, Handler, HandleSpec, Served
from selftaught.scores import UNIT, Bounds, in_bounds

EventSink = Callable[[str, dict[str, Any]], None]
Explain = Callable[[str], Why]  # why a solution scored what it did (selftaught/feedback.py)
MAX_WHY_CHARS = 200_000  # a longer "solution" is refused with ValueError, unhashed
WHY_PER_USE = 4  # `utility.why` calls allowed per utility use of the budget, plus WHY_EXTRA
WHY_EXTRA = 8
REFUSED = Why(status="refused", error="utility.why was called too often in this invocation")


class _Call(BaseModel):
    """The parameters of one call from a child, checked field by field before the host uses
    them: the proxy builds them, but a child may call the proxy's `_call` with anything."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    @classmethod
    def parse(cls, method: str, params: Any) -> Any:
        """The typed call, or a HandleError that the child's proxy raises as ValueError."""
        try:
            return cls.model_validate(params)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "params"
            raise HandleError("ValueError", f"bad {method} call: {where}: {first['msg']}") from None


class UtilityCall(_Call):
    solution: str | None = None
    use_sandbox: bool = True
    line: int | None = Field(None, ge=0, le=10**9)


class WhyCall(_Call):
    solution: str = Field(max_length=MAX_WHY_CHARS)


class PromptCall(_Call):
    expertise: str = ""
    messages: list[str] = []
    temperature: float = Field(0.7, allow_inf_nan=False)


class UtilityHandle:
    """Host side of `utility`: counts uses against the budget, scores through `score`.

    Past the budget a call scores 0 (the paper's behaviour) and is recorded as a safety event;
    `use_sandbox=False` is ignored and recorded: nothing a child asks turns isolation off. A
    score outside `bounds` (the task's: [0, 1], or None on its evaluator's own scale, where
    only a score that is not a finite number is out) counts 0 and is recorded.
    """

    def __init__(
        self,
        score: Callable[[str | None], float],
        budget: int,
        description: str,
        events: EventSink,
        explain: Explain | None = None,
        bounds: Bounds = UNIT,
    ):
        self.score = score
        self.bounds = bounds
        self.budget = budget
        self.uses = 0
        self.str = description
        self.events = events
        self.best: tuple[float, str | None] | None = None
        self.explain = explain
        self.scored: set[str] = set()  # SHA-256 of the solutions this invocation paid to score
        self.why_calls = 0
        self.why_cap = WHY_PER_USE * budget + WHY_EXTRA

    def __call__(self, params: dict[str, Any]) -> dict[str, Any]:
        call = UtilityCall.parse("utility", params)
        if call.use_sandbox is False:
            self.events(USE_SANDBOX_FALSE, {"uses": self.uses, "line": call.line})
        if self.uses >= self.budget:
            self.events(UTILITY_BUDGET_EXCEEDED, {"uses": self.uses, "budget": self.budget})
            return {"score": 0.0, "uses": self.uses}
        self.uses += 1
        if call.solution is not None:
            self.scored.add(_digest(call.solution))
        value = self.score(call.solution)
        if not in_bounds(value, self.bounds):
            # A scorer bug or a reward hack: recorded, scored 0, never clipped.
            self.events(UTILITY_OUT_OF_RANGE, {"score": repr(value)[:100], "uses": self.uses})
            value = 0.0
        return {"score": value, "uses": self.uses}

    def why(self, params: dict[str, Any]) -> dict[str, Any]:
        """Why a solution this invocation scored scored what it did (`feedback.Why`); a
        solution it did not score is "not_scored" (the host says nothing about programs the
        improver did not pay for). Past `why_cap` calls: "refused", recorded, never raised."""
        call = WhyCall.parse("utility.why", params)
        self.why_calls += 1
        if self.why_calls > self.why_cap:
            self.events(WHY_BUDGET_EXCEEDED, {"calls": self.why_calls, "cap": self.why_cap})
            return REFUSED.reply()
        if self.explain is None or _digest(call.solution) not in self.scored:
            return NOT_SCORED.reply()
        return self.explain(call.solution).reply()


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


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
        call = PromptCall.parse("batch_prompt", params)
        messages = call.messages
        if self.budget <= 0:
            self.events(LM_BUDGET_EXCEEDED, {"messages": len(messages)})
            raise HandleError("BudgetExceeded", "the language model's call budget is spent")
        if len(messages) > self.max_responses_per_call:
            raise HandleError(
                "ValueError",
                f"at most {self.max_responses_per_call} messages per call, got {len(messages)}",
            )
        longest = max((len(m) for m in messages), default=0) + len(call.expertise)
        if longest > sizes.PROMPT_CHARS:  # refused unsent and unspent (docs/reliability.md)
            raise HandleError(
                "ValueError",
                f"a prompt (expertise and message) of {longest:,} characters; at most "
                f"{sizes.PROMPT_CHARS:,} characters per message",
            )
        self.budget -= 1
        temperature = min(max(call.temperature, 0.0), 2.0)
        responses = self.sample(call.expertise, messages, temperature)
        return {"responses": responses, "budget": self.budget}


MAX_NOTICES = 100  # per invocation: a child cannot flood the run store with notices


def make_handler(utility: UtilityHandle, language_model: LanguageModelHandle) -> Handler:
    """Route a child's calls to the host handles.

    "notice" (a proxy reporting an attempt to set one of its protected attributes) is recorded
    as a `handle_setattr` event and answered None; any other unknown method is recorded as
    `unknown_method` and refused.
    """
    notices = [0]

    def handle(method: str, params: dict[str, Any]) -> Served:
        if method == "utility":
            before = utility.uses
            reply = utility(params)
            return Served(reply, budgeted=utility.uses > before)
        if method == "why":
            return Served(utility.why(params), budgeted=False)
        if method in ("batch_prompt", "prompt"):
            return Served(language_model(params), budgeted=True)  # a refusal raises
        if method == "notice":
            notices[0] += 1
            if notices[0] <= MAX_NOTICES:
                utility.events(HANDLE_SETATTR, _notice_detail(params))
            return Served(None, budgeted=False)
        utility.events(UNKNOWN_METHOD, {"method": method[:100]})
        raise HandleError("RemoteError", f"unknown method {method!r}")

    return handle


def _notice_detail(params: dict[str, Any]) -> dict[str, Any]:
    """Only known fields, and only if of the right type: a notice records an attempt, so a
    malformed one is still recorded, with "?" (or no line) for what the child got wrong."""
    detail: dict[str, Any] = {}
    for key in ("handle", "attribute", "action", "value"):
        value = params.get(key)
        detail[key] = value[:100] if isinstance(value, str) else "?"
    line = params.get("line")
    ok = isinstance(line, int) and not isinstance(line, bool) and 0 <= line <= 10**9
    detail["line"] = line if ok else None
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
