"""One improver invocation, I(s, u, L), run in a sandboxed child.

The child sees proxies; the host handles given here enforce the budgets. Everything the
invocation did is recorded: the program (once, with its static-scan findings as safety events),
the invocation's outcome, and the child's audit log.

`Invoker` is what every invocation needs besides its inputs (the language model, the budgets,
the sandbox, the recorder and the limits), built once per run: the STOP loop, the meta-utility,
transfer and compare all invoke improvers through it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from selftaught import events, safety
from selftaught.config import Budgets
from selftaught.feedback import Why
from selftaught.handles import LanguageModelHandle, UtilityHandle, handle_spec, make_handler
from selftaught.records import Invocation, Level, Scope
from selftaught.sandbox import Limits, Sandbox
from selftaught.scores import UNIT, Bounds
from selftaught.store import RunStore, sha256

OUTCOMES_PER_IMPROVER = 16  # invocations remembered per improver, for utility.why
OUTCOME_IMPROVERS = 512


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
        # Per improver, its last meta-utility invocations (status, error, returned a str):
        # what `utility.why` says about an improver at the meta level (selftaught/feedback.py).
        self._outcomes: OrderedDict[str, list[tuple[str, str | None, bool]]] = OrderedDict()

    def outcome(self, program: str, invocation: Invocation, status: str, error: str | None,
                returned: bool) -> None:  # fmt: skip
        if invocation.level != Level.META_UTILITY:
            return
        with self._lock:
            kept = self._outcomes.setdefault(program, [])
            kept[:] = [*kept, (status, error, returned)][-OUTCOMES_PER_IMPROVER:]
            self._outcomes.move_to_end(program)
            while len(self._outcomes) > OUTCOME_IMPROVERS:
                self._outcomes.popitem(last=False)

    def outcomes(self, program: str) -> list[tuple[str, str | None, bool]]:
        with self._lock:
            return list(self._outcomes.get(program, []))

    def program(self, source: str, kind: str) -> str:
        digest = self.store.put_program(source, kind) if self.store else sha256(source)
        with self._lock:
            first = digest not in self._scanned
            self._scanned.add(digest)
        if first:
            for finding in safety.scan(source):
                self.event(events.static(finding["kind"]), digest, finding)
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
    invocation: Invocation,
) -> str | None:
    """Run `improve_algorithm` from `improver`; its result if it returned a string, else None."""
    program = recorder.program(improver, "improver")
    spec = handle_spec(initial_solution, utility, language_model)
    started = time.monotonic()
    run = sandbox.run_improver(
        improver, spec, make_handler(utility, language_model), seed=seed, limits=limits
    )
    wall_seconds = time.monotonic() - started  # with the model's calls: run.seconds stops then
    for sink in {id(h.events): h.events for h in (utility, language_model)}.values():
        if isinstance(sink, EventCap):
            sink.flush()
    result = run.result if run.status == "ok" and isinstance(run.result, str) else None
    for line in run.audit:
        recorder.event(events.AUDIT, program, {"event": line})
    if safety.refused_syscall(run.status, run.error):  # the kernel said no
        recorder.event(events.REFUSED_SYSCALL, program, {"status": run.status, "error": run.error})
    recorder.outcome(program, invocation, run.status, run.error, result is not None)
    if recorder.store:
        initial = recorder.store.put_program(initial_solution, "input")
        recorder.store.record_invocation(
            program,
            initial,
            invocation,
            {
                "status": run.status,
                "result": recorder.program(result, "output") if result else None,
                "error": run.error,
                "seconds": run.seconds,
                "wall_seconds": wall_seconds,
                "layers": run.layers,
            },
        )
    return result


# sample(expertise, messages, temperature, scope) -> responses
Sampler = Callable[[str, list[str], float, Scope], list[str]]


@dataclass(frozen=True)
class Invoker:
    """Runs improvers with fresh host handles: the same language model, budgets, sandbox,
    recorder and limits for every invocation of a run."""

    sample: Sampler
    budgets: Budgets
    sandbox: Sandbox
    recorder: Recorder
    limits: Limits

    def __call__(
        self,
        improver: str,
        solution: str,
        score: Callable[[str | None], float],
        *,
        utility_budget: int,
        description: str,
        scope: Scope,
        seed: int,
        invocation: Invocation,
        explain: Callable[[str], Why] | None = None,
        bounds: Bounds = UNIT,
    ) -> str | None:
        """I(solution, u, L): `score` is u behind a budget of `utility_budget` calls, described
        to the improver by `description`, and `explain` answers its `utility.why`; `bounds`
        are where u's scores live (None: the task's own scale); L draws its samples in
        `scope`."""
        sink = self.recorder.sink(self.recorder.program(improver, "improver"))
        utility = UtilityHandle(score, utility_budget, description, sink, explain, bounds)
        language_model = LanguageModelHandle(
            lambda e, m, t: self.sample(e, m, t, scope),
            self.budgets.lm_calls,
            self.budgets.responses_per_call,
            sink,
        )
        return improve(
            improver,
            solution,
            utility,
            language_model,
            sandbox=self.sandbox,
            recorder=self.recorder,
            limits=self.limits,
            seed=seed,
            invocation=invocation,
        )
