"""A scripted model for tests/interop/test_interop_tasks.py: records every prompt it is sent.

INTEROP_PROMPTS: a file; each call appends its system and user prompt as one JSON line.
Asked for an improver it returns the seed improver; asked for a solution, the hidden_optimum
task's initial program with new coefficients inside its EVOLVE-BLOCK.
"""

from __future__ import annotations

import json
import os
from importlib import resources

SOLUTION = '''"""Three coefficients for the model to tune."""

# EVOLVE-BLOCK-START
def raw():
    return [0.1, -3.0, 40.0]


# EVOLVE-BLOCK-END


def coefficients():
    return tuple(float(c) for c in raw())
'''


def respond(system: str, user: str, n: int, temperature: float) -> list[str]:
    if path := os.environ.get("INTEROP_PROMPTS"):
        with open(path, "a") as f:
            f.write(json.dumps({"system": system, "user": user}) + "\n")
    if "def improve_algorithm" in user:
        code = resources.files("selftaught.improvers").joinpath("seed.py").read_text()
    else:
        code = SOLUTION
    return [f"```python\n{code}```\n"] * n
