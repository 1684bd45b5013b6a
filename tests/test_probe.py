"""`selftaught probe`: every rate and the JSON shape against a scripted model whose four replies
are known (tests/models/probe_world.py), on the real LPN task in the real sandbox; a re-run in
its run directory pays no model call twice; bad input is one line; the prompt is the seed
improver's own; the cost formula; and one slow run of the real SmolLM2 model."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, last_json, one_clear_line, run_cli, stored

from selftaught.config import PRESETS, Budgets
from selftaught.improve import Invoker, Recorder
from selftaught.improvers import builtin_source
from selftaught.probe import complete_block, seed_prompt
from selftaught.probe_cost import LevelCost, estimate, invocations
from selftaught.records import Invocation, Scope
from selftaught.sandbox import Limits, open_sandbox
from selftaught.stats import wilson

WORLD = f"python:{ROOT / 'tests' / 'models' / 'probe_world.py'}:respond"
RATE_KEYS = {"rate", "low", "high", "n"}


def probe(run_dir, *extra, env=None):
    return run_cli(
        "probe", "--model", WORLD, "--tasks", "lpn", "--samples", "4",
        "--run-dir", str(run_dir), "--json", *extra, env=env,
    )  # fmt: skip


def rates(section: dict) -> dict:
    """{name: successes} of a level's rates, after checking each is a Wilson interval."""
    found = {}
    for name, r in section.items():
        if not isinstance(r, dict) or "rate" not in r:
            continue
        assert set(r) == RATE_KEYS
        successes = round(r["rate"] * r["n"])
        assert (r["low"], r["high"]) == pytest.approx(wilson(successes, r["n"]))
        found[name] = successes
    return found


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("probe") / "run"
    count = run_dir.parent / "calls"
    done = probe(run_dir, env={"PROBE_WORLD_COUNT_FILE": str(count)})
    assert done.returncode == 0, done.stderr
    return run_dir, count, done


def test_every_rate_and_the_json_shape(probed):
    run_dir, _, done = probed
    result = last_json(done.stdout)
    assert list(result) == ["model", "solution", "meta", "estimate"]
    assert result["model"] == WORLD
    lpn = result["solution"]["lpn"]
    # good (brute force), pasted utility import, no `algorithm`, cut off
    assert rates(lpn) == {"complete_block": 3, "defines_entry": 2, "runs": 1, "beats_seed": 1}
    assert {r["n"] for r in lpn.values() if isinstance(r, dict)} == {4}
    scores = [row["score"] for row in stored(run_dir, "evaluations", "score", "split")]
    best = max(scores)
    assert best > lpn["seed_val"]
    assert lpn["mean_gain"] == pytest.approx((best - 4 * lpn["seed_val"]) / 4)
    meta = result["meta"]
    # good, pastes the meta-utility's imports, calls utility(use_sandbox=False), cut off
    assert rates(meta) == {
        "valid_improver": 3,
        "works": 2,  # the good one and the circumventing one (it keeps the best candidate)
        "keeps_initial": 1,  # only the good one also weighs the initial solution
        "circumvents": 1,
        "pastes_meta_utility": 1,
    }
    assert meta["strategies"] == {"sample and keep the best": 3}
    assert set(result["estimate"]) == {"paper", "quick"}


def test_the_estimate_counts_what_the_budgets_imply(probed):
    paper = last_json(probed[2].stdout)["estimate"]["paper"]
    # (1 + 3 * (25 + 1)) * 5 task-level invocations and 3 meta-level ones, 4 calls of 6 each
    assert (paper["invocations"], paper["lm_calls"], paper["samples"]) == (398, 1592, 9552)
    assert paper["dollars"] == 0.0  # a local python: model costs nothing
    quick = last_json(probed[2].stdout)["estimate"]["quick"]
    assert (quick["invocations"], quick["lm_calls"], quick["samples"]) == (11, 22, 44)


def test_the_scripted_trials_ran_in_the_sandbox_and_were_recorded(probed):
    run_dir, _, _ = probed
    rows = stored(run_dir, "invocations", "level", "task", "status", "error")
    trials = [row for row in rows if row["level"] == "probe"]
    assert {row["task"] for row in trials} == {"works", "keeps_initial"}
    assert len(trials) == 6  # two trials of each of the three valid improvers
    failed = [row for row in trials if row["status"] != "ok"]
    assert len(failed) == 2 and all("algorithm" in row["error"] for row in failed)


def test_a_rerun_in_place_pays_nothing_twice(probed):
    run_dir, count, first = probed
    calls = count.read_text().count("call")
    assert calls == 8  # an in-process model is asked for one sample at a time
    evaluations = len(stored(run_dir, "evaluations", "program"))
    again = probe(run_dir, env={"PROBE_WORLD_COUNT_FILE": str(count)})
    assert again.returncode == 0, again.stderr
    assert count.read_text().count("call") == calls
    assert len(stored(run_dir, "evaluations", "program")) == evaluations
    assert last_json(again.stdout) == last_json(first.stdout)


def test_the_report_shows_the_probe(probed):
    run_dir, _, _ = probed
    done = run_cli("report", str(run_dir))
    assert done.returncode == 0, done.stderr
    html = (run_dir / "report.html").read_text()
    assert 'id="probe"' in html
    assert "pastes_meta_utility" in html and "25% [5, 70]" in html


