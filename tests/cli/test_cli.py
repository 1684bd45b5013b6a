"""Bad input: one clear line, exit code 2, no traceback. And the listing commands."""

from __future__ import annotations

import pytest
from conftest import ROOT, last_json, one_clear_line, run_cli

BRUTE = ROOT / "tests" / "solutions" / "brute_force.py"


def test_unknown_task(tmp_path):
    one_clear_line(
        run_cli("run", "--task", "nope", "--run-dir", str(tmp_path / "r")), "unknown task"
    )
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("spec", ["gpt4", "openai:", "python:nofile.py", "llamacpp:/missing.gguf"])
def test_malformed_model_spec(tmp_path, spec):
    one_clear_line(
        run_cli("run", "--model", spec, "--run-dir", str(tmp_path / "r")), spec.split(":")[0]
    )
    assert not (tmp_path / "r").exists()


def test_improver_file_with_syntax_error(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def improve_algorithm(a, b, c)\n    return a\n")
    one_clear_line(
        run_cli("run", "--improver", str(bad), "--run-dir", str(tmp_path / "r")),
        "syntax error",
        "line 1",
    )


def test_missing_run_directory(tmp_path):
    one_clear_line(run_cli("resume", str(tmp_path / "absent")), "no run directory")


def test_corrupted_run_database(tmp_path):
    (tmp_path / "run.db").write_bytes(b"garbage" * 200)
    one_clear_line(run_cli("resume", str(tmp_path)), "not a usable run database")
    assert (tmp_path / "run.db").read_bytes() == b"garbage" * 200  # nothing touched


def test_existing_run_is_not_overwritten(tmp_path, scripted_model):
    args = (
        "run",
        "--iterations",
        "0",
        "--repetitions",
        "1",
        "--model",
        scripted_model,
        "--run-dir",
        str(tmp_path),
    )
    assert run_cli(*args).returncode == 0
    one_clear_line(run_cli(*args), "already holds a run", "resume")


def test_evaluate_reports_per_instance_outcomes():
    done = run_cli(
        "evaluate", "--task", "lpn", "--solution", str(BRUTE), "--split", "test", "--json"
    )
    assert done.returncode == 0, done.stderr
    result = last_json(done.stdout)
    assert len(result["instances"]) == 50
    assert result["score"] > 0.9
    assert {row["status"] for row in result["instances"]} == {"ok"}
    assert all(row["seconds"] >= 0 for row in result["instances"])


def test_evaluate_records_failures_per_instance(tmp_path):
    flaky = tmp_path / "flaky.py"
    flaky.write_text(
        "import time\n"
        "def algorithm(train, labels, test):\n"
        "    if int(train[0].sum()) % 2: raise ValueError('odd')\n"
        "    return [0] * len(test)\n"
    )
    result = last_json(run_cli("evaluate", "--solution", str(flaky), "--json").stdout)
    statuses = {row["status"] for row in result["instances"]}
    assert statuses == {"ok", "error"}
    assert 0 < result["score"] < 1


def test_listings():
    assert "lpn" in run_cli("tasks").stdout
    assert "seed" in run_cli("improvers").stdout
    assert "llamacpp" in run_cli("models").stdout
