"""User tasks: resolve_task / describe_tasks, the two example forms, and one-line TaskErrors."""

from __future__ import annotations

import importlib.metadata
import inspect
from pathlib import Path

import pytest
from conftest import ROOT

import selftaught.utility
from selftaught.sandbox import Limits, open_sandbox
from selftaught.tasks import (
    TaskError,
    child_program,
    describe_tasks,
    get_task,
    loading,
    resolve_task,
)
from selftaught.utility import Evaluator

NATIVE = ROOT / "examples" / "tasks" / "native_form" / "knapsack.py"
EVALUATOR_DIR = ROOT / "examples" / "tasks" / "evaluator_form"

GOOD_SEARCH = """import math


def search():
    return [0.0] * 5  # the global minimum of Rastrigin
"""

TASK_FILE = """
from selftaught.tasks import Instance, Split

class Echo:
    name = "echo"
    entry = "algorithm"
    seed_solution = "def algorithm(x):\\n    return {seed_return}\\n"
    description = "return x"
    instance_seconds = 1.0
    array_args = False
    splits = {{"val": Split(1, 2), "test": Split(2, 3)}}

    def instance(self, seed):
        return Instance(inputs=[seed], answer=seed)

    def score(self, instance, output):
        if not isinstance(output, int):
            return 0.0, "not an int"
        return {score_expr}, None

TASK = Echo()
"""


def write_task(tmp_path: Path, seed_return="x", score_expr="float(output == instance.answer)"):
    path = tmp_path / "echo_task.py"
    path.write_text(TASK_FILE.format(seed_return=seed_return, score_expr=score_expr))
    return path


def one_line_error(spec, **kwargs) -> str:
    with pytest.raises(TaskError) as caught:
        resolve_task(str(spec), **kwargs)
    message = str(caught.value)
    assert "\n" not in message and message
    return message


@pytest.fixture(scope="module")
def sandbox():
    box = open_sandbox("auto")
    yield box
    box.close()


# --- the examples -----------------------------------------------------------------------------


def test_native_example_loads_and_evaluates(sandbox):
    task = resolve_task(str(NATIVE))
    assert task.name == "knapsack"
    for split in ("val", "test"):
        result = Evaluator(task, sandbox, None).evaluate(task.seed_solution, split)
        assert 0.9 < result.score <= 1.0 and result.failure is None
    junk = Evaluator(task, sandbox, None).evaluate("def algorithm(*a):\n    return 'x'\n", "val")
    assert junk.score == 0.0 and junk.instances[0]["reason"] == "expected a list of item indices"


def _run_evaluator_form(sandbox, task, source, split="val"):
    """What Evaluator does once it loads `child_program(task, solution)` (see report)."""
    spec = task.splits[split]
    instances = [task.instance(spec.first_seed + i) for i in range(spec.size)]
    run = sandbox.run_solution(
        child_program(task, source), task.entry, [i.inputs for i in instances],
        instance_seconds=task.instance_seconds, seed=1, array_args=False, limits=Limits(),
    )  # fmt: skip
    return [task.score(i, o.output) if o.status == "ok" else (0.0, o.error)
            for i, o in zip(instances, run.outcomes, strict=True)]  # fmt: skip


def test_evaluator_form_example_loads_and_runs_inside_the_sandbox(sandbox):
    task = resolve_task(str(EVALUATOR_DIR))  # checks the seed through the harness
    assert task.name == "rastrigin" and task.splits["val"].size == 3
    # The model sees the evaluator's docstring, not its source (docs/tasks.md).
    assert task.description.startswith("An example task in the evaluator form")
    assert "def rastrigin" not in task.description
    seed = _run_evaluator_form(sandbox, task, task.seed_solution)
    assert all(reason is None and 0.0 < score < 0.5 for score, reason in seed)
    good = _run_evaluator_form(sandbox, task, GOOD_SEARCH)
    assert good == [(1.0, None)] * 3
    broken = _run_evaluator_form(sandbox, task, "def search(:\n")
    assert all(score == 0.0 and "SyntaxError" in reason for score, reason in broken)


@pytest.mark.skipif(
    "child_program" not in inspect.getsource(selftaught.utility),
    reason="Evaluator does not yet load child_program(task, solution)",
)
def test_evaluator_form_through_the_evaluator(sandbox):
    task = resolve_task(str(EVALUATOR_DIR))
    result = Evaluator(task, sandbox, None).evaluate(GOOD_SEARCH, "val")
    assert result.score == 1.0


