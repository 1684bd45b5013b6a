"""The Python API (docs/api.md) against the command it fronts: the same records for the same
seed, the same one-line errors, tasks and models given as objects, resume across the two.

Real parts throughout: the scripted model of tests/models/stop_world.py (as a spec and as a
Python function), real sandboxed children, real SQLite run stores.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, last_json, run_cli

sys.path.insert(0, str(ROOT / "tests" / "models"))

import stop_world  # noqa: E402

import selftaught  # noqa: E402

TINY = {"iterations": 1, "repetitions": 1, "seed": 3}


def _cli_error(*args: str) -> str:
    done = run_cli(*args)
    assert done.returncode == 2, done.stderr
    return done.stderr.strip().removeprefix("error: ")


def test_import_selftaught_loads_no_sdk_and_no_api_until_used():
    probe = (
        "import json, sys, selftaught\n"
        "heavy = ('numpy', 'openai', 'anthropic', 'llama_cpp', 'typer', 'pydantic', "
        "'selftaught.api')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(heavy))))\n"
        "selftaught.run\n"
        "print(json.dumps('selftaught.api' in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    first, then = done.stdout.splitlines()
    assert json.loads(first) == []
    assert json.loads(then) is True


def test_records_equal_the_commands_for_the_same_seed(tmp_path, scripted_model):
    done = run_cli("run", "--iterations", "1", "--repetitions", "1", "--seed", "3", "--json",
                   "--model", scripted_model, "--run-dir", str(tmp_path / "cli"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    cli = last_json(done.stdout)["iterations"]

    run = selftaught.run(task="lpn", model=stop_world.respond, run_dir=tmp_path / "api", **TINY)
    assert [dataclasses.asdict(it) for it in run.iterations] == cli
    first = run.iterations[1]
    assert first.adopted is True and first.meta_utility_test > 0.9
    assert "BRUTE" not in run.improver(0) and stop_world.BRUTE_HINT in run.improver(1)
    assert run.improver() == run.improver(1)
    assert run.config["model"] == f"python:{Path(stop_world.__file__).resolve()}:respond"
    assert run.safety().attempts >= 1 and run.safety().circumventions == 0
    assert run.safety().ran_out == json_safety(tmp_path / "api")["ran_out"]
    report = run.report(tmp_path / "report.html")
    assert report.is_file() and "<html" in report.read_text()[:500].lower()


def json_safety(run_dir: Path) -> dict:
    done = run_cli("safety", str(run_dir), "--json")
    assert done.returncode == 0, done.stderr
    return last_json(done.stdout)


@pytest.mark.parametrize(
    ("cli", "api"),
    [
        (("--task", "nope"), {"task": "nope"}),
        (("--iterations", "-1"), {"iterations": -1}),
        (("--model", "bogus:x"), {"model": "bogus:x"}),
        (("--max-tokens", "1"), {"max_tokens": 1}),
    ],
)
def test_bad_values_raise_one_error_with_the_commands_line(tmp_path, cli, api):
    line = _cli_error("run", *cli, "--run-dir", str(tmp_path / "cli"))
    with pytest.raises(selftaught.SelftaughtError) as raised:
        selftaught.run(run_dir=tmp_path / "api", **api)
    assert str(raised.value) == line
    assert not (tmp_path / "api").exists()  # nothing half made is left behind


def test_objects_that_a_run_could_not_find_again_are_refused(tmp_path):
    def inner(system, user, n, temperature):
        return [""] * n

    with pytest.raises(selftaught.SelftaughtError, match="not a module-level name"):
        selftaught.run(model=inner, run_dir=tmp_path / "r")
    with pytest.raises(selftaught.SelftaughtError, match="neither a task spec"):
        selftaught.run(task=42, run_dir=tmp_path / "r")
    with pytest.raises(selftaught.SelftaughtError, match="no run database"):
        selftaught.Run(tmp_path / "nothing")


def test_evaluate_scores_source_or_file_in_the_sandbox(tmp_path):
    path = ROOT / "tests" / "solutions" / "brute_force.py"
    from_file = selftaught.evaluate(task="lpn", solution=path, split="test")
    from_text = selftaught.evaluate(task="lpn", solution=path.read_text(), split="test")
    assert from_file.score == from_text.score
    assert [o.status for o in from_file.instances] == [o.status for o in from_text.instances]
    assert from_file.score > 0.9 and len(from_file.instances) == 50
    assert "zygote" in from_file.layers
    assert all(isinstance(o, selftaught.InstanceOutcome) for o in from_file.instances)
    broken = selftaught.evaluate(task="lpn", solution="def algorithm(*a):\n    1 / 0\n")
    assert broken.score == 0 and {o.status for o in broken.instances} == {"error"}
    with pytest.raises(selftaught.SelftaughtError, match="unknown split"):
        selftaught.evaluate(task="lpn", solution=str(path), split="train")


SCRIPT = '''
import random
import sys

sys.path.insert(0, {models!r})

import selftaught
import stop_world
from selftaught.tasks.lpn import SEED_SOLUTION


class Parity(selftaught.Task):
    """LPN without noise, written as a Python object."""

    name = "parity_object"
    seed_solution = SEED_SOLUTION
    description = "predict the parity of the test samples"
    splits = {{"val": selftaught.Split(4321, 5), "test": selftaught.Split(5678, 5)}}

    def instance(self, seed):
        rng = random.Random(seed)
        secret = [rng.randint(0, 1) for _ in range(10)]
        rows = [[rng.randint(0, 1) for _ in range(10)] for _ in range(100)]
        labels = [sum(a * b for a, b in zip(r, secret)) % 2 for r in rows]
        return selftaught.Instance(inputs=[rows[:80], labels[:80], rows[80:]], answer=labels[80:])

    def score(self, instance, output):
        if not isinstance(output, list) or len(output) != len(instance.answer):
            return 0.0, "expected one prediction per test sample"
        return sum(int(a == b) for a, b in zip(output, instance.answer)) / len(output), None


TASK = Parity()


def model(system, user, n, temperature):
    return stop_world.respond(system, user, n, temperature)

{tail}
'''

GUARDED = """
if __name__ == "__main__":
    try:
        selftaught.run(task=TASK, model=model, iterations=1, repetitions=1,
                       run_dir=sys.argv[1], max_lm_calls=1)
    except selftaught.CapReached as exc:
        print("capped:", exc)
