"""bootstrap_interval, the interval transfer reports next to each mean."""

from __future__ import annotations

import numpy as np
import pytest

from selftaught.stats import bootstrap_interval


def test_interval_contains_the_mean_and_is_deterministic():
    values = list(np.random.default_rng(1).random(50))
    low, high = bootstrap_interval(values)
    assert low < np.mean(values) < high
    assert bootstrap_interval(values) == (low, high)
    assert bootstrap_interval(values, seed=1) != (low, high)


def test_width_matches_the_normal_approximation_and_shrinks_with_data():
    rng = np.random.default_rng(2)
    small, large = list(rng.random(30)), list(rng.random(3000))
    low, high = bootstrap_interval(large, resamples=4000)
    expected = 2 * 1.96 * np.std(large) / np.sqrt(len(large))
    assert abs((high - low) - expected) < 0.15 * expected
    s_low, s_high = bootstrap_interval(small)
    assert high - low < s_high - s_low
    n_low, n_high = bootstrap_interval(large, confidence=0.5)
    assert high - low > n_high - n_low


def test_degenerate_and_bad_input():
    assert bootstrap_interval([0.3]) == (0.3, 0.3)
    assert bootstrap_interval([1.0, 1.0, 1.0]) == (1.0, 1.0)
    for bad in ([], [float("nan")]):
        with pytest.raises(ValueError):
            bootstrap_interval(bad)
    with pytest.raises(ValueError):
        bootstrap_interval([1.0], confidence=1.0)
