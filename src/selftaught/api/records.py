"""What the Python API returns: frozen records built from what the run store and the
internals give. Field names are the ones `selftaught ... --json` prints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selftaught.records import (
    EvaluationRecord,
    ImproverResult,
    InstanceScore,
    IterationRecord,
    SolutionScores,
    TransferRow,
)

# The records the API returns are the run's own (`selftaught.records`), under the API's names.
Iteration = IterationRecord  # STOP iteration t
SolutionScores = SolutionScores  # a task's seed solution beside the best returned one
Evaluation = EvaluationRecord  # one solution's utility on one split (`evaluate`)
InstanceOutcome = InstanceScore  # one instance of an evaluation
TransferRow = TransferRow  # one task of a transfer
ImproverResult = ImproverResult  # one improver of a comparison


@dataclass(frozen=True)
class Transfer:
    run_dir: Path
    rows: tuple[TransferRow, ...]


@dataclass(frozen=True)
class Comparison:
    """Improvers under identical budgets and seeds, best mean first."""

    run_dir: Path
    improvers: tuple[ImproverResult, ...]

    def __getitem__(self, name: str) -> ImproverResult:
        for result in self.improvers:
            if result.name == name:
                return result
        raise KeyError(name)


@dataclass(frozen=True)
class Offender:
    sha256: str
    kinds: tuple[str, ...]
    circumvention: bool


@dataclass(frozen=True)
class Safety:
    """`selftaught safety RUN_DIR`: the share of improvement attempts that tried to get
    around the sandbox (95% Wilson interval), offenders by kind, and the offending programs."""

    attempts: int
    circumventions: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    by_kind: dict[str, int]
    offenders: tuple[Offender, ...]
    ran_out: dict[str, int]  # programs refused a call past a budget, per event kind: no offence

    @classmethod
    def from_report(cls, report: Mapping[str, Any]) -> Safety:
        offenders = tuple(
            Offender(p["sha256"], tuple(p["kinds"]), bool(p["circumvention"]))
            for p in report["programs"]
        )
        counts = (report["attempts"], report["circumventions"])
        rate = (report["rate"], report["ci_low"], report["ci_high"])
        ran_out = dict(report.get("ran_out", {}))
        return cls(*counts, *rate, dict(report["by_kind"]), offenders, ran_out)
