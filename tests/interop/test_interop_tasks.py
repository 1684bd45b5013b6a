"""The field's tasks, unchanged: OpenEvolve's and ShinkaEvolve's forms (docs/tasks.md).

Each task directory under tests/interop_tasks/ is written as for OpenEvolve or ShinkaEvolve;
k_module_problem is OpenEvolve's own example, vendored unchanged. Every score selftaught
gives is compared with the score the task's evaluator gives when called directly, outside
selftaught, in a plain subprocess.
"""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import K_MODULE, ROOT, one_clear_line, run_cli

from selftaught.report import build_report
from selftaught.sandbox import open_sandbox
from selftaught.tasks import TaskError, resolve_task
from selftaught.utility import Evaluator

TASKS = ROOT / "tests" / "interop_tasks"
SHARED_K_MODULE = ROOT.parent / "shared" / "interop" / "k_module_problem"
INTEROP_MODEL = f"python:{ROOT / 'tests' / 'models' / 'interop_world.py'}:respond"

# OpenEvolve's evaluate(), or ShinkaEvolve's evaluate.py, called directly. `install()` only
# provides `openevolve.evaluation_result` / `shinka.core` when the real package is absent.
DIRECT_OPENEVOLVE = """
import json, sys
sys.path.insert(0, ".")
from selftaught.interop import install
install()
import evaluator
result = evaluator.evaluate(sys.argv[1])
metrics = getattr(result, "metrics", result)
print(json.dumps({k: v for k, v in metrics.items() if isinstance(v, (int, float))}))
"""
DIRECT_SHINKA = """
import runpy, sys
from selftaught.interop import install
install()
sys.argv = ["evaluate.py", "--program_path", sys.argv[1], "--results_dir", sys.argv[2]]
runpy.run_path("evaluate.py", run_name="__main__")
"""


@pytest.fixture(scope="module")
def sandbox():
    box = open_sandbox("auto")
    yield box
    box.close()


def k_module(config: dict) -> str:
    pipeline = ", ".join(f"'{k}': '{v}'" for k, v in config.items())
    seed = (K_MODULE / "initial_program.py").read_text()
    start = seed.index("    config = {")
    end = seed.index("    return config")
    return seed[:start] + f"    config = {{{pipeline}}}\n\n" + seed[end:]


