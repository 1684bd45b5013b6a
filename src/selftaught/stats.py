"""The run's statistics, in one place: intervals and tests for means of [0, 1] scores.

- `bootstrap_interval`, `paired_comparison`, `sign_test`: transfer's and compare's tables;
- `mean_interval`: the report's Student t interval of a meta-utility over its repetitions;
- `wilson`: the safety report's interval for a circumvention rate;
- `gap_allowed`: the val/test gap that noise can explain (the generalization check).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from selftaught.scores import UNIT


def bootstrap_interval(
    values: list[float], *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap interval for the mean of `values`.

    Deterministic for a given `seed`. One value (or identical values) gives a zero-width
    interval at that value; no values is an error.
    """
    data = np.asarray(values, dtype=float).reshape(-1)
    if data.size == 0:
        raise ValueError("bootstrap_interval needs at least one value")
    if not np.all(np.isfinite(data)):
        raise ValueError("bootstrap_interval needs finite values")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, data.size, size=(resamples, data.size))
    means = data[picks].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


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
        "ci95": list(bootstrap_interval(diffs.tolist(), resamples=resamples, seed=seed)),
        "wins": wins,
        "losses": losses,
        "ties": int(diffs.size - wins - losses),
        "sign_test_p": sign_test(wins, losses),
    }


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion; (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def gap_allowed(val: float, test: float, n_val: int, n_test: int, z: float = 1.96) -> float:
    """The largest |val - test| a 95% two-sample interval allows for means of [0, 1] scores.

    Uses the pooled mean p and the variance bound p(1 - p), the largest a [0, 1] variable with
    mean p can have: conservative, so a flag means a gap that noise cannot explain.
    """
    pooled = (val * n_val + test * n_test) / (n_val + n_test)
    return z * math.sqrt(max(pooled * (1 - pooled), 0.0) * (1 / n_val + 1 / n_test))


# t_{0.975, df} for df = 1..30; beyond 30 the normal quantile is within 2 %.
# fmt: off
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)
# fmt: on


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int

    def label(self) -> str:
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"


def t_quantile(df: int) -> float:
    return _T975[df - 1] if 1 <= df <= len(_T975) else 1.96


def mean_interval(
    values: Iterable[object], within: tuple[float, float] | None = UNIT
) -> Interval | None:
    """95 % Student t interval of the mean of the finite numbers in `values`, clipped to
    `within`, where utilities live ([0, 1]; None: a task scored on its evaluator's own scale,
    which has no known bounds); None for fewer than two (one value says nothing about spread)."""
    xs = [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    n = len(xs)
    if n < 2:
        return None
    mean = sum(xs) / n
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    half = t_quantile(n - 1) * math.sqrt(var / n)
    low, high = within or (-math.inf, math.inf)
    return Interval(mean, max(low, mean - half), min(high, mean + half), n)
