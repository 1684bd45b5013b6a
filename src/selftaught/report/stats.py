"""Intervals for meta-utilities from their per-repetition values.

A meta-utility is a mean over repetitions (and tasks); its record keeps each repetition's val
and test score. `interval(values)` is the two-sided 95 % Student t interval of that mean,
clipped to [0, 1] where utilities live. Fewer than two finite values give no interval: one
repetition says nothing about spread, and the report then shows the mean alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

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


def interval(values: Iterable[object]) -> Interval | None:
    """95 % t interval of the mean of the finite numbers in `values`, or None if fewer than 2."""
    xs = [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    n = len(xs)
    if n < 2:
        return None
    mean = sum(xs) / n
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    half = t_quantile(n - 1) * math.sqrt(var / n)
    return Interval(mean, max(0.0, mean - half), min(1.0, mean + half), n)


def run_values(runs: list[dict[str, object]], split: str) -> list[object]:
    """The `split` score of each repetition of a meta-utility record."""
    return [r.get(split) for r in runs if isinstance(r, dict)]