def test_evaluator_form_scores_on_its_own_scale_or_a_given_score_range(tmp_path):
    (tmp_path / "initial_program.py").write_text("def f():\n    return 1\n")
    (tmp_path / "evaluator.py").write_text(
        "def evaluate(path):\n    return {'combined_score': 2.5}\n"
    )
    task = resolve_task(str(tmp_path))  # its own scale: 2.5 is a score, not an error
    assert task.seed_check.score == 2.5
    assert task.score(task.instance(0), {"metrics": {"combined_score": 2.5}}) == (2.5, None)
    (tmp_path / "evaluator.py").write_text(
        "SELFTAUGHT_OPTIONS = {'score_range': (0, 10)}\n"
        "def evaluate(path):\n    return {'combined_score': 2.5}\n"
    )
    task = resolve_task(str(tmp_path))
    instance = task.instance(0)
    assert task.score(instance, {"metrics": {"combined_score": 2.5}}) == (0.25, None)
    assert task.score(instance, {"metrics": {"combined_score": 11}})[0] == 0.0  # tampered
    assert task.score(instance, {"metrics": {"combined_score": "nan"}})[0] == 0.0
    assert (
        task.score(instance, {"metrics": {"other": 1}})[1]
        == "the evaluator's result has no 'combined_score'"
    )
    (tmp_path / "evaluator.py").write_text(
        "SELFTAUGHT_OPTIONS = {'score_range': (0, 1)}\n"
        "def evaluate(path):\n    return {'combined_score': 2.5}\n"
    )
    assert "score_range" in one_line_error(tmp_path)


# --- resolving ----------------------------------------------------------------------------------


def test_registry_names_resolve_to_the_builtins():
    for name in ("lpn", "parity", "string_grid", "mqap", "three_sat", "maxcut"):
        assert type(resolve_task(name)) is type(get_task(name))


def test_module_and_entry_point_forms(tmp_path, monkeypatch):
    write_task(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert resolve_task("echo_task").name == "echo"
    assert resolve_task("echo_task:Echo").name == "echo"  # a class is instantiated
    point = importlib.metadata.EntryPoint("my-echo", "echo_task:TASK", loading.ENTRY_POINT_GROUP)
    monkeypatch.setattr(
        loading.importlib.metadata, "entry_points",
        lambda group=None: [point] if group == loading.ENTRY_POINT_GROUP else [],
    )  # fmt: skip
    assert resolve_task("my-echo").name == "echo"
    rows = {row["name"]: row for row in describe_tasks([str(NATIVE), "no_such_module_xyz"])}
    assert rows["echo"]["kind"] == "entry_point" and rows["echo"]["splits"] == {"val": 2, "test": 3}
    assert rows["knapsack"]["form"] == "native" and rows["lpn"]["kind"] == "builtin"
    assert {"string_grid", "mqap", "three_sat", "maxcut", "parity"} <= set(rows)
    assert "unknown task" in rows["no_such_module_xyz"]["error"]


def test_describe_lists_the_evaluator_form():
    rows = describe_tasks([str(EVALUATOR_DIR)])
    assert rows[-1]["name"] == "rastrigin" and rows[-1]["form"] == "evaluator"


# --- bad input: one line saying what is wrong and how to fix it -------------------------------


def test_a_file_without_a_task(tmp_path):
    path = tmp_path / "nothing.py"
    path.write_text("X = 1\n")
    assert "defines no task" in one_line_error(path)
    path.write_text("raise RuntimeError('boom\\nsecond line')\n")
    assert "failed to import: RuntimeError: boom second line" in one_line_error(path)
    assert "does not exist" in one_line_error(tmp_path / "missing.py")
    assert "unknown task" in one_line_error("no_such_task_name")


def test_a_task_missing_attributes(tmp_path):
    path = tmp_path / "half.py"
    path.write_text("class T:\n    name = 'half'\n\nTASK = T()\n")
    assert "the task has no entry, seed_solution" in one_line_error(path)


def test_a_seed_that_fails_its_own_validator(tmp_path):
    message = one_line_error(write_task(tmp_path, seed_return="'text'"))
    assert "fails the task's own validator" in message and "not an int" in message
    message = one_line_error(write_task(tmp_path, seed_return="1/0"))
    assert "seed solution failed" in message and "ZeroDivisionError" in message


def test_a_scorer_outside_the_unit_interval(tmp_path):
    message = one_line_error(write_task(tmp_path, score_expr="2.0"))
    assert "score() returned (2.0, None)" in message and "[0, 1]" in message
    # Caught on junk probes too, not only on the seed's output.
    message = one_line_error(write_task(tmp_path, score_expr="1.0 if output == 1 else -1.0"))
    assert "score() returned" in message
    # And at evaluation time, whatever the load-time check saw.
    task = resolve_task(str(write_task(tmp_path, score_expr="output * 1.0")), check=False)
    with pytest.raises(TaskError, match="outside|must return"):
        task.score(task.instance(1), 7)
    # An integer past float range is refused the same way, not an OverflowError.
    task = resolve_task(str(write_task(tmp_path, score_expr="10**400")), check=False)
    with pytest.raises(TaskError, match="must return"):
        task.score(task.instance(1), 7)


def test_a_scorer_exception_costs_one_instance(tmp_path):
    task = resolve_task(str(write_task(tmp_path, score_expr="1.0 / (output - 99)")), check=False)
    score, reason = task.score(task.instance(1), 99)
    assert score == 0.0 and reason.startswith("the task's scorer raised ZeroDivisionError")


def test_nondeterministic_instances(tmp_path):
    path = write_task(tmp_path)
    path.write_text(path.read_text().replace("inputs=[seed]", "inputs=[id(object())]"))
    assert "different inputs twice" in one_line_error(path)


def test_array_args_is_one_bool_for_all_arguments(tmp_path):
    path = write_task(tmp_path)
    path.write_text(path.read_text().replace("array_args = False", "array_args = [True]"))
    assert "array_args must be a bool" in one_line_error(path)
