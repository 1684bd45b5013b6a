"""The counts of docs/performance.md ("How the calls grow with the budgets"), checked against
real runs: for seed-shaped improvers, with K tasks, R repetitions, r responses per call,
utility budget u and meta-utility budget m, and n_u = min(r, u), n_m = min(r, m),

    t = 0:       K*R invocations, each 1 call of n_u samples
    t >= 1:      1 call of n_m samples (the improver improving itself), then n_m meta-utility
                 calls and the candidate's record score, K*R invocations each

so T = 1 makes K*R + 1 + (n_m + 1)*K*R calls, as many improver invocations plus the one that
proposes, and K*R*n_u*(n_m + 2) + n_m samples.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli, stored


def predicted(tasks: int, repetitions: int, responses: int, utility: int, meta: int) -> dict:
    n_u, n_m = min(responses, utility), min(responses, meta)
    kr = tasks * repetitions
    return {
        "calls": kr + 1 + (n_m + 1) * kr,
        "samples": kr * n_u * (n_m + 2) + n_m,
        "invocations": kr + 1 + (n_m + 1) * kr,
    }


@pytest.mark.parametrize(
    ("repetitions", "responses", "utility", "meta"),
    [(1, 2, 3, 1), (2, 3, 2, 2), (1, 1, 4, 3)],
)
def test_calls_samples_and_invocations_follow_the_budgets(
    tmp_path: Path, scripted_model: str, repetitions: int, responses: int, utility: int, meta: int
) -> None:
    config = tmp_path / "run.toml"
    config.write_text(
        f"repetitions = {repetitions}\nresponses_per_call = {responses}\n"
        f"utility_calls = {utility}\nmeta_utility_calls = {meta}\nlm_calls = 2\n"
    )
    run_dir = tmp_path / "run"
    done = run_cli(
        "run", "--config", str(config), "--iterations", "1", "--model", scripted_model,
        "--improver", "seed",
        "--run-dir", str(run_dir),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    calls = stored(run_dir, "lm_calls", "n")
    samples, invocations = sum(row["n"] for row in calls), len(stored(run_dir, "invocations"))
    counted = {"calls": len(calls), "samples": samples, "invocations": invocations}
    assert counted == predicted(1, repetitions, responses, utility, meta)
