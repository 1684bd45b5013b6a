"""Transfer: a fixed improver on tasks it was not improved on (the paper's transfer table).

For each task, on the test split: u(s), the seed solution's utility; ū(I0), the mean utility of
what one call of the seed improver returns; ū(I), the same for the given improver. Each mean is
over the configuration's repetitions (fresh budgets each), with a 95% bootstrap interval.
Results are stored in the run directory as meta-utility records, so an interrupted transfer
re-run in the same directory reads finished tasks back and replays the rest from the LM cache.
"""

from __future__ import annotations

from selftaught.improvers import builtin_source
from selftaught.records import MetaScore, TransferRow, study_purpose, transfer_group
from selftaught.session import RunSession
from selftaught.stats import bootstrap_interval
from selftaught.utility import Evaluator


def transfer(session: RunSession) -> list[TransferRow]:
    """One row per task of the session's configuration, for the session's initial improver."""
    improver = session.initial_improver()
    seed_improver = builtin_source("seed")
    rows = []
    for evaluator in session.evaluators:
        session.status.phase = f"transfer on {evaluator.task.name}"
        seed = _scores(session, evaluator, seed_improver, "seed_improver")
        mine = _scores(session, evaluator, improver, "improver")
        rows.append(
            TransferRow(
                task=evaluator.task.name,
                seed_solution=evaluator.evaluate(evaluator.task.seed_solution, "test").score,
                seed_improver=seed.test or 0.0,  # scored with_test: never None
                improver=mine.test or 0.0,
                seed_improver_ci=_interval(seed),
                improver_ci=_interval(mine),
            )
        )
    session.store.set_meta("finished", True)
    return rows


def _scores(session: RunSession, evaluator: Evaluator, improver: str, label: str) -> MetaScore:
    """ū on one task, computed once and read back from the store afterwards."""
    meta_utility = session.meta_utility([evaluator])
    group = transfer_group(evaluator.task.name)
    return meta_utility.score_once(improver, group, study_purpose(group, label))


def _interval(score: MetaScore) -> tuple[float, float]:
    return bootstrap_interval([run.test or 0.0 for run in score.runs])
