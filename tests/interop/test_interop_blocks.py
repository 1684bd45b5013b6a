"""EVOLVE-BLOCK checks and the evaluator-form scorer's logic, without a sandbox."""

from __future__ import annotations

from selftaught.interop.harness import passes
from selftaught.tasks.evolve_blocks import fixed_parts, has_blocks, outside_change

INITIAL = """import math

# EVOLVE-BLOCK-START
def f(x):
    return x
# EVOLVE-BLOCK-END

def g():
    return f(2)

    # EVOLVE-BLOCK-START
    # indented blocks count too
    # EVOLVE-BLOCK-END
"""


def test_blocks_are_found_and_nested_or_unbalanced_markers_are_not():
    assert has_blocks(INITIAL) and len(fixed_parts(INITIAL)) == 3
    assert not has_blocks("def f():\n    return 1\n")
    assert fixed_parts("# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n") is None
    assert fixed_parts("# EVOLVE-BLOCK-END\n") is None
    assert fixed_parts("# EVOLVE-BLOCK-START\nx = 1\n") is None


def test_only_code_inside_the_blocks_may_change():
    inside = INITIAL.replace("    return x\n", "    return math.sqrt(x) * 3\n    # more\n")
    assert outside_change(INITIAL, inside) is None
    assert outside_change(INITIAL, INITIAL.replace("\ndef g", "\n\n\ndef g")) is None  # blanks
    assert outside_change(INITIAL, INITIAL.replace("return f(2)", "return f(2)  ")) is None
    cheat = INITIAL.replace("return f(2)", "return 4")
    reason = outside_change(INITIAL, cheat)
    assert "after block 1" in reason and "'return 4'" in reason
    assert "before the first block" in outside_change(INITIAL, "import os\n" + INITIAL)
    fewer = INITIAL[: INITIAL.index("    # EVOLVE-BLOCK-START")]
    assert "has 1 EVOLVE-BLOCKs; the initial program has 2" in outside_change(INITIAL, fewer)
    assert "missing or unbalanced" in outside_change(INITIAL, "def f(x):\n    return x\n")
    assert outside_change("def f():\n    return 1\n", "anything at all") is None  # no blocks


def test_cascade_thresholds_as_openevolve_reads_them():
    assert passes({"combined_score": 0.5}, 0.5) and not passes({"combined_score": 0.49}, 0.5)
    assert passes({"a": 1.0, "b": 0.0, "error": -100.0}, 0.5)  # "error" is left out
    assert not passes({"note": "text only"}, 0.0)
