"""transfer, compare, report and runs through the real command, on real runs."""

from __future__ import annotations

import json

from conftest import ROOT, last_json, run_cli, stored

WORLDS = f"python:{ROOT / 'tests' / 'models' / 'improver_worlds.py'}:respond_lpn"


def test_transfer_of_a_self_improved_improver(tmp_path, scripted_model):
    stop_dir = tmp_path / "stop"
    done = run_cli(
        "run", "--iterations", "1", "--repetitions", "1", "--model", scripted_model,
        "--run-dir", str(stop_dir), "--json",
    )  # fmt: skip
    assert last_json(done.stdout)["iterations"][1]["adopted"] is True
    args = (
        "transfer", "--improver", str(stop_dir), "--tasks", "parity", "--repeats", "2",
        "--model", scripted_model, "--run-dir", str(tmp_path / "transfer"), "--json",
    )  # fmt: skip
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    (row,) = last_json(first.stdout)["tasks"]
    assert row["task"] == "parity"
    assert 0.4 < row["seed_solution"] < 0.6  # random guessing
    assert row["improver"] > 0.95 > row["seed_improver"]  # the hint found by STOP transfers
    assert row["ci"]["improver"][0] <= row["improver"] <= row["ci"]["improver"][1]
    again = run_cli(*args)  # re-run in place: read back, same table
    assert last_json(again.stdout)["tasks"] == last_json(first.stdout)["tasks"]
    solutions = last_json(first.stdout)["solutions"]["parity"]  # seed and best returned
    assert solutions["seed_test"] == row["seed_solution"]
    assert solutions["best_test"] > 0.95 and solutions["best_val"] >= solutions["seed_val"]
    assert last_json(again.stdout)["solutions"] == last_json(first.stdout)["solutions"]
    assert first.stderr.strip().splitlines()[-1].startswith("parity: best solution ")


def test_compare_ranks_improvers(tmp_path):
    done = run_cli(
        "compare", "--improvers", "hints,seed", "--model", WORLDS,
        "--run-dir", str(tmp_path / "c"), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ranked = last_json(done.stdout)["improvers"]
    assert [entry["name"] for entry in ranked] == ["hints", "seed"]
    assert ranked[0]["mean"] > ranked[1]["mean"]
    assert set(ranked[0]) >= {"tasks", "ci", "lm_calls", "tokens", "seconds"}
    (task,) = last_json(done.stdout)["solutions"]
    scores = last_json(done.stdout)["solutions"][task]
    assert set(scores) == {"seed_val", "seed_test", "best_val", "best_test"}
    assert all(isinstance(v, float) for v in scores.values()), scores
    assert f"{task}: best solution " in done.stderr


def test_report_and_runs_listing(tmp_path, scripted_model):
    run_dir = tmp_path / "runs" / "one"
    run_cli(
        "run", "--iterations", "1", "--repetitions", "1", "--model", scripted_model,
        "--run-dir", str(run_dir),
    )  # fmt: skip
    made = run_cli("report", str(run_dir), "-o", str(tmp_path / "r.html"))
    assert made.returncode == 0, made.stderr
    assert "<svg" in (tmp_path / "r.html").read_text()
    listed = run_cli("runs", str(tmp_path / "runs"), "--json")
    (row,) = json.loads(listed.stdout)
    assert row["name"] == "one" and row["status"] == "finished"


def test_side_commands_refuse_bad_input(tmp_path):
    bad = run_cli("transfer", "--improver", "seed", "--tasks", "nope", "--run-dir", str(tmp_path))
    assert bad.returncode == 2 and "unknown task" in bad.stderr and "Traceback" not in bad.stderr
    missing = run_cli("report", str(tmp_path / "absent"))
    assert missing.returncode == 2 and "no run directory" in missing.stderr


def test_meta_utility_over_several_tasks_records_each_part(tmp_path, scripted_model):
    run_dir = tmp_path / "multi"
    done = run_cli(
        "run", "--task", "lpn,parity", "--iterations", "0", "--repetitions", "1",
        "--model", scripted_model, "--run-dir", str(run_dir), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (seed,) = last_json(done.stdout)["iterations"]
    (detail,) = [json.loads(row["detail"]) for row in stored(run_dir, "meta_utilities")]
    parts = {run["task"]: run["val"] for run in detail["runs"]}
    assert set(parts) == {"lpn", "parity"}
    assert seed["meta_utility_val"] == sum(parts.values()) / 2  # the mean over tasks


def test_a_file_that_defines_no_task_is_one_line(tmp_path):
    bad = tmp_path / "notask.py"
    bad.write_text("x = 1\n")
    done = run_cli("run", "--task", str(bad), "--run-dir", str(tmp_path / "r"))
    assert done.returncode == 2 and "defines no task" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "r").exists()


def test_a_finished_comparison_re_run_in_place_invokes_nothing_again(tmp_path):
    args = (
        "compare", "--improvers", "hints,seed", "--model", WORLDS, "--repetitions", "1",
        "--run-dir", str(tmp_path / "c"), "--json",
    )  # fmt: skip
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    logged = {table: len(stored(tmp_path / "c", table)) for table in ("invocations", "lm_calls")}
    assert logged["invocations"] > 0 and logged["lm_calls"] > 0
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert {t: len(stored(tmp_path / "c", t)) for t in logged} == logged  # nothing logged twice
    scores = [
        [(e["name"], e["mean"], e["ci"]) for e in last_json(done.stdout)["improvers"]]
        for done in (first, again)
    ]
    assert scores[0] == scores[1]