def test_a_model_spec_that_fails_is_one_line(tmp_path):
    done = run_cli("probe", "--model", "nonsense:x", "--run-dir", str(tmp_path / "r"))
    one_clear_line(done, "nonsense")
    assert not (tmp_path / "r").exists()


def test_a_task_without_a_seed_solution_is_one_line(tmp_path):
    task = tmp_path / "empty_task.py"
    task.write_text(
        "from selftaught.tasks import Instance, Split\n\nclass Empty:\n    name = 'empty'\n"
        "    entry = 'algorithm'\n    seed_solution = ''\n    description = 'x'\n"
        "    instance_seconds = 1.0\n    array_args = False\n"
        "    splits = {'val': Split(1, 2), 'test': Split(2, 3)}\n\n"
        "    def instance(self, seed):\n        return Instance(inputs=[seed], answer=seed)\n\n"
        "    def score(self, instance, output):\n        return 1.0, None\n\nTASK = Empty()\n"
    )
    done = run_cli(
        "probe", "--model", WORLD, "--tasks", str(task), "--run-dir", str(tmp_path / "r")
    )
    one_clear_line(done, "seed_solution")


def test_a_model_that_returns_nothing_is_a_recorded_zero(tmp_path):
    done = probe(tmp_path / "r", env={"PROBE_WORLD_EMPTY": "1"})
    assert done.returncode == 0, done.stderr
    result = last_json(done.stdout)
    assert set(rates(result["solution"]["lpn"]).values()) == {0}
    assert set(rates(result["meta"]).values()) == {0}
    assert len(stored(tmp_path / "r", "lm_samples", "response")) == 8


def test_the_prompt_is_the_one_the_seed_improver_sends():
    """The seed improver itself, run in the sandbox, sends what `seed_prompt` builds."""
    sent = []

    def sample(expertise, messages, temperature, scope):
        sent.append((expertise, messages[0]))
        return ["```python\ndef algorithm():\n    return 1\n```"] * len(messages)

    budgets = Budgets(**PRESETS["quick"]["budgets"])
    sandbox = open_sandbox()
    try:
        invoker = Invoker(sample, budgets, sandbox, Recorder(None), Limits(30, 30))
        invoker(
            builtin_source("seed"), "def algorithm():\n    return 0\n", lambda s: 0.5,
            utility_budget=3, description="def utility(s): ...", scope=Scope("s"), seed=0,
            invocation=Invocation("probe"),
        )  # fmt: skip
    finally:
        sandbox.close()
    assert sent == [seed_prompt("def algorithm():\n    return 0\n", "def utility(s): ...")]


def test_a_complete_block_is_closed():
    assert complete_block("idea\n```python\nx = 1\n```\n")
    assert complete_block("```py\nx = 1\n  ```")
    assert not complete_block("idea\n```python\nx = 1\n")  # cut off at max_tokens
    assert not complete_block("```\nx = 1\n```")  # not a python block
    assert not complete_block("")


def test_the_cost_formula():
    budgets = Budgets(**PRESETS["paper"]["budgets"])
    assert invocations(budgets, 3, 2) == {"task": 790, "meta": 3}
    costs = {
        "task": LevelCost(samples=2, prompt_tokens=200, completion_tokens=100, seconds=10.0),
        "meta": LevelCost(samples=1, prompt_tokens=1000, completion_tokens=500, seconds=20.0),
    }
    from selftaught.lm.pricing import Price

    row = estimate(budgets, 3, costs, Price(1.0, 2.0))
    task_samples, meta_samples = 395 * 24, 3 * 24
    assert row["prompt_tokens"] == task_samples * 100 + meta_samples * 1000
    assert row["completion_tokens"] == task_samples * 50 + meta_samples * 500
    assert row["hours"] == pytest.approx((task_samples * 5 + meta_samples * 20) / 3600)
    assert row["tokens_per_second"] == pytest.approx(600 / 30)
    expected = (row["prompt_tokens"] * 1.0 + row["completion_tokens"] * 2.0) / 1e6
    assert row["dollars"] == pytest.approx(expected)
    assert estimate(budgets, 3, costs, None)["dollars"] is None


@pytest.mark.slow
def test_the_real_smollm2_model(tmp_path):
    done = run_cli(
        "probe", "--model", "llamacpp:smollm2-135m", "--tasks", "lpn", "--samples", "2",
        "--max-tokens", "256", "--run-dir", str(tmp_path / "r"), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = last_json(done.stdout)
    assert {r["n"] for r in result["meta"].values() if isinstance(r, dict) and "n" in r} == {2}
    assert result["estimate"]["paper"]["tokens_per_second"] > 0
    assert result["estimate"]["paper"]["hours"] > 0
    assert json.loads(json.dumps(result)) == result


def test_a_program_runs_unless_it_fails_or_raises():
    from selftaught.probe import runs
    from selftaught.utility import Evaluation

    def evaluation(*statuses, failure=None):
        return Evaluation(0.1, [{"status": s, "score": 0.0} for s in statuses], 0.0, [], failure)

    assert runs(evaluation("ok", "timeout"))  # over the time limit is not an error
    assert not runs(evaluation("ok", "error"))
    assert not runs(evaluation("invalid_output", "invalid_output"))  # nothing usable
    assert not runs(evaluation(failure="no solution code"))
