"""A candidate's metric never bricks a run (issue 25, item 1): an evaluator-form metric past
float range, or finite metrics whose mean overflows, cost the instance (0, with a reason),
never a host exception, never a task error that blames the user's task, and a resume replays
the same cached reply without crashing."""

from __future__ import annotations

import json

import pytest
from hostile import hostile_run, instance_rows

from selftaught import scores
from selftaught.sandbox import open_sandbox
from selftaught.tasks import Instance, Split
from selftaught.utility import Evaluator

# An evaluator whose metrics are whatever the candidate's `metrics()` returns: the candidate
# writes its own numbers, as a program under an OpenEvolve evaluator does in effect.
EVALUATOR = """
import importlib.util
SELFTAUGHT_OPTIONS = {"name": "metric_echo", "instance_seconds": 5.0, "val_runs": 1,
                      "test_runs": 1}

def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    return program.metrics()
"""
SEED = "def metrics():\n    return {'combined_score': 0.5}\n"

CASES = {
    "past float range": "def metrics():\n    return {'combined_score': 10**400}\n",
    "negative past float range": "def metrics():\n    return {'combined_score': -10**400}\n",
    "mean overflows": "def metrics():\n    return {'a': 1.7e308, 'b': 1.7e308}\n",
    "one metric past range in a mean": "def metrics():\n    return {'a': 10**400, 'b': 1}\n",
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_metric_past_float_range_costs_its_instance(tmp_path, case):
    task = tmp_path / "task"
    task.mkdir()
    (task / "evaluator.py").write_text(EVALUATOR)
    (task / "initial_program.py").write_text(SEED)
    args = ("--iterations", "1", "--repetitions", "1")
    done, run_dir = hostile_run(tmp_path, solution=CASES[case], task=str(task), args=args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    rows = [row for row in instance_rows(run_dir) if "metrics" in row]
    assert rows and all(scores.finite(row["score"]) is not None for row in rows)
    if case == "mean overflows":  # the mean of two finite metrics is finite: a score
        assert any(row["score"] == pytest.approx(1.7e308) for row in rows)
    else:
        hostile = [row for row in rows if row["status"] == "invalid_output"]
        assert hostile and all(row["score"] == 0.0 and row["reason"] for row in hostile)


def test_scores_helpers_never_raise_on_huge_numbers():
    assert scores.finite(10**400) is None and scores.finite(-(10**400)) is None
    assert scores.finite(float("nan")) is None and scores.finite(True) is None
    assert scores.finite(3) == 3.0 and scores.finite("1") is None
    assert not scores.is_unit_score(10**400)
    assert scores.mean([1.7e308, 1.7e308]) == pytest.approx(1.7e308)
    assert scores.mean([]) == 0.0
    json.dumps(scores.mean([1e308] * 10))  # finite, so storable


class _RecordsBadly:
    """A task whose record of an output raises, as the evaluator form's did on 10**400."""

    name, entry, array_args, instance_seconds = "records_badly", "algorithm", False, 1.0
    seed_solution = "def algorithm(x):\n    return x\n"
    description = "def utility(algorithm_str): ..."
    splits = {"val": Split(1, 2), "test": Split(10, 2)}

    def instance(self, seed):
        return Instance(inputs=[seed], answer=seed)

    def score(self, instance, output):
        return 1.0, None

    def record(self, output):
        return {"value": float(10**400)}


def test_an_output_that_breaks_the_record_costs_only_the_record():
    box = open_sandbox("auto")
    try:
        result = Evaluator(_RecordsBadly(), box, None).evaluate(_RecordsBadly.seed_solution, "val")
    finally:
        box.close()
    assert result.score == 1.0
    assert all("OverflowError" in row["record_error"] for row in result.instances)
