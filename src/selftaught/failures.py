"""Why an improver scored 0: its invocations that failed, per improver and task, and the
solutions it returned that scored 0.

An improver that raises every time scores 0 on every task; the error itself is only in the
invocations table. `invocation_failures` counts, per (improver, task), the invocations that did
not end "ok" and keeps the first error line, for the console and `--json` of `run`, `compare`
and `transfer`. `zero_score_lines` says, per task, how many of the solutions scored on val
scored 0 and the commonest recorded reason (an improver can succeed and still hand back a program
that never defines the entry function). The task is the invocation's (store column `task`), or
"self" for an improver improving itself (level "stop").
"""

from __future__ import annotations

from typing import Any

from selftaught.records import Level, ZeroScoreCount
from selftaught.store.queries import RunQueries


def invocation_failures(store: RunQueries) -> list[dict[str, Any]]:
    """[{improver, task, failed, invocations, first_error}] for each (improver, task) with a
    failed invocation, in the order of the first failure."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for run in store.invocations():
        key = (run.improver, "self" if run.level == Level.STOP else str(run.task))
        group = groups.setdefault(
            key, {"improver": run.improver, "task": key[1], "failed": 0, "invocations": 0}
        )
        group["invocations"] += 1
        if run.status != "ok":
            group["failed"] += 1
            group.setdefault("first_error", first_error_line(run.status, run.error))
    return [g for g in groups.values() if g["failed"]]


def failure_lines(failures: list[dict[str, Any]]) -> list[str]:
    """One console line per (improver, task) with failures."""
    return [
        f"improver {f['improver'][:12]} on {f['task']}: {f['failed']} of {f['invocations']} "
        f"invocations failed; first: {f['first_error']}"
        for f in failures
    ]


def first_error_line(status: str, error: str | None) -> str:
    """The console's form of a failure: the status and the error's first line (200 characters
    at most), or the status alone."""
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    return f"{status}: {lines[0][:200]}" if lines else status


def zero_score_lines(zero_scores: list[ZeroScoreCount]) -> list[str]:
    """One console line per task on which a solution scored 0 on val (`RunQueries.zero_scores`)."""
    lines = []
    for z in zero_scores:
        if not z.zero:
            continue
        line = f"solutions on {z.task}: {z.zero} of {z.scored} scored 0 on val"
        if z.reason:
            reason = z.reason.splitlines()[0][:200]
            line += f"; commonest reason ({z.reason_count}): {reason}"
        lines.append(line + " (selftaught report shows each)")
    return lines
