"""One real STOP run on the embedded SmolLM2-135M model, small budget, end to end."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import last_json, run_cli


@pytest.mark.slow
def test_real_run_on_the_embedded_model(tmp_path):
    run_dir = tmp_path / "embedded"
    done = run_cli(
        "run", "--iterations", "1", "--repetitions", "1", "--responses-per-call", "1",
        "--max-tokens", "96", "--json", "--run-dir", str(run_dir),
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
