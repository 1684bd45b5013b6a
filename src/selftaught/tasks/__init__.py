"""The task registry (name -> task) and the loading of user tasks.

`get_task(name)` gives a built-in task; `resolve_task(spec)` also accepts a path to a task file
or an evaluator directory, an installed module, or an entry point in the `selftaught.tasks`
group (`selftaught.tasks.loading`: found by `tasks.finding`, then checked by `tasks.checking`).
`describe_tasks()` lists both kinds.
"""

from __future__ import annotations

from selftaught.tasks.base import Instance, Split, Task, TaskError, child_program
from selftaught.tasks.finding import source_digest
from selftaught.tasks.loading import describe_tasks, resolve_task
from selftaught.tasks.registry import SUMMARIES, get_task, task_names

__all__ = [
    "Instance",
    "Split",
    "Task",
    "TaskError",
    "SUMMARIES",
    "child_program",
    "describe_tasks",
    "get_task",
    "resolve_task",
    "source_digest",
    "task_names",
]
