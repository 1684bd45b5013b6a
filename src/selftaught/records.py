"""The typed records that cross layers, one frozen dataclass each, and the invocation
vocabulary: which level an invocation works at (`Level`), what it is for (`Invocation`), whose
language-model samples a call draws (`Scope`, and the scope and purpose strings, made here
only); what was scored (a repetition of the meta-utility, û, a STOP iteration, an evaluation,
a task's seed solution beside the best one returned); what the store reads back for the
report and the dashboard; and the results of transfer and compare.

Each is written where it is known and read back as the same type (the store keeps them as
columns or JSON with these field names; see docs/architecture.md, "The store"). The Python API
returns them, some under its own names (`selftaught.Iteration` is `IterationRecord`). This
module imports nothing from the package, so every layer may use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    """Which of STOP's two levels an invocation, and every model call it makes, works at. The
    value is how the store's `invocations.level` spells it; `call_level`, how `lm_calls.level`
    does (both spellings are in runs already recorded, so neither changes)."""

    STOP = "stop"  # the improver of improvers improving itself: I_{t-1}(I_{t-1}, û, L)
    META_UTILITY = "meta_utility"  # one repetition of û: an improver improving a solution
    PROBE = "probe"  # one of the probe's trials (docs/probe.md), outside any STOP run

    @property
    def call_level(self) -> str:
        """The model asked to improve an improver: "meta"; a solution: "task" (a probe's
        trials ask for solutions)."""
        return "meta" if self is Level.STOP else "task"


# What an invocation's samples are drawn under and its meta-utility is stored as: made here
# only. A scope's name is part of every request's cache key and the purpose the key of a stored
# meta-utility, so each string must stay byte-identical across versions
# (tests/store/test_replay.py replays runs recorded before they were made here).
RECORD_PURPOSE = "record"  # a STOP run's meta-utility of an improver

# The run's meta key for where its utilities live: [0, 1], or None when a task scores on its
# evaluator's own scale (written at the start of a run; runs recorded before have none).
UTILITY_BOUNDS = "utility_bounds"


def stop_group(t: int) -> str:
    """STOP iteration t's scope: its own call and the repetitions that score its candidate."""
    return f"t={t}"


def transfer_group(task: str) -> str:
    """A transfer's scope on one task."""
    return f"transfer:{task}"


def compare_group(seed: int, repeat: int, label: str) -> str:
    """A comparison's scope for one improver in one repeat."""
    return f"compare:{seed}:{repeat}:{label}"


def study_purpose(group: str, part: str) -> str:
    """The stored meta-utility's purpose of a transfer (part: its label) or a comparison
    (part: the task), under the group its samples were drawn in."""
    return f"{group}:{part}"


@dataclass(frozen=True)
class Invocation:
    """What one improver invocation is for: a STOP iteration `t`, or one repetition of the
    meta-utility on `task` (at iteration `t` when a STOP loop runs it)."""

    level: Level
    t: int | None = None
    task: str | None = None
    repetition: int | None = None

    @classmethod
    def stop(cls, t: int) -> Invocation:
        return cls(Level.STOP, t=t)

    @classmethod
    def meta_utility(cls, task: str, repetition: int, t: int | None = None) -> Invocation:
        return cls(Level.META_UTILITY, t=t, task=task, repetition=repetition)

    @property
    def purpose(self) -> str:
        """The version-1 label ("stop:t=1", "meta_utility:lpn:0"), still stored beside the
        columns so that older code reading a newer run sees what it expects."""
        if self.level == Level.STOP:
            return f"stop:t={self.t}"
        return f"{self.level}:{self.task}:{self.repetition}"

    @classmethod
    def from_purpose(cls, purpose: str) -> Invocation:
        """What a version-1 `purpose` says (a run written before the columns existed); a part
        it does not hold reads None, and a level it does not know stays the stored text."""
        level, _, rest = purpose.partition(":")
        known: Any = Level(level) if level in {lv.value for lv in Level} else level
        if known == Level.STOP and rest.startswith("t="):
            return cls(known, t=_int_or_none(rest.removeprefix("t=")))
        if known == Level.META_UTILITY:
            task, _, repetition = rest.rpartition(":")
            return cls(known, task=task or None, repetition=_int_or_none(repetition))
        return cls(known)


