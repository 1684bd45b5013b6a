"""A scripted model for the repair tests: `python:tests/models/repair_world.py:respond`.

Asked for a better LPN solution, it writes the brute-force solver but forgets `import
itertools` (a NameError on every instance: it scores 0). Shown that NameError (a prompt that
names it), it returns the same solver with the import: the fixed program, which scores about 1.
"""

from __future__ import annotations

SOLVER = """import numpy as np


def algorithm(train_samples, train_parity, test_samples):
    x, y = np.asarray(train_samples), np.asarray(train_parity)
    masks = np.array(list(itertools.product([0, 1], repeat=x.shape[1])))
    errors = (((x @ masks.T) % 2) != y[:, None]).sum(axis=0)
    best = masks[int(np.argmin(errors))]
    return (np.asarray(test_samples) @ best) % 2
"""
FIXED = "import itertools\n" + SOLVER
SHOWN = "NameError: name 'itertools' is not defined"


def respond(system: str, user: str, n: int, temperature: float) -> list[str]:
    code = FIXED if SHOWN in user else SOLVER
    return [f"Here is a faster idea.\n```python\n{code}```\n" for _ in range(n)]
