"""The task registry: name -> task."""

from __future__ import annotations

from selftaught.tasks.base import Instance, Split, Task, TaskError
from selftaught.tasks.lpn import LearningParityWithNoise, ParityWithoutNoise

_TASKS: dict[str, type] = {
    "lpn": LearningParityWithNoise,
    "parity": ParityWithoutNoise,
}

SUMMARIES = {
    "lpn": "Learning Parity with Noise (10 bits, 5% train noise): STOP's self-improvement task",
    "parity": "Learning parity without noise: a transfer task",
}


def get_task(name: str) -> Task:
    try:
        return _TASKS[name]()
    except KeyError:
        known = ", ".join(sorted(_TASKS))
        raise TaskError(f"unknown task {name!r}; known tasks: {known}") from None


def task_names() -> list[str]:
    return sorted(_TASKS)


__all__ = ["Instance", "Split", "Task", "TaskError", "get_task", "task_names", "SUMMARIES"]
