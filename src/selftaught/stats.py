"""Small statistics shared by transfer and compare: intervals and a paired test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


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
