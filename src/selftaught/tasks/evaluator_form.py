"""Adapter for the evaluator form that OpenEvolve and ShinkaEvolve use.

That form is a Python file defining `evaluate(program_path) -> dict` (OpenEvolve may return an
`EvaluationResult` with a `.metrics` dict) whose `combined_score` is the program's fitness, plus
an initial program. The evaluator imports and runs the program itself, so it cannot be split
into "child computes outputs, host scores them" the way native tasks are. Instead:

- the *child* loads a harness (`wrap_solution`) holding the evaluator's source and the
  candidate's source; the harness writes the candidate to `program.py` in the child's private
  scratch directory and calls `evaluate(that path)` there. Its "output" is the evaluator's
  returned dict (numbers, strings and bools only; other values are dropped).
- the *host* reads `combined_score` (or `score_key`) from that dict, maps it from `score_range`
  to [0, 1] and checks it: a missing, non-numeric or out-of-range score gives 0 with the reason
  (a candidate may have caused it, so it costs that instance, not the run). At load time the
  seed program is run through the same harness in a plain subprocess: if its score is missing
  or out of range, loading fails with a `TaskError` saying to set `score_range`.

Trust: the evaluator runs in the same sandboxed process as the candidate, so the candidate can
patch it, its imports or its clock. The score is therefore only as tamper-proof as the
evaluator: fine for trying an OpenEvolve task, not a substitute for a native task's host-side
scorer. The sandbox still confines the evaluator (no network, no new processes, a private
directory, CPU and memory limits): evaluators that start subprocesses or read files next to
themselves will fail there; inline what they need.

Instances carry no inputs: each of a split's instances is one more run of the evaluator (the
child seeds `random` and `numpy.random` differently per instance), `val_runs` and `test_runs`
of them (default 1 each).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from selftaught.tasks.base import Instance, TaskError, paper_splits

HARNESS_ENTRY = "__selftaught_evaluate__"

HARNESS = '''"""selftaught harness: runs the task's evaluator on the candidate, in this child."""

_EVALUATOR_SOURCE = {evaluator!r}
_PROGRAM_SOURCE = {program!r}


def {entry}():
    import math
    import os
    import sys
    import types

    workdir = os.getcwd()  # the child's private scratch directory
    program_path = os.path.join(workdir, "program.py")
    with open(program_path, "w", encoding="utf-8") as handle:
        handle.write(_PROGRAM_SOURCE)
    evaluator = types.ModuleType("evaluator")
    evaluator.__file__ = os.path.join(workdir, "evaluator.py")
    sys.modules["evaluator"] = evaluator
    exec(compile(_EVALUATOR_SOURCE, evaluator.__file__, "exec"), evaluator.__dict__)
    result = evaluator.evaluate(program_path)
    metrics = getattr(result, "metrics", result)
    if not isinstance(metrics, dict):
        raise TypeError("evaluate() must return a dict of metrics, got " + type(metrics).__name__)
    kept = {{}}
    for key, value in metrics.items():
        if isinstance(value, (bool, int, float, str)) and isinstance(key, str):
            if isinstance(value, float) and not math.isfinite(value):
                value = str(value)  # let the host say why instead of a bare "not JSON"
            kept[key] = value
    return kept
'''


def _describe(evaluator_source: str, score_key: str) -> str:
    return (
        f"# The utility: your program is saved to a file and scored by evaluate(program_path)\n"
        f"# below; the utility is the returned {score_key!r} (higher is better).\n\n"
        + evaluator_source
    )


class EvaluatorTask:
    """A task in the evaluator form; see the module docstring for how it runs and its trust."""

    entry = HARNESS_ENTRY
    array_args = False

    def __init__(
        self,
        evaluator_path: str | Path,
        initial_program_path: str | Path,
        *,
        name: str | None = None,
        description: str | None = None,
        instance_seconds: float = 60.0,
        val_runs: int = 1,
        test_runs: int = 1,
        score_key: str = "combined_score",
        score_range: tuple[float, float] = (0.0, 1.0),
    ):
        evaluator_path, initial_program_path = Path(evaluator_path), Path(initial_program_path)
        for what, path in (("evaluator", evaluator_path), ("seed", initial_program_path)):
            if not path.is_file():
                raise TaskError(f"{what} {path} does not exist; give the path of a .py file")
        low, high = score_range
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise TaskError(f"score_range {score_range!r} must be two finite numbers, low < high")
        self.evaluator_path = evaluator_path
        self.evaluator_source = evaluator_path.read_text(encoding="utf-8")
        self.name = name or evaluator_path.resolve().parent.name
        self.seed_solution = initial_program_path.read_text(encoding="utf-8")
        self.description = description or _describe(self.evaluator_source, score_key)
        self.instance_seconds = float(instance_seconds)
        self.splits = paper_splits(int(val_runs), int(test_runs))
        self.score_key = score_key
        self.score_range = (float(low), float(high))
        self.summary = f"evaluator form: {evaluator_path}"

    def wrap_solution(self, solution: str) -> str:
        """The harness the child loads (see `selftaught.tasks.base.child_program`)."""
        return HARNESS.format(
            evaluator=self.evaluator_source, program=solution, entry=HARNESS_ENTRY
        )

    def instance(self, seed: int) -> Instance:
        return Instance(inputs=[], answer=None)

    def score(self, instance: Instance, output: Any) -> tuple[float, str | None]:
        if not isinstance(output, dict):
            return 0.0, f"the evaluator returned {type(output).__name__}, not a dict of metrics"
        if self.score_key not in output:
            return 0.0, f"the evaluator's result has no {self.score_key!r}"
        value = output[self.score_key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            return 0.0, f"{self.score_key} is {value!r}, not a number"[:300]
        if not math.isfinite(value):
            return 0.0, f"{self.score_key} is {value!r}"
        low, high = self.score_range
        scaled = (value - low) / (high - low)
        if not 0.0 <= scaled <= 1.0:
            return 0.0, (f"{self.score_key} = {value!r} is outside score_range [{low}, {high}]")
        return float(scaled), None