@dataclass(frozen=True)
class Scope:
    """Whose language-model samples a call draws.

    `name` is part of the request's cache key: a scope's occurrences are counted on their
    own, so each invocation is answered the same however others interleave. `level` is the
    invocation's (None: not known); `group` is what reports total under (the STOP iteration
    or study row).
    """

    name: str
    level: Level | None = None
    group: str | None = None

    @classmethod
    def of(cls, scope: Scope | str) -> Scope:
        """A plain string is a scope of its own, at no known level."""
        return scope if isinstance(scope, Scope) else cls(str(scope), None, str(scope))

    @classmethod
    def stop(cls, t: int) -> Scope:
        """STOP iteration t's own call: the incumbent improving itself."""
        return cls(stop_group(t), Level.STOP, stop_group(t))

    @classmethod
    def repetition(cls, group: str, task: str, repetition: int) -> Scope:
        """One repetition of û on `task`, under `group` (a STOP iteration or study row)."""
        return cls(f"{group}/{task}/{repetition}", Level.META_UTILITY, group)

    @classmethod
    def probe(cls, name: str, level: Level) -> Scope:
        """One of the probe's trials (docs/probe.md)."""
        return cls(f"probe/{name}", level, "probe")

    @property
    def call_level(self) -> str | None:
        """How the store's `lm_calls.level` records this scope's level (a plain string given
        as the level is taken as that spelling already)."""
        if self.level is None or not isinstance(self.level, Level):
            return self.level
        return self.level.call_level


@dataclass(frozen=True)
class RepetitionScore:
    """One repetition of the meta-utility: what the improver returned, scored."""

    task: str
    repetition: int
    returned_code: bool
    val: float
    test: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> RepetitionScore:
        """The record as stored; ValueError if a field has the wrong type (an altered store)."""
        record = cls(**{f.name: row.get(f.name) for f in fields(cls)})
        if not (
            isinstance(record.task, str)
            and _integer(record.repetition)
            and isinstance(record.returned_code, bool)
            and _number(record.val)
            and (record.test is None or _number(record.test))
        ):
            raise ValueError(f"not a repetition score: {row!r}"[:200])
        return record


@dataclass(frozen=True)
class MetaScore:
    """û of one improver: the mean over its repetitions (`test` None when not scored)."""

    val: float
    test: float | None
    runs: tuple[RepetitionScore, ...] = ()

    def detail(self) -> dict[str, Any]:
        """What the store keeps beside val and test."""
        return {"runs": [run.to_dict() for run in self.runs]}

    @classmethod
    def from_stored(cls, val: float, test: float | None, detail: dict[str, Any]) -> MetaScore:
        """The score as stored; ValueError if it is not what `detail()` writes."""
        runs = detail.get("runs", []) if isinstance(detail, dict) else None
        if not (_number(val) and (test is None or _number(test)) and isinstance(runs, list)):
            raise ValueError("not a stored meta-utility")
        if not all(isinstance(r, dict) for r in runs):
            raise ValueError("a stored repetition is not an object")
        return cls(val, test, tuple(RepetitionScore.from_dict(r) for r in runs))


@dataclass(frozen=True)
class IterationRecord:
    """Iteration t of STOP. `meta_utility_*` is the û of the improver in force after t
    (`improver_sha256`); `candidate_*` the û of the candidate proposed at t (None at t = 0,
    the initial improver); `adopted`: whether the gate took it (None at t = 0). The Python
    API returns it as `selftaught.Iteration`."""

    t: int
    meta_utility_val: float
    meta_utility_test: float | None
    candidate_val: float | None
    candidate_test: float | None
    adopted: bool | None
    improver_sha256: str
    candidate_sha256: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> IterationRecord:
        return cls(**{f.name: row.get(f.name) for f in fields(cls)})


@dataclass(frozen=True)
class InvocationOutcome:
    """How one recorded improver invocation ended, as the store reads it back: a STOP
    iteration's (t, the incumbent `improver`, the improver it returned as `result`), or a
    meta-utility repetition's, with the returned solution's latest val and test scores on its
    task, why it failed, and (`source`) its text where the report has read it. `level`: the
    stored `Level` value, where the reader asked for it."""

    t: int | None
    improver: str
    status: str
    result: str | None = None  # the SHA-256 of what it returned
    error: str | None = None
    task: str | None = None
    repetition: int | None = None
    val: float | None = None
    test: float | None = None
    failure: str | None = None
    source: str | None = None
    level: str | None = None


@dataclass(frozen=True)
class CallTotals:
    """What a run's model calls came to: all of them, or one level's ("meta" or "task", as
    `lm_calls.level` records it), or one scope's at one level. `paid`: calls that needed the
    backend; `cost`, `first`, `last` (the first and last call's time) only over all of them."""

    calls: int
    paid: int
    tokens: int
    seconds: float
    level: str | None = None
    scope: str | None = None
    samples: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    first: float | None = None
    last: float | None = None


@dataclass(frozen=True)
class CallPrompt:
    """A model call as the live dashboard shows it: when, its level ("meta" or "task") and
    scope, and what it asked (None where the stored request is not JSON)."""

    created: float
    level: str
    scope: str | None
    system: str | None
    user: str | None


