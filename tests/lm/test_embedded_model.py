"""Real STOP runs on the embedded models: the whole loop on the fast SmolLM2-135M, and the
default Qwen2.5-Coder-0.5B writing programs that get evaluated."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import last_json, run_cli

from selftaught.lm.replay import IDENTITY_KEY
from selftaught.store import sha256
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

    db = sqlite3.connect(run_dir / "run.db")
    calls = db.execute("SELECT COUNT(*), SUM(completion_tokens) FROM lm_calls").fetchone()
    assert calls[0] == result["lm_calls"] and calls[1] > 0  # recorded, with real token counts
    invocations = db.execute("SELECT COUNT(*) FROM invocations").fetchone()[0]
    # Budgets were enforced in the host: 2 LM calls per invocation at most (quick preset).
    assert 0 < calls[0] <= 2 * invocations
    n_samples = db.execute("SELECT MAX(n) FROM lm_calls").fetchone()[0]
    assert n_samples == 1  # --responses-per-call 1
    assert db.execute("SELECT value FROM meta WHERE key = 'finished'").fetchone()[0] == "true"


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
        *WRITES_A_BLOCK, "--json", "--run-dir", str(run_dir),
        timeout=1800,  # ~1 minute idle; generous, because a loaded machine is 5-10x slower
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = last_json(done.stdout)
    assert result["lm_calls"] == 1 and result["evaluations"] > 0, result
    db = sqlite3.connect(run_dir / "run.db")
    identity = db.execute("SELECT value FROM meta WHERE key = ?", (IDENTITY_KEY,)).fetchone()
    assert identity and "qwen2.5-coder-0.5b" in identity[0]  # with the file's sha256
    seed = sha256(resolve_task("string_grid").seed_solution)
    scored = db.execute("SELECT COUNT(*) FROM evaluations WHERE program != ?", (seed,)).fetchone()
    assert scored[0] > 0  # a program the model wrote, run in the sandbox and scored
