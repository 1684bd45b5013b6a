"""A scripted model for the repair tests: `python:tests/models/repair_world.py:respond`.

Asked for a better LPN solution, it writes the brute-force solver but forgets `import
itertools` (a NameError on every instance: it scores 0). Shown that NameError (a prompt that
names it), it returns the same solver with the import: the fixed program, which scores about 1.
"""

from __future__ import annotations

from pathlib import Path

# The brute-force solver of tests/solutions/, and the same without its import.
FIXED = (Path(__file__).parents[1] / "solutions" / "brute_force.py").read_text()
SOLVER = FIXED.replace("import itertools\n\n", "", 1)
SHOWN = "NameError: name 'itertools' is not defined"


def respond(system: str, user: str, n: int, temperature: float) -> list[str]:
    code = FIXED if SHOWN in user else SOLVER
    return [f"Here is a faster idea.\n```python\n{code}```\n" for _ in range(n)]
