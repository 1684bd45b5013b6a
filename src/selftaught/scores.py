"""What counts as a utility's score: a finite number in [0, 1], never a bool.

The paper's utilities live in [0, 1]. A score outside it is a scorer bug or a reward hack:
the host counts it as 0 and records it (`events.UTILITY_OUT_OF_RANGE`), never clips it.
"""

from __future__ import annotations

import math


def is_unit_score(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0.0 <= value <= 1.0
    )
