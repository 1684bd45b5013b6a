"""The whole STOP loop through the real command, with a scripted model in which a better
improver exists (tests/models/stop_world.py), real sandboxed children and a real SQLite store."""

from __future__ import annotations

from conftest import ROOT, last_json, run_cli

from selftaught.store import RunReader

RUN = ("run", "--iterations", "1", "--repetitions", "2", "--json", "--improver", "seed")


def test_better_improver_is_found_adopted_and_raises_test_meta_utility(tmp_path, scripted_model):
    done = run_cli(*RUN, "--model", scripted_model, "--run-dir", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr
    result = last_json(done.stdout)
    seed, first = result["iterations"]
    assert seed["t"] == 0 and seed["adopted"] is None
    assert first["adopted"] is True
    assert first["improver_sha256"] != seed["improver_sha256"]
    assert first["meta_utility_test"] > seed["meta_utility_test"] + 0.3
    assert first["meta_utility_test"] > 0.9  # the brute-force solver, found through the hint
    assert result["lm_calls"] > 0 and result["evaluations"] > 0


def test_worse_candidate_is_refused_by_better_and_taken_by_paper(tmp_path, scripted_model):
    env = {"SCRIPTED_HINT": "invert"}
    refused = run_cli(*RUN, "--model", scripted_model, "--run-dir", str(tmp_path / "b"), env=env)
    assert refused.returncode == 0, refused.stderr
    seed, first = last_json(refused.stdout)["iterations"]
    assert 0 < first["candidate_val"] < seed["meta_utility_val"]
    assert first["adopted"] is False
    assert first["improver_sha256"] == seed["improver_sha256"]
    assert first["meta_utility_val"] == seed["meta_utility_val"]

    taken = run_cli(
        *RUN,
        "--gate",
        "paper",
        "--model",
        scripted_model,
        "--run-dir",
        str(tmp_path / "p"),
        env=env,
    )
    assert taken.returncode == 0, taken.stderr
    assert last_json(taken.stdout)["iterations"][1]["adopted"] is True


def test_reference_style_improver_runs_unchanged(tmp_path, scripted_model):
    improver = ROOT / "tests" / "improvers" / "reference_style.py"
    done = run_cli(
        "run",
        "--iterations",
        "0",
        "--repetitions",
        "1",
        "--json",
        "--improver",
        str(improver),
        "--model",
        scripted_model,
        "--run-dir",
        str(tmp_path / "ref"),
    )
    assert done.returncode == 0, done.stderr
    (seed,) = last_json(done.stdout)["iterations"]
    # It used batch_prompt, prompt(n_responses=...), utility(..., use_sandbox=True), .uses and
    # .budget; its hinted prompt reaches the brute-force solver.
    assert seed["meta_utility_val"] > 0.9
    with RunReader.open(tmp_path / "ref") as reader:
        assert [row.status for row in reader.invocation_counts()] == ["ok"]
        assert reader.count("lm_calls") == 2
