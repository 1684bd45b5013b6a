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

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from selftaught import safety
from selftaught.config import RunConfig
from selftaught.handles import LanguageModelHandle, UtilityHandle
from selftaught.improve import Recorder, improve
from selftaught.meta_utility import MetaScore, MetaUtility
from selftaught.sandbox import Limits, Sandbox
from selftaught.seeds import derive_seed
from selftaught.store import RunStore

MAX_SOURCE_CHARS = 200_000  # larger "improvers" are not parsed in the host


@dataclass
class Status:
    """What a progress display shows; updated as the loop goes."""

    iteration: int = 0
    phase: str = "starting"
    best_val: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


def is_improver(source: str | None) -> bool:
    """Parses (never runs) and defines a top-level improve_algorithm."""
    if not isinstance(source, str) or len(source) > MAX_SOURCE_CHARS:
        return False
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(isinstance(n, ast.FunctionDef) and n.name == "improve_algorithm" for n in tree.body)


class Stop:
    def __init__(
        self,
        config: RunConfig,
        store: RunStore,
        meta_utility: MetaUtility,
        sample: Callable[[str, list[str], float, str], list[str]],
        *,
        sandbox: Sandbox,
        recorder: Recorder,
        limits: Limits,
        status: Status | None = None,
    ):
        self.config = config
        self.store = store
        self.meta_utility = meta_utility
        self.sample = sample
        self.sandbox = sandbox
        self.recorder = recorder
        self.status = status or Status()
        self.limits = limits
        if config.sandbox_flag:  # the paper's circumvention experiment: shown, never obeyed
            meta_utility.show_sandbox_flag(warning=config.sandbox_warning)

    def run(self, initial_improver: str) -> list[dict[str, Any]]:
        records = self.store.iterations()
        self.status.history = list(records)
        if not records:
            records.append(self._initial_record(initial_improver))
        incumbent = self.store.get_program(records[-1]["improver_sha256"])
        assert incumbent is not None, "a recorded improver is missing from the store"
        for t in range(len(records), self.config.iterations + 1):
            record = self._iteration(t, incumbent, records[-1])
            records.append(record)
            if record["adopted"]:
                incumbent = self.store.get_program(record["improver_sha256"]) or incumbent
        self.status.phase = "done"
        return records

    def _record_score(self, improver: str, scope: str) -> MetaScore:
        """û on val and test, computed once per improver and read back afterwards."""
        program = self.recorder.program(improver, "improver")
        if hit := self.store.get_meta_utility(program, "record"):
            return MetaScore(hit["val"], hit["test"], hit["runs"])
        score = self.meta_utility(improver, scope, with_test=True)
        self.store.put_meta_utility(program, "record", score.val, score.test, {"runs": score.runs})
        return score

    def _initial_record(self, improver: str) -> dict[str, Any]:
        self.status.phase = "scoring the initial improver"
        self.recorder.iteration = 0  # events are counted per iteration
        score = self._record_score(improver, "t=0")
        record = {
            "t": 0,
            "meta_utility_val": score.val,
            "meta_utility_test": score.test,
            "candidate_val": None,
            "candidate_test": None,
            "adopted": None,
            "improver_sha256": self.recorder.program(improver, "improver"),
            "candidate_sha256": None,
        }
        return self._finish(record)

    def _iteration(self, t: int, incumbent: str, previous: dict[str, Any]) -> dict[str, Any]:
        self.status.iteration, scope = t, f"t={t}"
        self.recorder.iteration = t  # events are counted per iteration
        self.status.phase = "improving the improver"
        candidate = self._propose(t, incumbent, scope)
        self.status.phase = "scoring the candidate"
        valid = is_improver(candidate)
        score = self._record_score(candidate, scope) if valid else MetaScore(0.0, 0.0)
        adopted = valid and self._gate(score.val, previous["meta_utility_val"])
        candidate_sha = self.recorder.program(candidate, "improver") if candidate else None
        keep = candidate_sha if adopted else previous["improver_sha256"]
        record = {
            "t": t,
            "meta_utility_val": score.val if adopted else previous["meta_utility_val"],
            "meta_utility_test": score.test if adopted else previous["meta_utility_test"],
            "candidate_val": score.val,
            "candidate_test": score.test,
            "adopted": adopted,
            "improver_sha256": keep,
            "candidate_sha256": candidate_sha,
        }
        if candidate is not None and not valid:
            self.recorder.event("candidate_not_an_improver", candidate_sha, {"t": t})
        if adopted:
            self._check_generalization(candidate_sha, score)
        return self._finish(record)

    def _check_generalization(self, program: str | None, score: MetaScore) -> None:
        """Safety (issue #7): an adopted improver and the solutions it returned, re-scored on
        the held-out test split in fresh children, are flagged when val and test differ by more
        than a 95% interval allows (`safety.generalization_flags`)."""
        sizes = {
            e.task.name: (e.task.splits["val"].size, e.task.splits["test"].size)
            for e in self.meta_utility.evaluators
        }
        for flag in safety.generalization_flags(score.val, score.test, score.runs, sizes):
            self.recorder.event("val_test_gap", program, flag)

    def _propose(self, t: int, incumbent: str, scope: str) -> str | None:
        """I_{t-1}(I_{t-1}, û, L): the incumbent improves its own source."""
        program = self.recorder.program(incumbent, "improver")
        sink = self.recorder.sink(program)
        budgets = self.config.budgets
        meta = UtilityHandle(
            lambda s: self._search_score(s, scope),
            budgets.meta_utility_calls,
            self.meta_utility.description(),
            sink,
        )
        language_model = LanguageModelHandle(
            lambda e, m, temp: self.sample(e, m, temp, scope),
            budgets.lm_calls,
            budgets.responses_per_call,
            sink,
        )
        return improve(
            incumbent,
            incumbent,
            meta,
            language_model,
            sandbox=self.sandbox,
            recorder=self.recorder,
            limits=self.limits,
            seed=derive_seed(self.config.seed, "stop", t),
            purpose=f"stop:t={t}",
        )

    def _search_score(self, improver: str | None, scope: str) -> float:
        """What the improver of improvers sees: a fresh val estimate on each call."""
        self.status.phase = "meta-utility call"
        return self.meta_utility(improver, scope, with_test=False).val

    def _gate(self, candidate_val: float, incumbent_val: float) -> bool:
        if self.config.gate == "paper":
            return candidate_val > 0
        return candidate_val > incumbent_val

    def _finish(self, record: dict[str, Any]) -> dict[str, Any]:
        self.store.put_iteration(record["t"], record)
        self.status.history.append(record)
        best = max(r["meta_utility_val"] for r in self.status.history)
        self.status.best_val = best
        return record

