"""The Python API: a thin typed facade over the internals the `selftaught` command uses.

Every call records into a run directory exactly as the command does (same store, same
resume, same report), takes the command's options as keyword arguments, and raises
`SelftaughtError` with the command's one-line message on bad input. See docs/api.md.
`selftaught` re-exports these names (its `__all__` lists them) and imports this package on
first use.
"""

# ruff: noqa: F401 - every name here is re-exported
from selftaught.api.errors import CapReached, SelftaughtError
from selftaught.api.evaluation import evaluate
from selftaught.api.records import (
    Comparison,
    Evaluation,
    ImproverResult,
    InstanceOutcome,
    Iteration,
    Offender,
    Safety,
    SolutionScores,
    Transfer,
    TransferRow,
)
from selftaught.api.running import Run, resume, run
from selftaught.api.studies import compare, transfer
from selftaught.api.task import Task
from selftaught.tasks.base import Instance, Split
