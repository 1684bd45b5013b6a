"""bootstrap_interval, the interval transfer reports next to each mean, and mean_interval,
the report's and the peers benchmark's t interval."""

from __future__ import annotations

import numpy as np
import pytest

from selftaught.stats import bootstrap_interval, mean_interval


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


def test_the_t_interval_is_clipped_to_the_utilities_range_and_not_on_an_evaluators_own_scale():
    values = [1.259, 1.274, 1.037]  # function_minimization's combined score: above 1
    clipped, unclipped = mean_interval(values), mean_interval(values, within=None)
    assert clipped.high == 1.0  # the [0, 1] default cut it below its own mean
    assert unclipped.low < unclipped.mean < unclipped.high
    assert unclipped.high - unclipped.mean == pytest.approx(4.303 * np.std(values, ddof=1) / 3**0.5)
    spread = [0.0, 0.1, 0.9]
    assert mean_interval(spread).low == 0.0 and mean_interval(spread, within=None).low < 0
