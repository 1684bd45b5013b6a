"""The user's own files, whatever they hold or are: task files and directories (with their
config.yaml), improvers, solutions, TOML configs, model files, run directories. Each is read as
Python reads it, or refused in one line, exit 2, no traceback: never a hang, never a blow-up
(docs/reliability.md, "Errors")."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, last_json, one_clear_line, run_cli
from hostile import HOSTILE

from selftaught.store import RunStore

BOM = "\ufeff"
KNAPSACK = ROOT / "examples" / "tasks" / "native_form" / "knapsack.py"
BRUTE_FORCE = ROOT / "tests" / "solutions" / "brute_force.py"
SEED_IMPROVER = ROOT / "src" / "selftaught" / "improvers" / "seed.py"
QUICK = ("--iterations", "0", "--repetitions", "1")

# 413 bytes standing for 9 ** 9 strings, which `str()` of the value used to build.
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [*{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}]\n"
    for a, b in zip("abcdefgh", "bcdefghi", strict=True)
) + "database:\n  feature_dimensions: *i\n"


def _evaluator_dir(tmp_path: Path, config: str | None) -> Path:
    task = tmp_path / "task"
    shutil.copytree(ROOT / "tests" / "interop_tasks" / "hidden_optimum", task)
    if config is not None:
        (task / "config.yaml").write_text(config)
    return task


def _load_task(spec: Path, solution: Path = SEED_IMPROVER):
    """`selftaught evaluate` of `solution` on the task `spec`: the task is found and checked
    first (the solution, any .py file, scores 0 on a task it does not fit)."""
    return run_cli("evaluate", "--task", str(spec), "--solution", str(solution), timeout=120)


def test_a_yaml_alias_bomb_in_config_yaml_is_refused(tmp_path):
    task = _evaluator_dir(tmp_path, ALIAS_BOMB)
    one_clear_line(_load_task(task), "config.yaml", "alias")


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ("database:\n  feature_dimensions: [[1, 2]]\n", ["feature_dimensions", "names"]),
        ("evaluator:\n  cascade_thresholds: 0.5\n", ["cascade_thresholds", "list"]),
        ("max_code_length: [1]\n", ["max_code_length"]),
        ("prompt:\n  system_message: [1]\n", ["system_message", "text"]),
        ("x: '" + "y" * 1_100_000 + "'\n", ["config.yaml", "over"]),
        ("x: " + "[" * 100_000 + "]" * 100_000 + "\n", ["config.yaml", "deeply"]),
    ],
)
def test_config_yaml_values_are_checked_before_they_are_used(tmp_path, config, words):
    one_clear_line(_load_task(_evaluator_dir(tmp_path, config)), *words)


@pytest.mark.parametrize("options", ['{"val_runs": "x"}', '{"instance_seconds": "abc"}'])
def test_selftaught_options_of_the_wrong_type(tmp_path, options):
    task = _evaluator_dir(tmp_path, None)
    evaluator = task / "evaluator.py"
    evaluator.write_text(evaluator.read_text() + f"\nSELFTAUGHT_OPTIONS = {options}\n")
    one_clear_line(_load_task(task), "SELFTAUGHT_OPTIONS")


def test_a_toml_config_nested_past_the_parsers_recursion(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    one_clear_line(run_cli("run", "--config", str(deep), "--run-dir", str(tmp_path / "r")),
                   "deep.toml", "deeply")  # fmt: skip


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def test_a_fifo_or_a_device_where_a_file_goes_is_refused(tmp_path):
    """Reading a FIFO waits for a writer forever; /dev/zero never ends."""
    fifo = _fifo(tmp_path / "fifo.py")
    cases = [
        ("evaluate", "--task", str(fifo), "--solution", str(SEED_IMPROVER)),
        ("evaluate", "--solution", str(fifo)),
        ("run", "--improver", str(fifo), "--model", HOSTILE),
        ("run", "--config", str(_fifo(tmp_path / "fifo.toml"))),
        ("run", "--config", "/dev/zero"),
        ("run", "--model", f"python:{fifo}:respond"),
        ("run", "--model", f"llamacpp:{_fifo(tmp_path / 'fifo.gguf')}"),
    ]
    for args in cases:
        done = run_cli(*args, "--run-dir", str(tmp_path / "r"), timeout=60) if args[0] == "run" \
            else run_cli(*args, timeout=60)  # fmt: skip
        one_clear_line(done, "not a regular file")
        assert not (tmp_path / "r").exists()
    fifo_config = _evaluator_dir(tmp_path, None)
    _fifo(fifo_config / "config.yaml")
    one_clear_line(_load_task(fifo_config), "config.yaml", "regular file")


def test_a_utf8_bom_is_read_as_python_reads_it(tmp_path):
    """Editors on Windows write a BOM; Python runs such a file, so selftaught does too."""
    task, solution = tmp_path / "task.py", tmp_path / "solution.py"
    task.write_text(BOM + KNAPSACK.read_text())
    assert _load_task(task).returncode == 0
    declared = tmp_path / "latin.py"  # PEP 263: the file says its encoding
    declared.write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + KNAPSACK.read_bytes())
    assert _load_task(declared).returncode == 0
    solution.write_text(BOM + BRUTE_FORCE.read_text())
    done = run_cli("evaluate", "--solution", str(solution), "--split", "test", "--json")
    assert done.returncode == 0, done.stderr
    assert last_json(done.stdout)["score"] > 0.9
    improver, model = tmp_path / "improver.py", tmp_path / "model.py"
    improver.write_text(BOM + SEED_IMPROVER.read_text())
    model.write_text(BOM + (ROOT / "tests" / "models" / "hostile_world.py").read_text())
    done = run_cli("run", "--improver", str(improver), "--model", f"python:{model}:respond",
                   *QUICK, "--run-dir", str(tmp_path / "r"), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_a_nul_byte_is_named_not_line_none(tmp_path):
    improver = tmp_path / "nul.py"
    improver.write_text(SEED_IMPROVER.read_text() + "\x00\n")
    done = run_cli("run", "--improver", str(improver), "--model", HOSTILE,
                   "--run-dir", str(tmp_path / "r"))  # fmt: skip
    one_clear_line(done, "nul.py", "null byte")
    assert "None" not in done.stderr


@pytest.mark.parametrize("raised", ["KeyboardInterrupt", "GeneratorExit"])
def test_a_task_or_model_file_that_raises_a_base_exception_at_import(tmp_path, raised):
    bad = tmp_path / "bad.py"
    bad.write_text(f"raise {raised}\n")
    one_clear_line(_load_task(bad), "bad.py", raised)
    model = run_cli("run", "--model", f"python:{bad}:respond", "--run-dir", str(tmp_path / "r"))
    one_clear_line(model, "bad.py", raised)
    installed = run_cli("evaluate", "--task", "bad", "--solution", str(SEED_IMPROVER),
                        env={"PYTHONPATH": str(tmp_path)})  # fmt: skip
    one_clear_line(installed, "'bad'", raised)
    maker = tmp_path / "maker.py"  # TASK is a class whose making raises
    maker.write_text(f"class Maker:\n    def __init__(self):\n        raise {raised}\n\n"
                     "TASK = Maker\n")  # fmt: skip
    one_clear_line(_load_task(maker), "maker.py", raised)
    instance = tmp_path / "instance.py"  # its instance(seed), run when the task is checked
    instance.write_text(KNAPSACK.read_text().replace(
        "    def instance(self, seed: int) -> Instance:\n",
        f"    def instance(self, seed: int) -> Instance:\n        raise {raised}\n",
    ))  # fmt: skip
    one_clear_line(_load_task(instance), "instance(", raised)


def test_a_symlink_loop_or_a_dangling_symlink_as_run_dir(tmp_path):
    loop, dangling = tmp_path / "loop", tmp_path / "dangling"
    loop.symlink_to(loop)
    dangling.symlink_to(tmp_path / "nowhere")
    for run_dir, words in ((loop, ("loop",)), (dangling, ("nowhere", "does not exist"))):
        for command in (("run", "--model", HOSTILE, "--run-dir"), ("resume",)):
            one_clear_line(run_cli(*command, str(run_dir)), str(run_dir), *words)
    assert not (tmp_path / "nowhere").exists()
    one_clear_line(_load_task(loop), str(loop), "loop")  # a task path too


def test_compare_with_no_repeats_is_one_line_and_makes_nothing(tmp_path):
    done = run_cli("compare", "--improvers", "seed", "--repeats", "0",
                   "--run-dir", str(tmp_path / "r"))  # fmt: skip
    one_clear_line(done, "--repeats")
    assert not (tmp_path / "r").exists()


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("finished") / "r"
    done = run_cli("run", "--model", HOSTILE, *QUICK, "--run-dir", str(run_dir))
    assert done.returncode == 0, done.stderr
    return run_dir


def test_report_into_a_directory_writes_report_html_there(finished, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    done = run_cli("report", str(finished), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]
    assert str(out / "report.html") in done.stdout.replace("\n", "")
    (out / "report.html").unlink()
    (out / "report.html").mkdir()  # a directory where the report goes: refused, nothing left
    (out / "report.html" / "keep").write_text("x")
    bad = run_cli("report", str(finished), "-o", str(out))
    one_clear_line(bad, f"cannot write the report to {out / 'report.html'}:")
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]
    assert [p.name for p in (out / "report.html").iterdir()] == ["keep"]


def _capped(tmp_path: Path, task: Path, model: Path) -> Path:
    """A run stopped by a cap of one model call: it has something left to resume."""
    run_dir = tmp_path / "r"
    done = run_cli("run", "--task", str(task), "--model", f"python:{model}:respond",
                   "--iterations", "1", "--repetitions", "1", "--max-lm-calls", "1",
                   "--run-dir", str(run_dir))  # fmt: skip
    assert done.returncode == 3 and "resume" in done.stderr, done.stderr  # 3: a cap
    return run_dir


@pytest.mark.parametrize("edited", ["task", "model", "task list"])
def test_resume_refuses_a_task_or_model_edited_since_the_run_started(tmp_path, edited):
    task, model = tmp_path / "task.py", tmp_path / "model.py"
    task.write_text(KNAPSACK.read_text())
    model.write_text((ROOT / "tests" / "models" / "hostile_world.py").read_text())
    run_dir = _capped(tmp_path, task, model)
    if edited == "task list":  # the recorded configuration itself, edited in the database
        store = RunStore.open_run(run_dir)
        store.set_meta("config", {**store.get_meta("config"), "task": "lpn"})
        store.close()
    else:
        changed = {"task": task, "model": model}[edited]
        changed.write_text(changed.read_text() + "\n# edited by hand\n")
    refused = run_cli("resume", str(run_dir), "--max-lm-calls", "100")
    one_clear_line(refused, edited, "changed", "--allow-changed")
    allowed = run_cli("resume", str(run_dir), "--max-lm-calls", "100", "--allow-changed",
                      "--json")  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
    assert "changed" in allowed.stderr  # said, not silent
    assert [r["t"] for r in last_json(allowed.stdout)["iterations"]] == [0, 1]


def test_a_run_lock_that_is_a_link_or_a_fifo_is_refused_and_its_target_untouched(
    finished, tmp_path
):
    """A run directory received from someone else: its run.lock must not aim selftaught's
    write at one of the user's files, nor make `resume` or `runs` wait on a FIFO."""
    run_dir = tmp_path / "copy"
    run_dir.mkdir()
    (run_dir / "run.db").write_bytes((finished / "run.db").read_bytes())
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (run_dir / "run.lock").symlink_to(victim)
    one_clear_line(run_cli("resume", str(run_dir)), "symbolic link")
    assert victim.read_text() == "precious"
    (run_dir / "run.lock").unlink()
    _fifo(run_dir / "run.lock")
    one_clear_line(run_cli("resume", str(run_dir), timeout=60), "not a regular file")
    assert run_cli("runs", str(tmp_path), timeout=60).returncode == 0
