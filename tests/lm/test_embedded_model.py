"""Real STOP runs on the embedded models: the whole loop on the fast SmolLM2-135M, and the
default Qwen2.5-Coder-0.5B writing programs that get evaluated."""

from __future__ import annotations

import pytest
from conftest import last_json, run_cli, stored

from selftaught.lm.replay import IDENTITY_KEY
from selftaught.store import RunReader, sha256
from selftaught.tasks import resolve_task


@pytest.mark.slow
def test_real_run_on_the_embedded_model(tmp_path):
    run_dir = tmp_path / "embedded"
    done = run_cli(
        "run", "--model", "llamacpp:smollm2-135m", "--iterations", "1", "--repetitions", "1",
        "--responses-per-call", "1", "--max-tokens", "96", "--json", "--run-dir", str(run_dir),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = last_json(done.stdout)
    assert [r["t"] for r in result["iterations"]] == [0, 1]
    assert result["lm_calls"] > 0

    calls = stored(run_dir, "lm_calls", "completion_tokens", "n")
    assert len(calls) == result["lm_calls"]
    assert sum(row["completion_tokens"] or 0 for row in calls) > 0  # with real token counts
    with RunReader.open(run_dir) as reader:
        invocations, finished = reader.count("invocations"), reader.get_meta("finished")
    # Budgets were enforced in the host: 2 LM calls per invocation at most (quick preset).
    assert 0 < len(calls) <= 2 * invocations
    assert {row["n"] for row in calls} == {1}  # --responses-per-call 1
    assert finished is True


# One reply, verified to close a fenced block: at run seed 0 and 1024 tokens, sample 0 of the
# 0.5B's reply on string_grid is ~630 tokens that end by themselves (the block, then prose), so
# the test pays for ~630 tokens, not 1024. max_tokens and the run seed are part of the request's
# key and so of the sample's seed: change either and the reply changes (re-verify it).
WRITES_A_BLOCK = ("--task", "string_grid", "--seed", "0", "--max-tokens", "1024")


@pytest.mark.slow
def test_the_default_model_writes_programs_that_are_evaluated(tmp_path):
    """t = 0 only, one invocation of the seed improver with one response: the program in the
    reply is run by the sandbox and scored by the utility (SmolLM2 almost never wrote one).
    What it scores is the model's doing: benchmarks/embedded_models.md."""
    run_dir = tmp_path / "qwen"
    done = run_cli(
        "run", "--iterations", "0", "--repetitions", "1", "--responses-per-call", "1",
        "--improver", "seed",  # one call: the paper's seed improver
        *WRITES_A_BLOCK, "--json", "--run-dir", str(run_dir),
        timeout=1800,  # ~1 minute idle; generous, because a loaded machine is 5-10x slower
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = last_json(done.stdout)
    assert result["lm_calls"] == 1 and result["evaluations"] > 0, result
    with RunReader.open(run_dir) as reader:
        identity = reader.get_meta(IDENTITY_KEY)
    assert identity and "qwen2.5-coder-0.5b" in str(identity)  # with the file's sha256
    seed = sha256(resolve_task("string_grid").seed_solution)
    programs = [row["program"] for row in stored(run_dir, "evaluations", "program")]
    assert any(program != seed for program in programs)  # the model's, run and scored
