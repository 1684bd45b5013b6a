"""A hostile model for the reliability tests, plugged in as
`python:tests/models/hostile_world.py:respond`.

It answers every request for a solution with the program in the file $HOSTILE_SOLUTION and every
request for an improver with the program in $HOSTILE_IMPROVER (either unset: the seed
improver, or the task's seed solution). $HOSTILE_REPLY, a file, replaces the whole reply text
(for replies that are not even a fenced program). $HOSTILE_GATE, a path: each call waits until it
exists (a run that stays live, mid-call, until the test lets it go on).
"""

from __future__ import annotations

import os
import time
from importlib import resources


def _read(variable: str) -> str | None:
    path = os.environ.get(variable)
    if not path:
        return None
    with open(path, encoding="utf-8", errors="surrogatepass") as f:
        return f.read()


def respond(system: str, user: str, n: int, temperature: float) -> list[str]:
    gate = os.environ.get("HOSTILE_GATE")
    while gate and not os.path.exists(gate):
        time.sleep(0.05)
    reply = _read("HOSTILE_REPLY")
    if reply is None:
        if "def improve_algorithm" in user:
            code = _read("HOSTILE_IMPROVER")
            if code is None:
                code = resources.files("selftaught.improvers").joinpath("seed.py").read_text()
        else:
            code = _read("HOSTILE_SOLUTION") or "def algorithm(*args):\n    return 0\n"
        reply = f"Here it is.\n```python\n{code}```\n"
    return [reply] * n
