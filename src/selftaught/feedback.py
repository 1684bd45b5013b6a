"""Why a program scored what it did, for improvers: `utility.why(solution) -> dict`.

An improver that has scored a solution on val may ask why it scored what it did. The answer is
built in the host from the host's own record: the val evaluation of that solution (its
per-instance outcomes and failure) at the task level, or the meta-utility's invocations of that
improver at the meta level. It carries only what the child that ran the program saw or
produced itself: its outcome status, the last line of the exception it raised, the line of the
program that raised it (number and text, taken from the program's own source), and, for an
output of the wrong type, the expected and returned type names. Never the test split, an
instance's answer, or what a task's scorer said about an output beyond those type names
(docs/safety.md, "Why a program failed").
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict

from selftaught.utility import Evaluation

# The child appends "(candidate line N)" to an exception's text (sandbox/child.describe).
_LINE = re.compile(r"\s*\(candidate line (\d+)\)$")
# A scorer's reason about an output's type, e.g. "expected a str, got int": only such type
# names are passed on; any other scorer reason could carry the instance's answer.
_TYPES = re.compile(r"^expected (?:an? )?([A-Za-z_][A-Za-z_.]*), got ([A-Za-z_][A-Za-z_.]*)$")
_NO_ENTRY = re.compile(
    r"^(NameError: no function named '\w+'|AttributeError: module 'candidate' has no attribute)"
)
_CHILD_STATUSES = frozenset(
    ("error cpu_limit memory_limit output_too_large killed no_result sandbox_violation").split()
)
MAX_TEXT = 300  # characters of an error or a source line


class Why(BaseModel):
    """The reply of `utility.why`: plain JSON, the same fields at both levels."""

    model_config = ConfigDict(frozen=True)

    status: str  # ok, error, timeout, wrong_output_type, no_entry_function, not_scored, ...
    score: float | None = None  # the val score the improver was already told
    failed: int = 0  # instances (task level) or invocations (meta level) that did not succeed
    total: int = 0
    error: str | None = None  # "Type: message", as the program's own child reported it
    line: int | None = None  # the line of the program the error points at
    code: str | None = None  # that line's text, from the program's source
    expected: str | None = None  # the type the task expects, when the output had another
    returned: str | None = None

    def reply(self) -> dict[str, Any]:
        return self.model_dump()


NOT_SCORED = Why(status="not_scored")
NOT_RECORDED = Why(status="not_recorded")  # scored, but the host kept no record of it


def explain_evaluation(evaluation: Evaluation, solution: str, *, wrapped: bool = False) -> Why:
    """Why `solution` scored what it did in its (val) `evaluation`. `wrapped`: the task ran it
    inside a harness, so the child's line numbers are not the solution's own."""
    rows = evaluation.instances
    if not rows:  # nothing ran: no code, or a check refused it before running
        status = "no_code" if evaluation.failure == "no solution code" else "refused"
        return Why(status=status, score=evaluation.score)
    failed = [r for r in rows if r.get("status") != "ok"]
    if not failed:
        return Why(status="ok", score=evaluation.score, total=len(rows))
    commonest = Counter((r.get("status"), r.get("reason")) for r in failed).most_common(1)
    status, reason = commonest[0][0]
    why = _outcome(str(status), str(reason or ""), solution, wrapped)
    return why.model_copy(update={"score": evaluation.score, "failed": len(failed),
                                  "total": len(rows)})  # fmt: skip


def explain_invocations(outcomes: list[tuple[str, str | None, bool]], improver: str) -> Why:
    """Why an improver scored what it did under the meta-utility: `outcomes` are its recorded
    invocations there, (status, error, returned a str), all on val."""
    if not outcomes:
        return NOT_RECORDED
    failed = [(s, e) for s, e, returned in outcomes if s != "ok" or not returned]
    if not failed:
        return Why(status="ok", total=len(outcomes))
    status, error = Counter(failed).most_common(1)[0][0]
    if status == "ok":
        why = Why(status="no_result", error="improve_algorithm returned no str")
    else:
        why = _outcome(status, error or "", improver, False)
    return why.model_copy(update={"failed": len(failed), "total": len(outcomes)})


def _outcome(status: str, reason: str, source: str, wrapped: bool) -> Why:
    if status == "timeout":
        return Why(status="timeout", error="took longer than the time limit")
    if status == "invalid_output":
        types = _TYPES.match(reason)
        if types:
            return Why(status="wrong_output_type", expected=types[1], returned=types[2])
        return Why(status="invalid_output")  # the scorer's words stay in the host
    if status not in _CHILD_STATUSES:
        return Why(status="error")
    error, line = _split_line(reason)
    if _NO_ENTRY.match(error):
        status = "no_entry_function"
    code = None
    if line is not None and not wrapped:
        lines = source.splitlines()
        code = lines[line - 1].strip()[:MAX_TEXT] if 0 < line <= len(lines) else None
    return Why(status=status, error=error[:MAX_TEXT] or None, line=None if wrapped else line,
               code=code)  # fmt: skip


def _split_line(reason: str) -> tuple[str, int | None]:
    """(the error's first line, "Type: message", and the candidate line the child named)."""
    text = reason.strip()
    found = _LINE.search(text)
    line = int(found[1]) if found else None
    text = text[: found.start()] if found else text
    first = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return first, line
