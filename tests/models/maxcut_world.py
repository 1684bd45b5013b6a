"""A scripted model for the repair test on Max-Cut: `python:tests/models/maxcut_world.py:respond`.

Max-Cut's seed solution is a cubic greedy that runs past the 0.1 s limit on most graphs. Asked
to improve it, this model rewrites the same greedy (as slow); told that the program fails on
some tests because it is too slow, it returns a fast random partition, which scores about 0.5
on every graph, where the seed's timeouts score 0.
"""

from __future__ import annotations

SLOW = """def algorithm(adjacency_matrix):
    size = len(adjacency_matrix)
    label = [-1] * size
    todo = set(range(size))
    while todo:
        top = (-1.0, None, None)
        for v in todo:
            for s in (0, 1):
                g = sum(w for u, w in enumerate(adjacency_matrix[v]) if label[u] == 1 - s)
                if g > top[0]:
                    top = (g, v, s)
        label[top[1]] = top[2]
        todo.remove(top[1])
    return label
"""
FAST = """import numpy as np


def algorithm(adjacency_matrix):
    return [int(b) for b in np.random.RandomState(0).randint(0, 2, len(adjacency_matrix))]
"""


def respond(system: str, user: str, n: int, temperature: float) -> list[str]:
    told = "too slow" in user and "It fails on" in user
    return [f"```python\n{FAST if told else SLOW}```\n" for _ in range(n)]
