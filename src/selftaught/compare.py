"""Compare improvers under identical budgets and seeds, by their test-split meta-utility.

`compare` runs every improver on every task through `MetaUtility` (`with_test=True`) `repeats`
times. Repeat k of every improver uses the same run seed, and its language-model scope names
the improver, so two improvers that send the same request get the same sample (common random
numbers; with a caching broker the comparison is also replayable). One *run* is one improver
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

import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from selftaught.config import Budgets
from selftaught.improve import Recorder
from selftaught.improvers import load_improver
from selftaught.meta_utility import MetaUtility, Sampler
from selftaught.sandbox import Limits, Sandbox
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
    sample: Sampler,
    budgets: Budgets,
    *,
    repeats: int,
    sandbox: Sandbox,
    recorder: Recorder,
    limits: Limits,
    seed: int,
    baseline: str = "seed",
    usage: Usage | None = None,
    resamples: int = 2000,
) -> list[dict[str, Any]]:
    """One row per (improver, task), best mean test meta-utility first.

    `improvers`: built-in names or .py paths (all are loaded and checked before any run; an
    unusable one raises `ImproverError`). `sample(expertise, messages, temperature, scope)`.
    `usage()`: cumulative counters with keys batches/calls/tokens/seconds (default: the usage of
    the broker `sample` is bound to, if any).
    """
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    labels = list(dict.fromkeys([*improvers, baseline]))
    sources = {label: load_improver(label) for label in labels}
    usage = usage or _broker_usage(sample)
    rows: list[dict[str, Any]] = []
    for evaluator in evaluators:
        scored = {
            label: _measure(
                label,
                sources[label],
                evaluator,
                sample,
                budgets,
                repeats,
                sandbox=sandbox,
                recorder=recorder,
                limits=limits,
                seed=seed,
                usage=usage,
            )
            for label in labels
        }
        base = scored[baseline]["scores"]
        for label in labels:
            row = scored[label]
            row["ci95"] = bootstrap_interval(row["scores"], resamples, seed)
            row["vs_baseline"] = (
                None
                if label == baseline
                else paired_comparison(row["scores"], base, baseline, resamples, seed)
            )
            rows.append(row)
    rows.sort(key=lambda row: (-row["mean"], row["task"], row["improver"]))
    return rows


def _measure(
    label: str,
    source: str,
    evaluator: Evaluator,
    sample: Sampler,
    budgets: Budgets,
    repeats: int,
    *,
    sandbox: Sandbox,
    recorder: Recorder,
    limits: Limits,
    seed: int,
    usage: Usage | None,
) -> dict[str, Any]:
    """All runs of one improver on one task; scores are ordered by (repeat, repetition)."""
    before = dict(usage()) if usage else None
    started = time.monotonic()
    scores, vals, returned = [], [], 0
    for repeat in range(repeats):
        meta = MetaUtility(
            [evaluator],
            sample,
            budgets,
            sandbox=sandbox,
            recorder=recorder,
            limits=limits,
            run_seed=repeat_seed(seed, repeat),
        )
        result = meta(source, f"compare:{seed}:{repeat}:{label}", with_test=True)
        for run in result.runs:
            scores.append(float(run["test"]))
            vals.append(float(run["val"]))
            returned += bool(run["returned_code"])
    row: dict[str, Any] = {
        "improver": label,
        "task": evaluator.task.name,
        "runs": len(scores),
        "scores": scores,
        "mean": float(np.mean(scores)),
        "val_mean": float(np.mean(vals)),
        "returned_code": returned / len(scores),
        "seconds": time.monotonic() - started,
    }
    if usage and before is not None:
        after = dict(usage())
        for name, key in USAGE_FIELDS.items():
            row[name] = after.get(key, 0) - before.get(key, 0)
    return row


def repeat_seed(seed: int, repeat: int) -> int:
    """The run seed of repeat `repeat`: the same for every improver, distinct per repeat."""
    digest = hashlib.sha256(f"compare|{seed}|{repeat}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % (2**31 - 1)


def bootstrap_interval(
    values: Sequence[float], resamples: int, seed: int, level: float = 0.95
) -> list[float]:
    """Percentile bootstrap interval of the mean of `values` ([x, x] for a single value)."""
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return [float(data.mean()), float(data.mean())]
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, (resamples, data.size))].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return [float(low), float(high)]


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign-test p-value for `wins` against `losses` (ties already dropped)."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_comparison(
    scores: Sequence[float], base: Sequence[float], baseline: str, resamples: int, seed: int
) -> dict[str, Any]:
    """The paired difference `scores - base`, slot by slot, summarized."""
    diffs = np.asarray(scores, dtype=float) - np.asarray(base, dtype=float)
    wins, losses = int((diffs > 0).sum()), int((diffs < 0).sum())
    return {
        "baseline": baseline,
        "mean_diff": float(diffs.mean()),
        "ci95": bootstrap_interval(diffs.tolist(), resamples, seed),
        "wins": wins,
        "losses": losses,
        "ties": int(diffs.size - wins - losses),
        "sign_test_p": sign_test(wins, losses),
    }


def _broker_usage(sample: Sampler) -> Usage | None:
    """`usage` of the LMBroker whose bound `sample` method this is, else None."""
    broker = getattr(sample, "__self__", None)
    if not callable(getattr(getattr(broker, "usage", None), "as_dict", None)):
        return None
    return lambda: broker.usage.as_dict()  # looked up each time: the broker may replace it
