"""Why an improver scored 0: its invocations that failed, per improver and task.

An improver that raises every time scores 0 on every task; the error itself is only in the
invocations table. `invocation_failures` counts, per (improver, task), the invocations that did
not end "ok" and keeps the first error line, for the console and `--json` of `run`, `compare`
and `transfer`. The task is read from the invocation's purpose: "meta_utility:TASK:R" for an
improver improving a solution, "stop:t=N" for an improver improving itself ("self").
"""

from __future__ import annotations

from typing import Any

from selftaught.store import RunStore


def invocation_failures(store: RunStore) -> list[dict[str, Any]]:
    """[{improver, task, failed, invocations, first_error}] for each (improver, task) with a
    failed invocation, in the order of the first failure."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for improver, purpose, status, error in store.invocations():
        key = (improver, _task(purpose))
        group = groups.setdefault(
            key, {"improver": improver, "task": key[1], "failed": 0, "invocations": 0}
        )
        group["invocations"] += 1
        if status != "ok":
            group["failed"] += 1
            group.setdefault("first_error", _first_line(status, error))
    return [g for g in groups.values() if g["failed"]]


def failure_lines(failures: list[dict[str, Any]]) -> list[str]:
    """One console line per (improver, task) with failures."""
    return [
        f"improver {f['improver'][:12]} on {f['task']}: {f['failed']} of {f['invocations']} "
        f"invocations failed; first: {f['first_error']}"
        for f in failures
    ]


def _task(purpose: str) -> str:
    kind, _, rest = purpose.partition(":")
    if kind == "meta_utility":
        return rest.rsplit(":", 1)[0]
    return "self" if kind == "stop" else purpose


def _first_line(status: str, error: str | None) -> str:
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    return f"{status}: {lines[0][:200]}" if lines else status
