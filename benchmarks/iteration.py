"""Where the time of one STOP iteration goes: model generation, prompt processing, sandboxed
executions, and the scaffold (with start-up). Prints one JSON object.

    nice -n 10 python benchmarks/iteration.py [--model llamacpp] [--max-tokens 128]
    python benchmarks/iteration.py --latency 1.0      # a loopback server with a fixed latency

One `selftaught run --iterations 1` (quick preset, concurrency 1, so nothing overlaps) on the
model, then the run database says where the wall time went: `lm_seconds` is what the backend
took (the sum over calls), `execution_seconds` what the sandboxed utility evaluations took, and
the rest is the scaffold: process start-up, improver executions around their model calls, the
store. For the in-process model, `prompt_seconds_estimate` is the part of `lm_seconds` spent on
prompts: each call's prompt tokens (decoded once per call) over the prompt rate that
benchmarks/embedded_batch.json measured, when that file exists.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from invocations import LatencyServer
from machine import machine

from selftaught.store import RunReader
from selftaught.tasks import resolve_task

ROOT = Path(__file__).resolve().parent.parent
BATCH_JSON = Path(__file__).resolve().parent / "embedded_batch.json"


def one_iteration(model: list[str], max_tokens: int, run_dir: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "selftaught", "run", "--iterations", "1", "--concurrency", "1",
         "--max-tokens", str(max_tokens), "--run-dir", str(run_dir), "--json", *model],
        capture_output=True, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"the run failed: {done.stderr.strip()[-800:]}")
    return time.perf_counter() - started


def breakdown(run_dir: Path, wall: float) -> dict[str, Any]:
    with RunReader.open(run_dir) as reader:
        calls = reader.rows("lm_calls", "n", "seconds", "prompt_tokens", "completion_tokens")
        evaluations = reader.rows("evaluations", "seconds")
        invocations = reader.count("invocations")
    samples = sum(c["n"] for c in calls)
    lm = sum(c["seconds"] or 0.0 for c in calls)
    prompt = sum(c["prompt_tokens"] or 0 for c in calls)
    completion = sum(c["completion_tokens"] or 0 for c in calls)
    # A row counts its prompt once per sample; the backend decoded it once for the call.
    per_call_prompt = sum((c["prompt_tokens"] or 0) // c["n"] for c in calls)
    executions, execution = len(evaluations), sum(e["seconds"] for e in evaluations)
    scaffold = wall - lm - execution
    return {
        "wall_seconds": round(wall, 2),
        "lm_calls": len(calls),
        "samples": samples,
        "prompt_tokens_per_call_sum": per_call_prompt,
        "completion_tokens": completion,
        "prompt_tokens_billed": prompt,
        "invocations": invocations,
        "evaluations": executions,
        "lm_seconds": round(lm, 2),
        "execution_seconds": round(execution, 2),
        "scaffold_seconds": round(scaffold, 2),
        "shares": {
            "lm": round(lm / wall, 3),
            "executions": round(execution / wall, 3),
            "scaffold": round(scaffold / wall, 3),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="llamacpp")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--latency", type=float, default=None, help="use a loopback server")
    args = parser.parse_args()
    env = dict(os.environ)
    result: dict[str, Any] = {"benchmark": "one STOP iteration", "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="selftaught-iteration-") as where:
        run_dir = Path(where) / "run"
        if args.latency is not None:
            server = LatencyServer(args.latency, resolve_task("lpn").seed_solution)
            model = ["--model", "openai:bench", "--base-url", server.url]
            env["OPENAI_API_KEY"] = "sk-bench"
            result["model"] = f"loopback server, {args.latency} s per request"
        else:
            model = ["--model", args.model]
            result["model"] = args.model
        wall = one_iteration(model, args.max_tokens, run_dir, env)
        result["max_tokens"] = args.max_tokens
        result.update(breakdown(run_dir, wall))
    if args.latency is None and BATCH_JSON.is_file():
        rate = json.loads(BATCH_JSON.read_text()).get("prompt_eval_tokens_per_s_median")
        if rate:
            seconds = result["prompt_tokens_per_call_sum"] / rate
            result["prompt_seconds_estimate"] = round(seconds, 2)
            result["generation_seconds_estimate"] = round(result["lm_seconds"] - seconds, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
