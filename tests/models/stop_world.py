"""A scripted world for the STOP tests, plugged in as `python:tests/models/stop_world.py:respond`.

A world in which a better improver exists: asked to improve an LPN solution, the model
returns a majority-vote solution (about chance), unless the prompt carries the brute-force
hint, in which case it returns a solver that tries every parity mask. Asked to improve an
improver, it returns the seed improver with a hint added: `SCRIPTED_HINT=brute` (default) gives
the better improver, `SCRIPTED_HINT=invert` a worse one (right on 4 of 20 test inputs),
`SCRIPTED_HINT=paste` one that fails on import, as the 1.5B's did: the meta-utility's
`from algorithm import algorithm_str` pasted above it.

SCRIPTED_COUNT_FILE: append one line per call made (after it returns), to count paid calls.
SCRIPTED_KILL_AFTER=N: SIGKILL this process when call N+1 begins (a crash mid-iteration).
"""

from __future__ import annotations

import os
import signal
from importlib import resources

BRUTE_HINT = "HINT: try every parity mask and keep the one with fewest training errors."
INVERT_HINT = "HINT: predict mostly the opposite of the best parity mask."

MAJORITY = """import numpy as np


def algorithm(train_samples, train_parity, test_samples):
    majority = int(np.mean(train_parity) >= 0.5)
    return [majority] * len(test_samples)
"""

BRUTE_FORCE = """import itertools

import numpy as np


def algorithm(train_samples, train_parity, test_samples):
    x, y = np.asarray(train_samples), np.asarray(train_parity)
    masks = np.array(list(itertools.product([0, 1], repeat=x.shape[1])))
    errors = (((x @ masks.T) % 2) != y[:, None]).sum(axis=0)
    best = masks[int(np.argmin(errors))]
    predictions = (np.asarray(test_samples) @ best) % 2
    {flip}return predictions
"""


def _fenced(code: str) -> str:
    return f"Here is my idea.\n```python\n{code}```\n"


def _solution(user: str) -> str:
    if BRUTE_HINT in user:
        return BRUTE_FORCE.format(flip="")
    if INVERT_HINT in user:
        return BRUTE_FORCE.format(flip="predictions[4:] ^= 1  # right on 4 of 20 only\n    ")
    return MAJORITY


def _improver() -> str:
    hint = INVERT_HINT if os.environ.get("SCRIPTED_HINT") == "invert" else BRUTE_HINT
    seed = resources.files("selftaught.improvers").joinpath("seed.py").read_text()
    if os.environ.get("SCRIPTED_HINT") == "paste":
        return "from algorithm import algorithm_str\n" + seed
    return seed.replace(
        "Improve the following solution:", f"{hint} Improve the following solution:"
    )


def _count() -> int:
    path = os.environ.get("SCRIPTED_COUNT_FILE")
    if not path or not os.path.exists(path):
        return 0
    with open(path) as f:
        return sum(1 for _ in f)


def respond(system: str, user: str, n: int, temperature: float) -> list[str]:
    kill_after = os.environ.get("SCRIPTED_KILL_AFTER")
    if kill_after is not None and _count() >= int(kill_after):
        os.kill(os.getpid(), signal.SIGKILL)
    code = _improver() if "def improve_algorithm" in user else _solution(user)
    if path := os.environ.get("SCRIPTED_COUNT_FILE"):
        with open(path, "a") as f:
            f.write("call\n")
    return [_fenced(code)] * n
