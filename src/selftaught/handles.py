"""What improver code sees: the utility and the language model, on both sides of the trust line.

In the child, `child_handles` builds proxies with the paper's interface whose every call goes
to the host over the child's pipe. In the host, `UtilityHandle` and `LanguageModelHandle`
enforce the budgets, do the work and record what happened; `make_handler` routes the child's
calls to them. Nothing the child sets on its proxies (`utility.budget = 10**9`) reaches the host.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from selftaught.sandbox.api import HandleError, Handler, HandleSpec, Served

# ----------------------------------------------------------------------------- child side

Call = Callable[[str, dict[str, Any]], Any]


class BudgetExceeded(Exception):
    """Raised in the child when the language model's call budget is spent."""


class RemoteError(Exception):
    """Raised in the child when the host refused a call for another reason."""


# ---- safety: protected proxy attributes (issue #7)
# Improver code may read these but not set them: an assignment (`utility.budget = 1000`) or a
# deletion is ignored, so the child keeps seeing the host's numbers, and is reported to the
# host as a "notice" call, which records it as a `handle_setattr` event. The host never relied
# on these values anyway; ignoring them keeps loops like `while utility.uses < utility.budget`
# finite.
PROTECTED = frozenset({"budget", "uses", "max_responses_per_call", "_call"})


def candidate_line() -> int | None:
    """The line of candidate code (filename "<candidate>") that called into a proxy."""
    try:
        frame = sys._getframe(1)
    except ValueError:
        return None
    while frame is not None:
        if frame.f_code.co_filename == "<candidate>":
            return frame.f_lineno
        frame = frame.f_back
    return None


class _Guarded:
    """Base of the child proxies: protected attributes change only through `_set`."""

    _handle = "handle"

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in PROTECTED:
            self._notice("set", name, value)
            return
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name in PROTECTED:
            self._notice("delete", name, None)
            return
        object.__delattr__(self, name)

    def _notice(self, action: str, name: str, value: Any) -> None:
        try:
            text = repr(value)[:100]
        except Exception:  # noqa: BLE001 - a hostile __repr__ must not hide the attempt
            text = "?"
        params = {"kind": "handle_setattr", "handle": self._handle, "attribute": name,
                  "action": action, "value": text, "line": candidate_line()}  # fmt: skip
        try:
            object.__getattribute__(self, "_call")("notice", params)
        except Exception:  # noqa: BLE001 - reporting must never break the improver
            pass


class UtilityProxy(_Guarded):
    """`utility(solution, use_sandbox=True) -> float` with `.budget`, `.uses` and `.str`."""

    _handle = "utility"

    def __init__(self, call: Call, budget: int, description: str):
        self._set("_call", call)
        self._set("budget", budget)
        self._set("uses", 0)
        self.str = description

    def __call__(self, solution: Any, use_sandbox: bool = True, **_ignored: Any) -> float:
        params = {
            "solution": solution if isinstance(solution, str) else None,
            "use_sandbox": use_sandbox is True,
        }
        if use_sandbox is not True:  # say where, for the safety report
            params["line"] = candidate_line()
        reply = self._call("utility", params)
        self._set("uses", reply["uses"])
        return float(reply["score"])


class LanguageModelProxy(_Guarded):
    """The paper's language-model handle: `batch_prompt`, `prompt`, `.budget` and
    `.max_responses_per_call`."""

    _handle = "language_model"

    def __init__(self, call: Call, budget: int, max_responses_per_call: int):
        self._set("_call", call)
        self._set("budget", budget)
        self._set("max_responses_per_call", max_responses_per_call)

    def batch_prompt(
        self,
        expertise: str,
        message_batch: list[str] | str,
        temperature: float | None = 0.7,
        **_: Any,
    ) -> list[str]:
        if isinstance(message_batch, str):
            message_batch = [message_batch]
        params = {
            "expertise": str(expertise),
            "messages": [str(m) for m in message_batch],
            "temperature": 0.7 if temperature is None else float(temperature),
        }
        reply = self._call("batch_prompt", params)
        self._set("budget", reply["budget"])
        return list(reply["responses"])

    def prompt(
        self,
        expertise: str,
        message: str,
        n_responses: int = 1,
        temperature: float | None = 0.7,
        **_: Any,
    ) -> list[str]:
        return self.batch_prompt(expertise, [message] * int(n_responses), temperature)


def child_handles(call: Call, spec: dict[str, Any]) -> tuple[UtilityProxy, LanguageModelProxy]:
    """The proxies an improver child hands to `improve_algorithm`."""
    utility = UtilityProxy(call, spec["utility_budget"], spec["utility_str"])
    language_model = LanguageModelProxy(call, spec["lm_budget"], spec["max_responses_per_call"])
    return utility, language_model


def raise_remote(kind: str, message: str) -> None:
    """Turn a host refusal into the exception improver code expects."""
    if kind == "BudgetExceeded":
        raise BudgetExceeded(message)
    if kind == "ValueError":
        raise ValueError(message)
    raise RemoteError(f"{kind}: {message}")


# ------------------------------------------------------------------------------ host side

EventSink = Callable[[str, dict[str, Any]], None]


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


class PromptCall(_Call):
    expertise: str = ""
    messages: list[str] = []
    temperature: float = Field(0.7, allow_inf_nan=False)


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
        call = UtilityCall.parse("utility", params)
        if call.use_sandbox is False:
            self.events("use_sandbox_false", {"uses": self.uses, "line": call.line})
        if self.uses >= self.budget:
            self.events("utility_budget_exceeded", {"uses": self.uses, "budget": self.budget})
            return {"score": 0.0, "uses": self.uses}
        self.uses += 1
        value = self.score(call.solution)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= 1):
            # A scorer bug or a reward hack: recorded, scored 0, never clipped.
            self.events("utility_out_of_range", {"score": repr(value)[:100], "uses": self.uses})
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
        call = PromptCall.parse("batch_prompt", params)
        messages = call.messages
        if self.budget <= 0:
            self.events("lm_budget_exceeded", {"messages": len(messages)})
            raise HandleError("BudgetExceeded", "the language model's call budget is spent")
        if len(messages) > self.max_responses_per_call:
            raise HandleError(
                "ValueError",
                f"at most {self.max_responses_per_call} messages per call, got {len(messages)}",
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
        if method in ("batch_prompt", "prompt"):
            return Served(language_model(params), budgeted=True)  # a refusal raises
        if method == "notice":
            notices[0] += 1
            if notices[0] <= MAX_NOTICES:
                utility.events("handle_setattr", _notice_detail(params))
            return Served(None, budgeted=False)
        utility.events("unknown_method", {"method": method[:100]})
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