@dataclass(frozen=True)
class CallPoint:
    """Call `i` of a run (1-based, in the order made), kept by the report's downsampling, with
    the counts up to it over every call."""

    i: int
    created: float
    level: str
    cached: int
    tokens: int
    seconds: float
    cum_calls: int
    cum_paid: int
    cum_tokens: int


@dataclass(frozen=True)
class InvocationCount:
    """The invocations of one level ("self-improvement" or "meta-utility", as the report
    names them) that ended with one status: how many, the improvers' own seconds, and the
    wall seconds with their model calls (None where no invocation recorded them)."""

    level: str
    status: str
    count: int
    seconds: float
    wall_seconds: float | None


@dataclass(frozen=True)
class EvaluationTotal:
    """The evaluations of one task on one split: how many, of how many programs, their mean
    and best score, how many failed as a whole, and their seconds."""

    task: str
    split: str
    count: int
    programs: int
    mean: float | None
    max: float | None
    failed: int
    seconds: float | None


@dataclass(frozen=True)
class ProgramScores:
    """One program's evaluations on one task: how many, its mean val and test scores (None
    when not scored on that split), and how many failed as a whole."""

    program: str
    task: str
    evaluations: int
    val: float | None
    test: float | None
    failed: int


@dataclass(frozen=True)
class FailureCount:
    """Evaluations that failed as a whole for one reason on one task and split: how many, one
    program that did, and how many of them were whole-program rewrites read into EVOLVE-BLOCKs
    (None in runs recorded before that was)."""

    failure: str
    task: str
    split: str
    count: int
    example_program: str
    spliced: int | None


@dataclass(frozen=True)
class ZeroScoreCount:
    """One task's solutions the model wrote that were scored on val: how many, how many scored
    0, and the commonest reason recorded for those zeros with how many shared it (None, 0: they
    ran and were wrong, or failed in several ways)."""

    task: str
    scored: int
    zero: int
    reason: str | None
    reason_count: int


@dataclass(frozen=True)
class SeriesPoint:
    """A bucket of a run's val evaluations in the order they ran: the first evaluation's
    number `i`, the bucket's mean and max score, and the best score up to it."""

    i: int
    mean: float
    max: float
    best: float


@dataclass(frozen=True)
class BestSolution:
    """A task's best solution by val score (ties: the earliest), with its per-instance outcomes
    as the store keeps them (plain JSON: an evaluator-form task adds its own keys) and its test
    score (None when it was not scored on test)."""

    task: str
    program: str
    source: str | None
    val: float
    failure: str | None
    spliced: str | None  # how a whole-program rewrite was read into EVOLVE-BLOCKs
    val_instances: list[dict[str, Any]]
    test: float | None
    test_instances: list[dict[str, Any]]


@dataclass(frozen=True)
class EventRecord:
    """One safety event as the report lists it: its kind (`events.py`), the program, the
    detail recorded (a JSON object), the line it points at and that line of the program."""

    kind: str
    program: str | None
    detail: dict[str, Any]
    line: Any  # the detail's "line": an int when recorded by the host, else as stored
    offending: str | None
    created: float


@dataclass(frozen=True)
class StoredEvent:
    """One safety event as the host recorded it, for the safety analysis: its kind
    (`events.py`), the program it is about and the detail (a JSON object; "t" is the
    iteration, "solution" the solution it concerns, "line" where in the program)."""

    kind: str
    program: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class EventCount:
    """The events of one kind: how many, and in how many programs."""

    kind: str
    count: int
    programs: int


@dataclass(frozen=True)
class EventsAt:
    """The events of iteration `t` (None: outside any, or a damaged detail) per family."""

    t: Any
    counts: dict[str, int]


@dataclass(frozen=True)
class SolutionScores:
    """One task's seed solution beside the best solution the run's improvers returned (best
    by val; `best_test` is that same solution's test score). A score is None when it was not
    recorded: no improver returned code, or the run stopped before its scores were taken."""

    task: str
    seed_val: float | None
    seed_test: float | None
    best_val: float | None
    best_test: float | None
    best_program: str | None = None  # the SHA-256 of the best returned solution

    def to_dict(self) -> dict[str, float | None]:
        """The four scores, as `--json`'s "solutions" block shows them."""
        return {k: getattr(self, k) for k in ("seed_val", "seed_test", "best_val", "best_test")}


