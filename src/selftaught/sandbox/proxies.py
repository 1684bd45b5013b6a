"""The child's side of the trust line: the `utility` and `language_model` an improver sees.

`child_handles` builds proxies with the paper's interface whose every call goes to the host
over the child's pipe, where `selftaught.handles` enforces the budgets. Only the host's numbers
count: a proxy's protected attributes cannot be set by improver code (an attempt is reported).
Runs inside a sandboxed child; imports nothing above `sandbox/`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

Call = Callable[[str, dict[str, Any]], Any]


class BudgetExceeded(Exception):
    """Raised in the child when the language model's call budget is spent."""


class RemoteError(Exception):
    """Raised in the child when the host refused a call for another reason."""


# ---- protected proxy attributes (docs/safety.md)
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
    """`utility(solution, use_sandbox=True) -> float` with `.budget`, `.uses` and `.str`, and
    `utility.why(solution) -> dict`: why a scored solution scored what it did."""

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

    def why(self, solution: str) -> dict[str, Any]:
        """Why `solution`, already scored by this utility, scored what it did: a dict with
        "status" (ok, error, timeout, wrong_output_type, no_entry_function, not_scored, ...),
        "score", "error", "line", "code", "expected", "returned" (selftaught/feedback.py).
        Costs no utility use; a solution not scored yet gives status "not_scored"."""
        if not isinstance(solution, str):
            raise ValueError("utility.why takes the solution's source code, a str")
        return dict(self._call("why", {"solution": solution}))


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
