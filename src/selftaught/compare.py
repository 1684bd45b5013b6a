"""Compare improvers under identical budgets and seeds, by their test-split meta-utility.

`compare` runs every improver on every task through `MetaUtility` (`with_test=True`) `repeats`
times. Repeat k of every improver uses the same run seed and the same seeds in its children;
its language-model scope names the improver, so each improver's samples are counted (and, with
a caching broker, replayed) on their own. One *run* is one improver
invocation scored on the test split; a (improver, task) row pools `repeats * budgets.repetitions`
runs.

Each row reports the mean test meta-utility with a 95% percentile-bootstrap interval, what the
row cost (language-model budget units, backend requests, tokens and backend seconds, when the
sampler is an `LMBroker` or a `usage` callable is given; host wall seconds always), and a paired
comparison with the baseline improver (the seed by default). Pairs are the runs in the same
(repeat, repetition) slot; the report gives the mean paired difference with a paired-bootstrap
95% interval, wins/losses/ties, and the two-sided exact sign-test p-value (ties dropped), which
assumes nothing about the distribution of the differences. The baseline is run even when not
listed. Rows are sorted by mean, best first. Data only: rendering is the caller's business.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from selftaught.improve import Invoker
from selftaught.improvers import load_improver
from selftaught.meta_utility import MetaUtility
from selftaught.records import CompareRow, ImproverResult, compare_group, study_purpose
from selftaught.seeds import repeat_seed
from selftaught.stats import bootstrap_interval, paired_comparison, sign_test
from selftaught.utility import Evaluator

Usage = Callable[[], Mapping[str, float]]
USAGE_FIELDS = {
    "lm_budget_units": "batches",
    "lm_requests": "calls",
    "tokens": "tokens",
    "lm_seconds": "seconds",
}


def compare(
    improvers: Sequence[str],
    evaluators: Sequence[Evaluator],
    invoker: Invoker,
    *,
    repeats: int,
    seed: int,
    baseline: str = "seed",
    usage: Usage | None = None,
    resamples: int = 2000,
    concurrency: int = 1,
    progress: Callable[[str], None] | None = None,
) -> list[CompareRow]:
    """One row per (improver, task), best mean test meta-utility first.

    `improvers`: built-in names or .py paths (all are loaded and checked before any run; an
    unusable one raises `ImproverError`). `invoker`: how improvers run (its budgets are every
    row's). `usage()`: cumulative counters with keys batches/calls/tokens/seconds (an
    `LMBroker`'s `usage.as_dict`). `concurrency`: a row's repetitions run at once (rows run one
    after another, so that each row's usage is its own). `progress(text)` is told which row
    runs, for a live display.
    """
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    labels = list(dict.fromkeys([*improvers, baseline]))
    sources = {label: load_improver(label) for label in labels}
    rows: list[CompareRow] = []
    total = len(evaluators) * len(labels)
    for t, evaluator in enumerate(evaluators):
        scored = {}
        for i, label in enumerate(labels):
            if progress:
                done = t * len(labels) + i
                progress(f"{label} on {evaluator.task.name} (row {done + 1} of {total})")
            scored[label] = _measure(
                label, sources[label], evaluator, invoker, repeats,
                seed=seed, usage=usage, concurrency=concurrency, resamples=resamples,
            )  # fmt: skip
        base = list(scored[baseline].scores)
        for label in labels:
            row = scored[label]
            if label != baseline:
                versus = paired_comparison(list(row.scores), base, baseline, resamples, seed)
                row = replace(row, vs_baseline=versus)
            rows.append(row)
    rows.sort(key=lambda row: (-row.mean, row.task, row.improver))
    return rows


def _measure(
    label: str,
    source: str,
    evaluator: Evaluator,
    invoker: Invoker,
    repeats: int,
    *,
    seed: int,
    usage: Usage | None,
    concurrency: int,
    resamples: int,
) -> CompareRow:
    """All runs of one improver on one task; scores are ordered by (repeat, repetition)."""
    before = dict(usage()) if usage else None
    started = time.monotonic()
    scores, vals, returned = [], [], 0
    for repeat in range(repeats):
        meta = MetaUtility(
            [evaluator], invoker, run_seed=repeat_seed(seed, repeat), concurrency=concurrency
        )
        scope = compare_group(seed, repeat, label)
        # Stored once per row and read back: re-running a comparison in its run directory
        # invokes no finished row again (its calls would be free, but would be logged twice).
        result = meta.score_once(source, scope, study_purpose(scope, evaluator.task.name))
        for run in result.runs:
            scores.append(float(run.test or 0.0))
            vals.append(float(run.val))
            returned += run.returned_code
    spent = {}
    if usage and before is not None:
        after = dict(usage())
        spent = {name: after.get(key, 0) - before.get(key, 0) for name, key in USAGE_FIELDS.items()}
    return CompareRow(
        improver=label,
        task=evaluator.task.name,
        scores=tuple(scores),
        mean=float(np.mean(scores)),
        ci95=bootstrap_interval(scores, resamples=resamples, seed=seed),
        seconds=time.monotonic() - started,
        val_mean=float(np.mean(vals)),
        returned_code=returned / len(scores),
        **spent,
    )


def summarize(rows: Sequence[CompareRow]) -> list[ImproverResult]:
    """One result per improver, best mean first. The overall mean is over tasks; its interval
    pools every run; `vs_seed` is the sign-test p-value of the paired runs."""
    by_name: dict[str, list[CompareRow]] = {}
    for row in rows:
        by_name.setdefault(row.improver, []).append(row)
    results = []
    for name, own in by_name.items():
        pooled = [score for row in own for score in row.scores]
        versus = [row.vs_baseline for row in own if row.vs_baseline]
        wins = sum(v["wins"] for v in versus)
        losses = sum(v["losses"] for v in versus)
        results.append(
            ImproverResult(
                name=name,
                mean=float(np.mean([row.mean for row in own])),
                ci=bootstrap_interval(pooled),
                tasks={row.task: row.mean for row in own},
                lm_calls=int(sum(row.lm_requests or 0 for row in own)),
                tokens=int(sum(row.tokens or 0 for row in own)),
                seconds=float(sum(row.seconds or 0.0 for row in own)),
                vs_seed=round(sign_test(wins, losses), 4) if versus else None,
                task_ci={row.task: row.ci95 for row in own},
            )
        )
    results.sort(key=lambda result: -result.mean)
    return results


def improvers_listing(names: Sequence[str]) -> str:
    """What a comparison records as its initial improver: every source, in order, so that
    re-running in the same directory with other improvers is refused (`ImproverError` for an
    unusable one)."""
    return "\n".join(f"# {name}\n{load_improver(name)}" for name in names)


def compare_in_session(
    session: Any, names: Sequence[str], repeats: int, progress: Callable[[str], None] | None = None
) -> list[CompareRow]:
    """`compare` over a session's tasks, model, budgets and sandbox; marks the run finished."""
    rows = compare(
        names, session.evaluators, session.invoker, repeats=repeats,
        seed=session.config.seed, usage=lambda: session.language_model.usage.as_dict(),
        concurrency=session.concurrency, progress=progress,
    )  # fmt: skip
    session.store.set_meta("finished", True)
    return rows
