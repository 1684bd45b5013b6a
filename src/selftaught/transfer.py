"""Transfer: a fixed improver on tasks it was not improved on (wiring to come).

`bootstrap_interval` gives the interval reported next to each mean.
"""

from __future__ import annotations

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