@dataclass(frozen=True)
class InstanceScore:
    """One instance of a split: its score, how the child's run ended, and why it failed. The
    Python API returns it as `selftaught.InstanceOutcome`."""

    score: float
    status: str  # ok, error, timeout, invalid_output, memory_limit, sandbox_violation, ...
    seconds: float
    reason: str | None = None

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> InstanceScore:
        """An evaluation's stored instance ({"score", "status", "seconds", "reason"?})."""
        return cls(**{f.name: row[f.name] for f in fields(cls) if f.name in row})


@dataclass(frozen=True)
class EvaluationRecord:
    """The utility of one solution on one split, with per-instance outcomes and the sandbox
    layers its child ran under. The Python API returns it as `selftaught.Evaluation`."""

    score: float
    instances: tuple[InstanceScore, ...]
    layers: tuple[str, ...]
    seconds: float
    failure: str | None  # why the whole program failed (no code, no entry function, ...)
    spliced: str | None = None  # how a whole-program rewrite was read into EVOLVE-BLOCKs

    @classmethod
    def from_internal(cls, result: Any) -> EvaluationRecord:
        """From the evaluator's `utility.Evaluation`."""
        outcomes = tuple(InstanceScore.from_dict(r) for r in result.instances)
        return cls(
            result.score, outcomes, tuple(result.layers), result.seconds, result.failure,
            result.spliced,
        )  # fmt: skip


@dataclass(frozen=True)
class StoredEvaluation:
    """An evaluation as the store holds it, read back instead of run again (a resume, a
    solution scored twice, `utility.why`): its instances are the stored JSON objects, with
    whatever a task records of an output beyond the `InstanceScore` fields."""

    score: float
    instances: list[dict[str, Any]]  # {"score", "status", "seconds", "reason"?, ...}
    seconds: float
    layers: list[str]
    failure: str | None
    node: str | None  # where it ran; None before schema version 3
    spliced: str | None  # None before schema version 5, or when it ran as written


@dataclass(frozen=True)
class TransferRow:
    """One task of a transfer, on its test split: u(s), ū(I0) and ū(I), with 95% intervals."""

    task: str
    seed_solution: float
    seed_improver: float
    improver: float
    seed_improver_ci: tuple[float, float]
    improver_ci: tuple[float, float]

    def to_json(self) -> dict[str, Any]:
        """The row as `selftaught transfer --json` prints it under "tasks"."""
        ci = {"seed_improver": list(self.seed_improver_ci), "improver": list(self.improver_ci)}
        return {
            "task": self.task,
            "seed_solution": self.seed_solution,
            "seed_improver": self.seed_improver,
            "improver": self.improver,
            "ci": ci,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TransferRow:
        """From the JSON `to_json` writes."""
        ci = row["ci"]
        return cls(row["task"], row["seed_solution"], row["seed_improver"], row["improver"],
                   tuple(ci["seed_improver"]), tuple(ci["improver"]))  # fmt: skip


@dataclass(frozen=True)
class CompareRow:
    """One (improver, task) row of a comparison: its runs' test scores in (repeat,
    repetition) order, their mean with a 95% bootstrap interval, the mean val score, the share
    of runs that returned code, the host's wall seconds, what the row cost in model calls (None
    where the sampler reports nothing), and the paired comparison with the baseline
    (`stats.paired_comparison`'s; None for the baseline itself)."""

    improver: str
    task: str
    scores: tuple[float, ...]
    mean: float
    ci95: tuple[float, float]
    seconds: float
    val_mean: float | None = None
    returned_code: float | None = None
    vs_baseline: dict[str, Any] | None = None
    lm_budget_units: int | None = None
    lm_requests: int | None = None
    tokens: int | None = None
    lm_seconds: float | None = None

    @property
    def runs(self) -> int:
        return len(self.scores)


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
    task_ci: dict[str, tuple[float, float]] = field(default_factory=dict)  # per-task 95% CI

    def to_json(self) -> dict[str, Any]:
        """The entry `selftaught compare --json` prints under "improvers"."""
        tasks = {
            name: {"mean": mean, "ci": list(self.task_ci.get(name, ()))}
            for name, mean in self.tasks.items()
        }
        return {"name": self.name, "tasks": tasks, "mean": self.mean, "ci": list(self.ci),
                "lm_calls": self.lm_calls, "tokens": self.tokens, "seconds": self.seconds,
                "vs_seed": self.vs_seed}  # fmt: skip

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> ImproverResult:
        """From the JSON `to_json` writes."""
        tasks = {name: task["mean"] for name, task in entry["tasks"].items()}
        ci = {name: tuple(task["ci"]) for name, task in entry["tasks"].items()}
        return cls(entry["name"], entry["mean"], tuple(entry["ci"]), tasks, entry["lm_calls"],
                   entry["tokens"], entry["seconds"], entry["vs_seed"], ci)  # fmt: skip


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
