"""What the Python API returns: frozen records built from what the run store and the
internals give. Field names are the ones `selftaught ... --json` prints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from selftaught.records import IterationRecord, SolutionScores


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


# STOP iteration t: the API returns the run's own record (`records.IterationRecord`).
Iteration = IterationRecord
# A task's seed solution beside the best returned one (`Run.solutions`): the run's own record.
SolutionScores = SolutionScores


@dataclass(frozen=True)
class InstanceOutcome:
    """One instance of a split: its score, how the child's run ended, and why it failed."""

    score: float
    status: str  # ok, error, timeout, invalid_output, memory_limit, sandbox_violation, ...
    seconds: float
    reason: str | None = None


@dataclass(frozen=True)
class Evaluation:
    """The utility of one solution on one split, with per-instance outcomes and the sandbox
    layers its child ran under."""

    score: float
    instances: tuple[InstanceOutcome, ...]
    layers: tuple[str, ...]
    seconds: float
    failure: str | None  # why the whole program failed (no code, no entry function, ...)
    spliced: str | None = None  # how a whole-program rewrite was read into EVOLVE-BLOCKs

    @classmethod
    def from_internal(cls, result: Any) -> Evaluation:
        outcomes = tuple(InstanceOutcome(**_known(InstanceOutcome, r)) for r in result.instances)
        return cls(
            result.score, outcomes, tuple(result.layers), result.seconds, result.failure,
            result.spliced,
        )  # fmt: skip


@dataclass(frozen=True)
class TransferRow:
    """One task of a transfer, on its test split: u(s), ū(I0) and ū(I), with 95% intervals."""

    task: str
    seed_solution: float
    seed_improver: float
    improver: float
    seed_improver_ci: tuple[float, float]
    improver_ci: tuple[float, float]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TransferRow:
        ci = row["ci"]
        return cls(row["task"], row["seed_solution"], row["seed_improver"], row["improver"],
                   tuple(ci["seed_improver"]), tuple(ci["improver"]))  # fmt: skip


@dataclass(frozen=True)
class Transfer:
    run_dir: Path
    rows: tuple[TransferRow, ...]


@dataclass(frozen=True)
class ImproverResult:
    """One improver of a comparison: mean test meta-utility over tasks with its 95% interval,
    per-task means, what it cost, and the sign-test p-value against the seed improver."""

    name: str
    mean: float
    ci: tuple[float, float]
    tasks: dict[str, float]
    lm_calls: int
    tokens: int
    seconds: float
    vs_seed: float | None

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> ImproverResult:
        tasks = {name: task["mean"] for name, task in entry["tasks"].items()}
        return cls(entry["name"], entry["mean"], tuple(entry["ci"]), tasks, entry["lm_calls"],
                   entry["tokens"], entry["seconds"], entry["vs_seed"])  # fmt: skip


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
