"""Seed program for the evaluator-form example: minimise the Rastrigin function in 5-D."""

import random


def search():
    # Random search: the best of 200 uniform points in [-5.12, 5.12]^5.
    def rastrigin(x):
        import math

        return 10 * len(x) + sum(v * v - 10 * math.cos(2 * math.pi * v) for v in x)

    best = None
    for _ in range(200):
        x = [random.uniform(-5.12, 5.12) for _ in range(5)]
        if best is None or rastrigin(x) < rastrigin(best):
            best = x
    return best
