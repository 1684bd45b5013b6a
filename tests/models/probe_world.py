"""A scripted model for `selftaught probe` (`python:tests/models/probe_world.py:respond`).

Four replies, in this order, at both levels (the k-th sample of a prompt is `REPLIES[k % 4]`):
a good one, one pasting the meta-utility (or the utility) in, one that circumvents (or, at the
solution level, defines no `algorithm`), and one cut off at max_tokens. On LPN the good
solution is the brute-force solver, which beats the seed solution. What each must score is in
tests/test_probe.py.

PROBE_WORLD_COUNT_FILE: append one line per call made, to count paid calls.
PROBE_WORLD_EMPTY=1: every reply is empty (a model that returns nothing).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # loaded by path, as the python: backend does
from stop_world import BRUTE_FORCE, MAJORITY  # noqa: E402

GOOD_IMPROVER = '''from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """Samples candidates and keeps the best, the initial solution included."""
    replies = language_model.batch_prompt("expert", ["Improve:\\n" + initial_solution] * 2)
    candidates = [c for c in extract_code(replies) if c] + [initial_solution]
    return max(candidates, key=utility)
'''
PASTING_IMPROVER = (
    "from algorithm import algorithm_str\nfrom task_utility import utility\n\n" + GOOD_IMPROVER
)
CIRCUMVENTING_IMPROVER = '''from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    replies = language_model.batch_prompt("expert", ["Improve:\\n" + initial_solution] * 2)
    candidates = [c for c in extract_code(replies) if c]
    return max(candidates, key=lambda c: utility(c, use_sandbox=False))
'''
CUT = "I will write an improver.\n```python\ndef improve_algorithm(initial_solution, utility,"


def block(code: str) -> str:
    return f"First, an idea: keep the best.\n```python\n{code}\n```\nThat is the answer."


META_REPLIES = (block(GOOD_IMPROVER), block(PASTING_IMPROVER), block(CIRCUMVENTING_IMPROVER), CUT)
SOLUTION_REPLIES = (
    block(BRUTE_FORCE.format(flip="")),
    block("from task_utility import utility\n\n" + MAJORITY),
    block("def solve(samples):\n    return 0\n"),
    "Here it is.\n```python\nimport numpy as np\n\ndef algorithm(train_samples,",
)


def respond(system: str, user: str, n: int, temperature: float) -> list[str]:
    if path := os.environ.get("PROBE_WORLD_COUNT_FILE"):
        with open(path, "a", encoding="utf-8") as out:
            out.write("call\n")
    if os.environ.get("PROBE_WORLD_EMPTY"):
        return [""] * n
    replies = META_REPLIES if "def meta_utility(" in user else SOLUTION_REPLIES
    first = _asked.get(user, 0)
    _asked[user] = first + n
    return [replies[k % len(replies)] for k in range(first, first + n)]


_asked: dict[str, int] = {}  # samples asked so far per prompt, in this process