def direct_openevolve(task_dir: Path, program: str, tmp_path: Path) -> dict:
    path = tmp_path / "candidate.py"
    path.write_text(program)
    done = subprocess.run(
        [sys.executable, "-c", DIRECT_OPENEVOLVE, str(path)], cwd=task_dir, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def utility(sandbox, task, program: str):
    return Evaluator(task, sandbox, None).evaluate(program, "val")


# --- OpenEvolve's own example, unchanged ---------------------------------------------------


def test_the_vendored_k_module_problem_is_openevolves_unchanged():
    if not SHARED_K_MODULE.is_dir():
        pytest.skip(f"no shared copy at {SHARED_K_MODULE} to compare the vendored one with")
    names = ["README.md", "config.yaml", "evaluator.py", "initial_program.py"]
    match, mismatch, errors = filecmp.cmpfiles(
        SHARED_K_MODULE, K_MODULE, names, shallow=False
    )
    assert match == names, (mismatch, errors)


def test_k_module_problem_scores_as_its_evaluator_does(sandbox, tmp_path):
    task = resolve_task(str(K_MODULE), sandbox=sandbox)
    assert task.profile == "evaluator" and task.instance_seconds == 30  # config.yaml's timeout
    wrong = {"loader": "json_reader", "preprocess": "standardize", "algorithm": "mergesort",
             "formatter": "xml"}  # fmt: skip
    half = wrong | {"loader": "csv_reader", "formatter": "json"}
    best = {"loader": "csv_reader", "preprocess": "normalize", "algorithm": "quicksort",
            "formatter": "json"}  # fmt: skip
    seen = []
    for config in (wrong, half, best):
        program = k_module(config)
        direct = direct_openevolve(K_MODULE, program, tmp_path)
        got = utility(sandbox, task, program)
        assert got.failure is None and got.profile == "evaluator"
        assert got.score == direct["combined_score"]
        assert got.instances[0]["metrics"]["correct_modules"] == direct["correct_modules"]
        assert "status" in got.instances[0]["artifacts"]  # the evaluator's own artifacts
        seen.append(got.score)
    assert seen == [0.0, 0.5, 1.0]
    assert task.seed_check.score == 0.0 and "profile:evaluator" in task.seed_check.layers


def test_k_module_problem_runs_its_fixed_code_whatever_a_candidate_writes_there(sandbox):
    """An edit outside the EVOLVE-BLOCK is dropped: the candidate's block code runs with the
    initial program's fixed code (tasks/splicing.py), so the cheat scores as the seed does."""
    task = resolve_task(str(K_MODULE), check=False)
    cheat = task.seed_solution.replace(
        "    return configure_pipeline()",
        "    return {'loader': 'csv_reader', 'preprocess': 'normalize', "
        "'algorithm': 'quicksort', 'formatter': 'json'}",
    )
    got = utility(sandbox, task, cheat)
    assert got.score == 0.0 and got.failure is None and len(got.instances) == 1
    assert "changed the code outside the EVOLVE-BLOCKs" in got.spliced
    dropped = task.seed_solution.replace("# EVOLVE-BLOCK-END\n", "")
    assert "dropped the EVOLVE-BLOCK markers" in utility(sandbox, task, dropped).spliced


def test_k_module_problem_from_the_shared_copy(sandbox, tmp_path):
    """The copy beside the repository (CI puts shared/ at ../shared), run from a tmp dir."""
    if not SHARED_K_MODULE.is_dir():
        pytest.skip(f"no shared copy at {SHARED_K_MODULE}")
    copy = shutil.copytree(SHARED_K_MODULE, tmp_path / "k_module_problem")
    task = resolve_task(str(copy), sandbox=sandbox)
    assert task.seed_check.score == 0.0


# --- our own examples of each kind ----------------------------------------------------------


def test_an_evaluator_that_runs_the_candidate_in_a_subprocess(sandbox, tmp_path):
    """circle_packing's shape: Popen([sys.executable, tmpfile]), results back by pickle, an
    EvaluationResult from `openevolve.evaluation_result`, a score above 1."""
    task_dir = TASKS / "subprocess_eval"
    task = resolve_task(str(task_dir), sandbox=sandbox)
    assert task.seed_check.score == 1.5
    program = (
        "# EVOLVE-BLOCK-START\ndef construct():\n    return [1.0, 0.75, 1.0]\n"
        "# EVOLVE-BLOCK-END\n"
    )
    direct = direct_openevolve(task_dir, program, tmp_path)
    got = utility(sandbox, task, program)
    assert got.score == direct["combined_score"] == 2.75
    assert got.instances[0]["artifacts"] == {"weights": "[1.0, 0.75, 1.0]"}
    assert "profile:evaluator" in got.layers
    escape = program.replace(
        "return [1.0, 0.75, 1.0]",
        "import subprocess\n    subprocess.run(['/bin/sh', '-c', 'true'], check=True)\n"
        "    return [1.0, 1.0, 1.0]",
    )
    refused = utility(sandbox, task, escape)
    if "landlock" in refused.layers:
        assert refused.score == 0.0 and "Permission denied: '/bin/sh'" in refused.failure


def test_cascade_stages_run_as_openevolve_runs_them(sandbox):
    task = resolve_task(str(TASKS / "cascade"), sandbox=sandbox)
    passed = utility(sandbox, task, "def guess():\n    return 70\n")
    assert passed.score == pytest.approx(9.7) and passed.instances[0]["stage"] == 2
    assert passed.instances[0]["metrics"]["is_int"] == 1.0  # stage 1's metrics, merged
    stopped = utility(sandbox, task, "def guess():\n    return 73.0\n")  # not an int
    assert stopped.score == 0.0 and stopped.instances[0]["stage"] == 1
    assert "distance" not in stopped.instances[0]["metrics"]  # stage 2 never ran


def test_without_combined_score_the_mean_of_numeric_metrics_says_so(sandbox, tmp_path):
    task_dir = TASKS / "mean_metrics"
    task = resolve_task(str(task_dir), sandbox=sandbox)
    got = utility(sandbox, task, "def run():\n    return 3.0, 1.0\n")
    assert got.score == 2.0  # (3 + 1) / 2: the flag and the text are not metrics
    assert got.instances[0]["scored_by"] == "no 'combined_score': the mean of 2 numeric metrics"


def test_shinkaevolve_form(sandbox, tmp_path):
    task_dir = TASKS / "shinka_form"
    task = resolve_task(str(task_dir), sandbox=sandbox)
    assert task.inner.form == "shinka" and task.seed_check.score == 86.0
    program = "# EVOLVE-BLOCK-START\ndef fit(points):\n    return 2.0, 0.5\n# EVOLVE-BLOCK-END\n"
    (tmp_path / "p.py").write_text(program)
    done = subprocess.run(
        [sys.executable, "-c", DIRECT_SHINKA, str(tmp_path / "p.py"), str(tmp_path / "out")],
        cwd=task_dir, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    direct = json.loads((tmp_path / "out" / "metrics.json").read_text())
    got = utility(sandbox, task, program)
    assert got.score == direct["combined_score"] == 100.0 - 0.75
    row = got.instances[0]
    assert row["metrics"]["squared_error"] == 0.75 and row["private"] == {"true_slope": 2.0}
    assert row["artifacts"] == {"text_feedback": "squared error 0.750"}
    wrong = program.replace("return 2.0, 0.5", "return 2, 1")
    failed = utility(sandbox, task, wrong)  # correct.json says false: a failed evaluation
    assert failed.score == 0.0
    assert failed.failure == "incorrect: Validation failed: fit() must return two floats"


def test_a_task_that_fails_only_inside_the_sandbox_fails_to_load(tmp_path):
    (tmp_path / "initial_program.py").write_text("def f():\n    return 1\n")
    (tmp_path / "evaluator.py").write_text(
        "import socket\n\n\ndef evaluate(path):\n"
        "    socket.socket().close()  # fine outside; no network inside\n"
        "    return {'combined_score': 1.0}\n"
    )
    with pytest.raises(TaskError, match="failed in the sandbox") as error:
        resolve_task(str(tmp_path))
    assert "PermissionError" in str(error.value) and "\n" not in str(error.value)


# --- what the model is shown ----------------------------------------------------------------


def test_tasks_show_prints_what_the_model_sees_without_hidden_values():
    done = run_cli("tasks", "--show", str(TASKS / "hidden_optimum"))
    assert done.returncode == 0, done.stderr
    assert "Choose three coefficients" in done.stdout  # the evaluator's docstring
    assert "EVOLVE-BLOCK-START" in done.stdout  # the whole initial program, blocks marked
    assert "SECRET_OPTIMUM" not in done.stdout and "42.0" not in done.stdout
    assert "'evaluator'" in done.stderr and "seed scores" in done.stderr
    shown = run_cli("tasks", "--show", str(TASKS / "hidden_optimum"), "--show-evaluator")
    assert "SECRET_OPTIMUM = (0.125, -3.5, 42.0)" in shown.stdout
    listed = run_cli("tasks", str(TASKS / "shinka_form"))
    assert listed.returncode == 0 and "evaluator" in listed.stdout


def test_tasks_show_of_a_broken_task_is_one_clear_line(tmp_path):
    (tmp_path / "evaluate.py").write_text("def main():\n    pass\n")
    one_clear_line(run_cli("tasks", "--show", str(tmp_path)), "initial.py")


def _prompts_of_a_run(tmp_path: Path, *extra: str) -> str:
    prompts = tmp_path / "prompts.jsonl"
    done = run_cli(
        "run", "--task", str(TASKS / "hidden_optimum"), "--iterations", "0", "--repetitions",
        "1", "--model", INTEROP_MODEL, "--run-dir", str(tmp_path / "run"), *extra,
        env={"INTEROP_PROMPTS": str(prompts)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "task hidden_optimum: the seed solution scores 0.0214" in done.stderr  # loading's
    assert "(evaluator profile)" in done.stderr
    return prompts.read_text()


@pytest.mark.slow
def test_nothing_hidden_reaches_a_prompt(tmp_path):
    prompts = _prompts_of_a_run(tmp_path / "a")
    assert "Choose three coefficients" in prompts  # the prompts were recorded
    for hidden in ("SECRET_OPTIMUM", "42.0", "-3.5", "0.125"):
        assert hidden not in prompts
    html = build_report(tmp_path / "a" / "run")  # the evaluator's own record, for people
    assert "the evaluator's metrics and artifacts" in html and "error_sum = " in html
    shown = _prompts_of_a_run(tmp_path / "b", "--show-evaluator")  # the check can fail
    assert "SECRET_OPTIMUM" in shown


def test_a_bad_config_yaml_is_one_clear_line(tmp_path):
    task_dir = shutil.copytree(TASKS / "mean_metrics", tmp_path / "task")
    (task_dir / "config.yaml").write_text("evaluator: [\n")
    one_clear_line(run_cli("tasks", "--show", str(task_dir)), "config.yaml", "not valid YAML")
    (task_dir / "config.yaml").write_text("evaluator:\n  timeout: soon\n")
    one_clear_line(run_cli("tasks", "--show", str(task_dir)), "config.yaml", "evaluator.timeout")
