"""The same STOP run at concurrency 1 and at the embedded model's default concurrency: its
invocations' requests share the engine's batch in the second run and not in the first, and
every sample and record is the same (docs/performance.md, "Continuous batching")."""

from __future__ import annotations

import json

import pytest
from conftest import last_json, run_cli, stored

from selftaught.lm.llamacpp import CONCURRENCY

SMOKE = ("--model", "llamacpp:smollm2-135m", "--task", "string_grid", "--iterations", "1",
         "--max-tokens", "48", "--json")  # fmt: skip


def records(run_dir) -> dict[str, list]:
    samples = stored(run_dir, "lm_samples", "request_key", "sample_index", "response")
    metas = stored(run_dir, "meta_utilities", "improver", "purpose", "val", "test")
    iterations = stored(run_dir, "iterations", "t", "record")
    evaluations = stored(run_dir, "evaluations", "program", "task", "split", "score")
    for row in iterations:  # timings differ from run to run; what was decided must not
        row["record"] = {k: v for k, v in json.loads(row["record"]).items() if "second" not in k}
    key = json.dumps
    return {
        "samples": sorted(samples, key=key),
        "meta_utilities": sorted(metas, key=key),
        "iterations": iterations,
        "evaluations": sorted(evaluations, key=key),
    }


@pytest.mark.slow
def test_the_same_stop_run_at_concurrency_one_and_at_the_default(tmp_path) -> None:
    assert CONCURRENCY > 1
    runs = {}
    for label, extra in (("one", ("--concurrency", "1")), ("default", ())):
        run_dir = tmp_path / label
        done = run_cli("run", *SMOKE, *extra, "--run-dir", str(run_dir), timeout=1800)
        assert done.returncode == 0, done.stderr[-3000:]
        assert last_json(done.stdout)["lm_calls"] > 2
        runs[label] = records(run_dir)
    one, default = runs["one"], runs["default"]
    assert len(one["samples"]) >= 6 and one["meta_utilities"]  # SmolLM2 writes few programs
    for table in one:
        assert one[table] == default[table], table
