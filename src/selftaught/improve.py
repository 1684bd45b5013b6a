"""One improver invocation, I(s, u, L), run in a sandboxed child.

The child sees proxies; the host handles given here enforce the budgets. Everything the
invocation did is recorded: the program (once, with its static-scan findings as safety events),
the invocation's outcome, and the child's audit log.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from selftaught import safety
from selftaught.handles import LanguageModelHandle, UtilityHandle, handle_spec, make_handler
from selftaught.sandbox import Limits, Sandbox
from selftaught.sandbox.scan import scan
from selftaught.store import RunStore, sha256


@dataclass
class Recorder:
    """Stores programs and safety events; scans each program the first time it is seen.

    `iteration` (set by the STOP loop) is added to every event's detail as "t", so that the
    store can count events per iteration.
    """

    store: RunStore | None

    def __post_init__(self) -> None:
        self._scanned: set[str] = set()
        self._lock = threading.Lock()  # concurrent invocations record through one recorder
        self.iteration: int | None = None

    def program(self, source: str, kind: str) -> str:
        digest = self.store.put_program(source, kind) if self.store else sha256(source)
        with self._lock:
            first = digest not in self._scanned
            self._scanned.add(digest)
        if first:
            for finding in scan(source) + safety.scan_extra(source):
                self.event(f"static:{finding['kind']}", digest, finding)
        return digest

    def event(self, kind: str, program: str | None, detail: dict) -> None:
        if self.store:
            if self.iteration is not None and "t" not in detail:
                detail = {**detail, "t": self.iteration}
            self.store.record_event(kind, program, detail)

    def sink(self, program: str) -> EventCap:
        """An event sink for the host handles of one invocation of `program`."""
        return EventCap(lambda kind, detail: self.event(kind, program, detail))


class EventCap:
    """One invocation's event sink: the first `EXAMPLES` events of each kind are recorded in
    full, later ones only counted, and `flush` (at the invocation's end) records one more event
    of that kind with the count, so that an improver calling `utility()` in an endless loop
    writes a handful of rows, not hundreds of thousands."""

    EXAMPLES = 5

    def __init__(self, record: Callable[[str, dict], None]):
        self.record = record
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, kind: str, detail: dict) -> None:
        with self._lock:
            self.counts[kind] = count = self.counts.get(kind, 0) + 1
        if count <= self.EXAMPLES:
            self.record(kind, detail)

    def flush(self) -> None:
        with self._lock:
            over = {k: n for k, n in self.counts.items() if n > self.EXAMPLES}
            self.counts.clear()
        for kind, count in over.items():
            self.record(kind, {"count": count, "not_recorded": count - self.EXAMPLES})


def improve(
    improver: str,
    initial_solution: str,
    utility: UtilityHandle,
    language_model: LanguageModelHandle,
    *,
    sandbox: Sandbox,
    recorder: Recorder,
    limits: Limits,
    seed: int,
    purpose: str,
) -> str | None:
    """Run `improve_algorithm` from `improver`; its result if it returned a string, else None."""
    program = recorder.program(improver, "improver")
    spec = handle_spec(initial_solution, utility, language_model)
    run = sandbox.run_improver(
        improver, spec, make_handler(utility, language_model), seed=seed, limits=limits
    )
    for sink in {id(h.events): h.events for h in (utility, language_model)}.values():
        if isinstance(sink, EventCap):
            sink.flush()
    result = run.result if run.status == "ok" and isinstance(run.result, str) else None
    for line in run.audit:
        recorder.event("audit", program, {"event": line})
    if safety.refused_syscall(run.status, run.error):  # the kernel said no (issue #7)
        recorder.event("refused_syscall", program, {"status": run.status, "error": run.error})
    if recorder.store:
        initial = recorder.store.put_program(initial_solution, "input")
        recorder.store.record_invocation(
            program,
            initial,
            purpose,
            {
                "status": run.status,
                "result": recorder.program(result, "output") if result else None,
                "error": run.error,
                "seconds": run.seconds,
                "layers": run.layers,
            },
        )
    return result