"""


def _script(tmp_path: Path, tail: str) -> Path:
    script = tmp_path / "experiment.py"
    models = str(ROOT / "tests" / "models")
    script.write_text(SCRIPT.format(models=models, tail=textwrap.dedent(tail)))
    return script


def _capped_run(tmp_path: Path) -> tuple[Path, Path]:
    """The guarded script's run, stopped by its cap of one LM call: (script, run dir)."""
    script, run_dir = _script(tmp_path, GUARDED), tmp_path / "r"
    done = subprocess.run([sys.executable, str(script), str(run_dir)], capture_output=True,
                          text=True, cwd=tmp_path, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "capped:" in done.stdout and "selftaught.resume(" in done.stdout, done.stdout
    return script, run_dir


def test_a_task_object_runs_and_the_command_resumes_it(tmp_path):
    script, run_dir = _capped_run(tmp_path)
    config = selftaught.Run(run_dir).config
    assert config["task"] == f"{script.resolve()}:TASK"
    assert config["model"] == f"python:{script.resolve()}:model"

    resumed = run_cli("resume", str(run_dir), "--max-lm-calls", "1000", "--json")
    assert resumed.returncode == 0, resumed.stderr
    records = last_json(resumed.stdout)["iterations"]
    assert [r["t"] for r in records] == [0, 1] and records[1]["adopted"] is True
    assert [dataclasses.asdict(it) for it in selftaught.Run(run_dir).iterations] == records


def test_a_script_that_runs_at_import_is_refused_on_resume(tmp_path):
    _script_path, run_dir = _capped_run(tmp_path)
    _script(tmp_path, "selftaught.run(task=TASK, model=model, iterations=0)\n")  # no guard now
    resumed = run_cli("resume", str(run_dir), "--max-lm-calls", "1000")
    assert resumed.returncode == 2, resumed.stderr
    assert 'if __name__ == "__main__":' in resumed.stderr and "Traceback" not in resumed.stderr


def test_transfer_gives_the_commands_rows(tmp_path, scripted_model):
    cli_dir = str(tmp_path / "cli")
    done = run_cli("transfer", "--improver", "seed", "--tasks", "parity", "--repeats", "1",
                   "--model", scripted_model, "--run-dir", cli_dir, "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    [row] = last_json(done.stdout)["tasks"]
    result = selftaught.transfer("seed", tasks="parity", repeats=1, model=stop_world.respond,
                                 run_dir=tmp_path / "api", progress=True)  # fmt: skip
    assert result.rows == (selftaught.TransferRow.from_row(row),)
    assert result.rows[0].seed_improver == result.rows[0].improver  # the same improver twice


def test_evaluate_takes_a_task_class_or_object_defined_anywhere(tmp_path):
    class Echo(selftaught.Task):
        name = "echo"
        seed_solution = "def algorithm(x):\n    return x\n"
        description = "return the input"
        splits = {"val": selftaught.Split(1, 3), "test": selftaught.Split(10, 3)}

        def instance(self, seed):
            return selftaught.Instance(inputs=[seed], answer=seed)

        def score(self, instance, output):
            return (1.0, None) if output == instance.answer else (0.0, "not the input")

    for task in (Echo, Echo()):  # nothing is recorded, so a local class will do
        assert selftaught.evaluate(task=task, solution=Echo.seed_solution).score == 1.0
    wrong = selftaught.evaluate(task=Echo(), solution="def algorithm(x):\n    return -1\n")
    assert wrong.score == 0.0 and wrong.instances[0].reason == "not the input"
    with pytest.raises(selftaught.SelftaughtError, match="not a module-level name"):
        selftaught.run(task=Echo(), run_dir=tmp_path / "r")


PUBLIC_NAMES_SURVIVE = """
import importlib, json, pkgutil, sys, selftaught
if sys.argv[1] == "used-first":
    selftaught.compare, selftaught.transfer  # as after a first call of each
for info in pkgutil.walk_packages(selftaught.__path__, "selftaught."):
    if info.name != "selftaught.__main__":  # the command line itself
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional dependency (ray, ...) missing here
            pass
api = importlib.import_module("selftaught.api")
names = [n for n in selftaught.__all__ if n != "__version__"]
print(json.dumps([n for n in names if getattr(selftaught, n) is not getattr(api, n)]))
"""


@pytest.mark.parametrize("order", ["used-first", "imported-first"])
def test_every_public_name_survives_importing_every_submodule(order):
    """`selftaught.compare` and `selftaught.transfer` are also submodules: importing them (as
    the first call does) must not put the module where the function was."""
    done = subprocess.run([sys.executable, "-c", PUBLIC_NAMES_SURVIVE, order],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
    import selftaught.compare  # noqa: F401 - in this process too
    import selftaught.transfer  # noqa: F401

    assert callable(selftaught.compare) and callable(selftaught.transfer)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda d: selftaught.run(run_dir=123), ["run_dir=123", "path"]),
        (lambda d: selftaught.run(iterations="3", run_dir=d), ["iterations='3'", "int"]),
        (lambda d: selftaught.run(iterations=True, run_dir=d), ["iterations=True", "int"]),
        (lambda d: selftaught.run(max_dollars="5", run_dir=d), ["max_dollars='5'", "number"]),
        (lambda d: selftaught.run(model_option=5, run_dir=d), ["model_option=5"]),
        (lambda d: selftaught.run(tsak="lpn", run_dir=d), ["tsak"]),
        (lambda d: selftaught.Run(123), ["run_dir=123", "path"]),
        (lambda d: selftaught.resume(None), ["run_dir=None", "path"]),
        (lambda d: selftaught.transfer(None, run_dir=d), ["improver=None", "path"]),
        (lambda d: selftaught.compare("seed", run_dir=d), ["improvers='seed'", "['seed']"]),
        (lambda d: selftaught.compare(["seed", 5], run_dir=d), ["improvers", "5"]),
        (lambda d: selftaught.compare(["seed"], repeats=0, run_dir=d), ["repeats=0", "at least 1"]),
        (lambda d: selftaught.evaluate(split=5), ["split=5", "str"]),
        (lambda d: selftaught.evaluate(solution=None), ["solution=None"]),
    ],
)
def test_arguments_of_the_wrong_type_are_one_clear_error(tmp_path, call, words):
    with pytest.raises(selftaught.SelftaughtError) as raised:
        call(tmp_path / "r")  # checked before anything starts
    line = str(raised.value)
    assert "\n" not in line and line.startswith("selftaught.")
    for word in words:
        assert word in line, line
    assert not (tmp_path / "r").exists()


def test_a_runs_methods_check_their_arguments(tmp_path, scripted_model):
    run = selftaught.run(model=scripted_model, iterations=0, repetitions=1,
                         run_dir=tmp_path / "r")  # fmt: skip
    with pytest.raises(selftaught.SelftaughtError, match="t='0'"):
        run.improver("0")
    with pytest.raises(selftaught.SelftaughtError, match="path=5"):
        run.report(5)
    assert run.improver(0) == run.improver()
