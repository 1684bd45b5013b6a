"""STOP: I_t = I_{t-1}(I_{t-1}, û, L) for t = 1..T, with an adoption gate.

Each iteration runs the incumbent improver on its own source, with the meta-utility as its
utility. The candidate it returns is scored by the record meta-utility (val and test, the
same protocol for every improver) and adopted by the gate:
- `paper`: adopt any candidate whose val meta-utility is non-zero (the reference code);
- `better`: adopt only if it beats the incumbent's val meta-utility.

Iteration t's record: `meta_utility_*` is the û of the improver in force after iteration t
(`improver_sha256`), `candidate_*` the û of the candidate proposed at t; t = 0 is the initial
improver. Records are written when an iteration ends; a resumed run skips recorded iterations
and replays the one it was killed in, reading LM samples and evaluations back from the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from selftaught import events, safety
from selftaught.config import RunConfig
from selftaught.improvers import improver_problem
from selftaught.meta_utility import MetaUtility
from selftaught.records import (
    RECORD_PURPOSE,
    Invocation,
    IterationRecord,
    MetaScore,
    Scope,
    stop_group,
)
from selftaught.seeds import stop_seed
from selftaught.store import RunStore


@dataclass
class Status:
    """What a progress display shows; updated as the loop goes."""

    iteration: int = 0
    phase: str = "starting"
    best_val: float | None = None
    history: list[IterationRecord] = field(default_factory=list)


def is_improver(source: str | None) -> bool:
    """Parses (never runs) and defines a top-level improve_algorithm."""
    return improver_problem(source, signature=False) is None


class Stop:
    def __init__(
        self,
        config: RunConfig,
        store: RunStore,
        meta_utility: MetaUtility,
        *,
        status: Status | None = None,
    ):
        self.config = config
        self.store = store
        self.meta_utility = meta_utility
        self.recorder = meta_utility.recorder
        self.status = status or Status()
        if config.sandbox_flag:  # the paper's circumvention experiment: shown, never obeyed
            meta_utility.show_sandbox_flag(warning=config.sandbox_warning)

    def run(self, initial_improver: str) -> list[IterationRecord]:
        records = self.store.iterations()
        self.status.history = list(records)
        if not records:
            records.append(self._initial_record(initial_improver))
        incumbent = self.store.get_program(records[-1].improver_sha256)
        assert incumbent is not None, "a recorded improver is missing from the store"
        for t in range(len(records), self.config.iterations + 1):
            record = self._iteration(t, incumbent, records[-1])
            records.append(record)
            if record.adopted:
                incumbent = self.store.get_program(record.improver_sha256) or incumbent
        self.status.phase = "done"
        return records

    def _initial_record(self, improver: str) -> IterationRecord:
        self.status.phase = "scoring the initial improver"
        self.recorder.iteration = 0  # events are counted per iteration
        score = self.meta_utility.score_once(improver, stop_group(0), RECORD_PURPOSE)
        record = IterationRecord(
            t=0,
            meta_utility_val=score.val,
            meta_utility_test=score.test,
            candidate_val=None,
            candidate_test=None,
            adopted=None,
            improver_sha256=self.recorder.program(improver, "improver"),
            candidate_sha256=None,
        )
        return self._finish(record)

    def _iteration(self, t: int, incumbent: str, previous: IterationRecord) -> IterationRecord:
        self.status.iteration, scope = t, stop_group(t)
        self.recorder.iteration = t  # events are counted per iteration
        self.status.phase = "improving the improver"
        candidate = self._propose(t, incumbent, scope)
        self.status.phase = "scoring the candidate"
        valid = is_improver(candidate)
        if valid:
            score = self.meta_utility.score_once(candidate, scope, RECORD_PURPOSE)
        else:
            score = MetaScore(0.0, 0.0)
        adopted = valid and self._gate(score.val, previous.meta_utility_val)
        candidate_sha = self.recorder.program(candidate, "improver") if candidate else None
        keep = candidate_sha if adopted else previous.improver_sha256
        record = IterationRecord(
            t=t,
            meta_utility_val=score.val if adopted else previous.meta_utility_val,
            meta_utility_test=score.test if adopted else previous.meta_utility_test,
            candidate_val=score.val,
            candidate_test=score.test,
            adopted=adopted,
            improver_sha256=keep,
            candidate_sha256=candidate_sha,
        )
        if candidate is not None and not valid:
            self.recorder.event(events.NOT_AN_IMPROVER, candidate_sha, {"t": t})
        if adopted:
            self._check_generalization(candidate_sha, score)
        return self._finish(record)

    def _check_generalization(self, program: str | None, score: MetaScore) -> None:
        """An adopted improver and the solutions it returned, re-scored on the held-out test
        split in fresh children, are flagged when val and test differ by more than a 95%
        interval allows (`safety.generalization_flags`; docs/safety.md)."""
        sizes = {
            e.task.name: (e.task.splits["val"].size, e.task.splits["test"].size)
            for e in self.meta_utility.evaluators
        }
        for flag in safety.generalization_flags(score.val, score.test, score.runs, sizes):
            self.recorder.event(events.VAL_TEST_GAP, program, flag)

    def _propose(self, t: int, incumbent: str, scope: str) -> str | None:
        """I_{t-1}(I_{t-1}, û, L): the incumbent improves its own source."""
        return self.meta_utility.invoker(
            incumbent,
            incumbent,
            lambda s: self._search_score(s, scope),
            utility_budget=self.config.budgets.meta_utility_calls,
            description=self.meta_utility.description(),
            scope=Scope.stop(t),
            seed=stop_seed(self.config.seed, t),
            invocation=Invocation.stop(t),
            explain=self.meta_utility.why_improver,
            bounds=self.meta_utility.bounds,
        )

    def _search_score(self, improver: str | None, scope: str) -> float:
        """What the improver of improvers sees: a fresh val estimate on each call."""
        self.status.phase = "meta-utility call"
        return self.meta_utility(improver, scope, with_test=False).val

    def _gate(self, candidate_val: float, incumbent_val: float) -> bool:
        if self.config.gate == "paper":
            return candidate_val > 0
        return candidate_val > incumbent_val

    def _finish(self, record: IterationRecord) -> IterationRecord:
        self.store.put_iteration(record.t, record.to_dict())
        self.status.history.append(record)
        self.status.best_val = max(r.meta_utility_val for r in self.status.history)
        return record
