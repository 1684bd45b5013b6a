"""The built-in tasks by name: the paper's self-improvement task and its transfer tasks."""

from __future__ import annotations

from selftaught.tasks.base import Task, TaskError
from selftaught.tasks.lpn import LearningParityWithNoise, ParityWithoutNoise
from selftaught.tasks.maxcut import MaxCut
from selftaught.tasks.mqap import ModifiedQuadraticAssignment
from selftaught.tasks.string_grid import StringGridDistance
from selftaught.tasks.three_sat import ThreeSat

TASKS: dict[str, type] = {
    "lpn": LearningParityWithNoise,
    "parity": ParityWithoutNoise,
    "string_grid": StringGridDistance,
    "mqap": ModifiedQuadraticAssignment,
    "three_sat": ThreeSat,
    "maxcut": MaxCut,
}

SUMMARIES = {
    "lpn": "Learning Parity with Noise (10 bits, 5% train noise): STOP's self-improvement task",
    "parity": "Learning parity without noise: a transfer task",
    "string_grid": "String grid distance: build a string at a given grid distance (transfer)",
    "mqap": "Modified quadratic assignment, n = 15, minimise cost (transfer)",
    "three_sat": "Planted random 3-SAT, 5..50 variables, 4n clauses (transfer)",
    "maxcut": "Weighted Max-Cut, 50..200 nodes, cut / total weight (transfer)",
}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]()
    except KeyError:
        known = ", ".join(sorted(TASKS))
        raise TaskError(f"unknown task {name!r}; known tasks: {known}") from None


def task_names() -> list[str]:
    return sorted(TASKS)
