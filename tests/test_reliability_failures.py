"""Every zero explains itself: `run`, `compare` and `transfer` say, per improver and task, how
many invocations failed and the first error line (docs/reliability.md, "What is recorded")."""

from __future__ import annotations

from conftest import last_json, run_cli
from hostile import HOSTILE, hostile_run

RAISES = """
def improve_algorithm(initial_solution, utility, language_model):
    raise RuntimeError("the improver always fails here")
"""


def test_run_says_how_many_invocations_failed_and_why(tmp_path):
    done, _ = hostile_run(tmp_path, initial=RAISES, args=("--iterations", "0"))
    assert done.returncode == 0, done.stderr
    (failure,) = last_json(done.stdout)["failures"]
    assert failure["task"] == "lpn" and failure["failed"] == failure["invocations"] == 2
    assert failure["first_error"] == (
        "error: RuntimeError: the improver always fails here (candidate line 3)"
    )
    assert "2 of 2 invocations failed; first: error: RuntimeError" in done.stderr


def test_compare_and_transfer_say_it_too(tmp_path):
    improver = tmp_path / "raises.py"
    improver.write_text(RAISES)
    common = ("--model", HOSTILE, "--json")
    compared = run_cli(
        "compare", "--improvers", f"seed,{improver}", "--run-dir", str(tmp_path / "c"),
        "--repetitions", "1", *common,
    )  # fmt: skip
    assert compared.returncode == 0, compared.stderr
    failures = last_json(compared.stdout)["failures"]
    assert [f["failed"] for f in failures] == [1]
    assert "RuntimeError: the improver always fails here" in compared.stderr
    moved = run_cli(
        "transfer", "--improver", str(improver), "--tasks", "lpn", "--run-dir",
        str(tmp_path / "t"), "--repeats", "1", *common,
    )  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    assert last_json(moved.stdout)["failures"][0]["task"] == "lpn"


def test_run_says_how_many_solutions_scored_zero_and_the_commonest_reason(tmp_path):
    # The improver succeeds; the solution the model wrote never defines the entry function.
    done, _ = hostile_run(
        tmp_path, solution="def not_the_entry(x):\n    return x\n", args=("--iterations", "0")
    )
    assert done.returncode == 0, done.stderr
    (lpn,) = last_json(done.stdout)["zero_scores"]
    assert lpn["task"] == "lpn" and lpn["zero"] == lpn["scored"] >= 1
    assert lpn["reason_count"] == lpn["zero"] and "algorithm" in lpn["reason"]
    line = f"solutions on lpn: {lpn['zero']} of {lpn['scored']} scored 0 on val"
    assert line + "; commonest reason" in done.stderr


def test_no_zero_line_when_every_solution_scored(tmp_path):
    guesser = "def algorithm(train_samples, train_parity, test_samples):\n"
    guesser += "    return [0] * len(test_samples)\n"  # about half the bits: above 0
    done, _ = hostile_run(tmp_path, solution=guesser, args=("--iterations", "0"))
    assert done.returncode == 0, done.stderr
    assert all(z["zero"] == 0 for z in last_json(done.stdout)["zero_scores"])
    assert "scored 0 on val" not in done.stderr
