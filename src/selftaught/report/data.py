"""Read what a run recorded, for the report and the run listing, without writing to it.

Contract:
- the run is read through `store.RunReader`, which never writes (not even the schema); a file
  that is not SQLite at all raises `StoreError` with a one-line message.
- `load_run(run_dir)` returns a `RunData` with every section it could read. Nothing in a
  damaged or half-written run raises: a missing table, an unreadable row or an unfinished run
  becomes a line in `RunData.partial`, and the section is left empty.
- Every query is bounded (aggregates in SQL, `LIMIT`s on row lists, downsampled series), so a
  run with tens of thousands of evaluations or LM calls loads in well under a second and the
  page built from it stays a few MB.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from selftaught.events import FAMILIES, OTHER_FAMILY
from selftaught.records import (
    UTILITY_BOUNDS,
    BestSolution,
    CallPoint,
    CallTotals,
    EvaluationTotal,
    EventCount,
    EventRecord,
    EventsAt,
    FailureCount,
    InvocationCount,
    InvocationOutcome,
    IterationRecord,
    MetaScore,
    ProgramScores,
    RepetitionScore,
    SeriesPoint,
    SolutionScores,
)
from selftaught.report.cells import isnum
from selftaught.scores import UNIT, bounds_holding
from selftaught.store import TABLES, RunReader, StoreError

MAX_INSTANCE_ROWS = 500
# The columns of the safety events per iteration (selftaught.events).
EVENT_FAMILIES = FAMILIES

T = TypeVar("T")


@dataclass
class RunData:
    """Everything the report shows; each field is empty when its table could not be read."""

    run_dir: Path
    meta: dict[str, Any] = field(default_factory=dict)
    iterations: list[IterationRecord] = field(default_factory=list)
    meta_utilities: dict[str, MetaScore] = field(default_factory=dict)  # improver sha -> û
    # improver sha -> source, for every improver the lineage names
    improvers: dict[str, str] = field(default_factory=dict)
    # improver sha -> the meta-utility's runs of it, each with the solution it returned and
    # that solution's source: the lineage's second level
    downstream: dict[str, list[InvocationOutcome]] = field(default_factory=dict)
    stop_invocations: list[InvocationOutcome] = field(default_factory=list)
    invocation_counts: list[InvocationCount] = field(default_factory=list)
    lm_calls: list[CallPoint] = field(default_factory=list)  # downsampled, time-ordered
    lm_totals: CallTotals | None = None
    lm_by_level: list[CallTotals] = field(default_factory=list)
    lm_by_scope: list[CallTotals] = field(default_factory=list)
    evaluation_totals: list[EvaluationTotal] = field(default_factory=list)  # per task and split
    evaluation_nodes: dict[str, int] = field(default_factory=dict)  # node -> evaluations there
    evaluation_series: list[SeriesPoint] = field(default_factory=list)  # downsampled
    top_programs: list[ProgramScores] = field(default_factory=list)
    best_solutions: list[BestSolution] = field(default_factory=list)
    solution_scores: list[SolutionScores] = field(default_factory=list)  # seed beside best
    failures: list[FailureCount] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    event_total: int = 0
    event_counts: list[EventCount] = field(default_factory=list)
    # events per iteration, t ascending, t None last; event_families: the EVENT_FAMILIES
    # columns (and "other") that have events, in order
    event_iterations: list[EventsAt] = field(default_factory=list)
    event_families: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)

    @property
    def config(self) -> dict[str, Any]:
        value = self.meta.get("config")
        return value if isinstance(value, dict) else {}

    @property
    def finished(self) -> bool:
        return self.meta.get("finished") is True

    @property
    def utility_bounds(self) -> tuple[float, float] | None:
        """Where this run's utilities live: [0, 1], or None on an evaluator's own scale. A run
        recorded before the run said so is taken as [0, 1] unless a meta-utility left it."""
        if UTILITY_BOUNDS in self.meta:
            return UNIT if self.meta[UTILITY_BOUNDS] == list(UNIT) else None
        scores = self.meta_utilities.values()
        values = [v for m in scores for r in m.runs for v in (r.val, r.test) if isnum(v)]
        values += [v for m in scores for v in (m.val, m.test) if isnum(v)]
        return bounds_holding(values)


# What `load_run(..., live=True)` leaves out: the parts of the solutions and LM-usage sections
# that the live dashboard does not re-render as a run writes (the costly reads of a long run).
LIVE_SKIPS = frozenset({"evaluation nodes", "evaluation series", "solutions", "best solutions",
                        "failures"})  # fmt: skip


def load_run(run_dir: Path, *, live: bool = False) -> RunData:
    """All report sections of `run_dir` (`live`: all but LIVE_SKIPS and the LM-call series);
    `StoreError` only when there is no database to read."""
    run_dir = Path(run_dir)
    with RunReader.open(run_dir) as reader:
        return _load(reader, run_dir, LIVE_SKIPS if live else frozenset())


def _load(db: RunReader, run_dir: Path, skips: frozenset[str] = frozenset()) -> RunData:
    data = RunData(run_dir=run_dir)
    tables = db.tables()
    missing = [t for t in TABLES if t not in tables]
    if missing:
        data.partial.append(f"tables missing from run.db: {', '.join(missing)}")

    def section(name: str, needs: tuple[str, ...], read: Callable[[], T], default: T) -> T:
        # One damaged section must not hide the others: note it and carry on.
        if name in skips or any(t not in tables for t in needs):
            return default
        try:
            return read()
        except (StoreError, ValueError, TypeError, KeyError) as exc:
            data.partial.append(f"{name} could not be read ({type(exc).__name__}: {exc})")
            return default

    data.meta = section("run configuration", ("meta",), db.meta, {})
    data.iterations = section("iterations", ("iterations",), db.iterations, [])
    data.meta_utilities = section(
        "meta-utilities", ("meta_utilities",), db.record_meta_utilities, {}
    )
    data.stop_invocations = section(
        "improver invocations", ("invocations",), db.stop_invocations, []
    )
    data.invocation_counts = section(
        "invocation counts", ("invocations",), db.invocation_counts, []
    )
    data.improvers = section("programs", ("programs",), lambda: _improvers(db, data), {})
    data.downstream = section(
        "improver runs", ("invocations", "evaluations", "programs"), lambda: _downstream(db), {}
    )
    lm = section("LM calls", ("lm_calls",), lambda: db.lm_report(series=not skips), None)
    if lm is not None:
        data.lm_calls, data.lm_totals, data.lm_by_level, data.lm_by_scope = lm
    data.evaluation_totals = section(
        "evaluation totals", ("evaluations",), db.evaluation_totals, []
    )
    data.evaluation_nodes = section(
        "evaluation nodes", ("evaluations",), db.evaluation_nodes, {}
    )
    data.evaluation_series = section(
        "evaluation series", ("evaluations",), db.evaluation_series, []
    )
    data.top_programs = section("solutions", ("evaluations",), db.top_programs, [])
    data.best_solutions = section(
        "best solutions", ("evaluations", "programs"), db.best_solutions, []
    )
    data.solution_scores = section(
        "seed and best solutions", ("evaluations", "invocations"), db.solution_scores, []
    )
    data.failures = section("failures", ("evaluations",), db.failures, [])
    events = section("safety events", ("events",), db.event_report, None)
    if events is not None:
        data.events, data.event_total, data.event_counts = events
    per_t = section("safety events per iteration", ("events",), lambda: _events_by_t(db), None)
    if per_t is not None:
        data.event_iterations, data.event_families = per_t

    if "meta" in tables and data.meta.get("config") is None:
        data.partial.append("run.db records no configuration (the run never started properly)")
    if not data.finished:
        done = max((r.t for r in data.iterations), default=None)
        planned = data.config.get("iterations")
        where = "before t=0 was recorded" if done is None else f"after t={done}"
        of = f" of {planned}" if isinstance(planned, int) else ""
        data.partial.append(f"the run has not finished: iterations recorded {where}{of}")
    return data


def _events_by_t(reader: RunReader) -> tuple[list[EventsAt], list[str]]:
    """Event counts per iteration (t ascending, no t last) and the families that have any."""
    counts = reader.event_counts_by_t(EVENT_FAMILIES, OTHER_FAMILY)
    order = [name for name, _ in EVENT_FAMILIES] + [OTHER_FAMILY]
    present = {name for c in counts.values() for name in c}
    iterations = [EventsAt(when, counts[when]) for when in sorted(counts, key=_t_order)]
    return iterations, [name for name in order if name in present]


def _improvers(reader: RunReader, data: RunData) -> dict[str, str]:
    """Sources of the improvers the lineage names (not every program: solutions can be many)."""
    wanted: set[str] = set(data.meta_utilities)
    initial = data.meta.get("initial_improver")
    if isinstance(initial, str):
        wanted.add(initial)
    for r in data.iterations:
        wanted.update(x for x in (r.improver_sha256, r.candidate_sha256) if x)
    for inv in data.stop_invocations:
        wanted.update(x for x in (inv.improver, inv.result) if x)
    return reader.sources(wanted)


def _downstream(reader: RunReader) -> dict[str, list[InvocationOutcome]]:
    """The meta-utility's runs of each improver, with the source of the solution returned."""
    runs = reader.downstream_runs()
    sources = reader.sources({r.result for rows in runs.values() for r in rows if r.result})
    return {
        improver: [replace(r, source=sources.get(r.result) if r.result else None) for r in rows]
        for improver, rows in runs.items()
    }


def _t_order(value: Any) -> tuple[int, float, str]:
    """Numbers ascending, then anything else a damaged detail holds, then no t (None)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value)) if value is not None else (2, 0, "")


def run_values(runs: Sequence[RepetitionScore], split: str) -> list[float | None]:
    """The `split` score of each repetition of a meta-utility record."""
    return [getattr(r, split) for r in runs]
