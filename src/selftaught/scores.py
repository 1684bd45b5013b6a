"""What counts as a utility's score: a finite number in [0, 1], never a bool.

The paper's utilities live in [0, 1]. A score outside it is a scorer bug or a reward hack:
the host counts it as 0 and records it (`events.UTILITY_OUT_OF_RANGE`), never clips it. A task
scored on its evaluator's own scale (an evaluator without a score_range, `Task.own_scale`) has
no known bounds: there only a score that is not a finite number counts as out of range.

A candidate's numbers can be anything JSON allows, including integers past float range
(10**400) and finite floats whose sum is not finite: `finite` and `mean` never raise on them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def finite(value: object) -> float | None:
    """`value` as a finite float, or None when it is not a number, a bool, not finite or
    past float range (`float(10**400)` raises OverflowError, `math.isfinite` too)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def mean(values: Iterable[float]) -> float:
    """The mean of finite floats; 0.0 for none. The plain sum first (the same figures as ever,
    and n scores of 1.0 give exactly 1.0); only when that overflows, the parts divided before
    summing (the mean of two 1.7e308 is 1.7e308, not inf)."""
    numbers = list(values)
    if not numbers:
        return 0.0
    total = sum(numbers)
    if math.isfinite(total):
        return total / len(numbers)
    return math.fsum(v / len(numbers) for v in numbers)


UNIT = (0.0, 1.0)  # where a utility lives
Bounds = tuple[float, float] | None  # a task's: UNIT, or None on its evaluator's own scale


def in_bounds(value: object, bounds: Bounds = UNIT) -> bool:
    """`value` is a finite number within `bounds` (None: any finite number)."""
    number = finite(value)
    return number is not None and (bounds is None or bounds[0] <= number <= bounds[1])


def is_unit_score(value: object) -> bool:
    return in_bounds(value, UNIT)


def bounds_holding(values: Iterable[object]) -> Bounds:
    """UNIT when every value lies in it, else None (their own range): the bounds of scores
    whose task did not say (a run recorded before runs did, runs of several tasks)."""
    return UNIT if all(in_bounds(v) for v in values) else None
