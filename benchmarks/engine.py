"""Continuous batching on the embedded model: the ceiling, and a quick STOP run before and after.
Writes benchmarks/engine.json.

    nice -n 10 python benchmarks/engine.py [--model llamacpp] [--max-tokens 256] [--rounds 1]

All in one run, each part in a fresh process (its own peak memory), on the default embedded
model:

- `ceiling`: the engine alone, one short prompt, w sequences at once for w in `--widths`; the
  median time of a decode step of exactly w sequences gives w / step tokens/s; the ceiling is the
  best. Every width also checks that seeds 0 to 3 (sampled) and a greedy request give the
  samples they give alone (`identical_by_width`).
- `before` and `after`: `selftaught run --task string_grid --iterations 1` (quick preset, T = 1)
  through the API, before with today's decoder (`llamacpp_batch.BatchDecoder`, `seqbatch1`, 4
  sequences of one request at most) at concurrency 1, after with the engine at the default
  concurrency. The model phase is the union of the intervals in which the model held a request
  (each lm_calls row ends at `created` and lasted `seconds`); tokens/s delivered is completion
  tokens over it, for the whole run and for its t = 0 (one record meta-utility). Before and
  after alternate, in a rotating order, for `--rounds` rounds.

Every figure is recorded with the load average when it was taken: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import machine

from selftaught.store import RunReader

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "engine.json"
PROMPT = "Write a Python function that returns the n-th Fibonacci number, with a docstring."


def cpu() -> str:
    """The CPU's model name and whether it has AMX (where repacked weights segfault)."""
    text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    name = next(
        (ln.split(":", 1)[1].strip() for ln in text.splitlines() if "model name" in ln), "?"
    )
    return f"{name}{' (AMX)' if 'amx_tile' in text else ''}"


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def part(name: str, args: argparse.Namespace, extra: list[str]) -> dict[str, Any]:
    """Run one part in a fresh process; its last stdout line is its JSON."""
    command = [sys.executable, __file__, "--part", name, "--model", args.model, *extra]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"part {name} failed: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def ceiling(args: argparse.Namespace) -> dict[str, Any]:
    from selftaught.lm import open_backend
    from selftaught.lm.engine import Engine, EngineRequest
    from selftaught.lm.llamacpp import threads_from_env
    from selftaught.lm.llamacpp_batch import ChatPrompt

    llm = open_backend(args.model).model()
    chat = ChatPrompt.of(llm)
    assert chat is not None
    prompt, stop = chat.render("You are a concise assistant.", PROMPT)
    widths = [int(w) for w in args.widths.split(",")]
    engine = Engine(llm, width=max(widths), n_ctx=len(prompt) + args.ceiling_tokens + 8,
                    n_threads=threads_from_env())  # fmt: skip
    steps: dict[int, list[float]] = {}
    engine.on_decode = lambda kind, n, s: steps.setdefault(n, []).append(s) if kind == "step" else 0

    def request(i: int) -> EngineRequest:  # index 1 is greedy, the others sampled
        temperature = 0.0 if i == 1 else 0.8
        return EngineRequest(tuple(prompt), (i,), temperature, args.ceiling_tokens, tuple(stop))

    alone = {i: engine.generate(request(i))[0].text for i in range(4)}
    rows = []
    for width in widths:
        steps.clear()
        began, at = time.perf_counter(), load()
        futures = [engine.submit(request(i)) for i in range(width)]
        texts = [f.result()[0].text for f in futures]
        full = steps.get(width, [])
        rows.append({
            "width": width,
            "tokens_per_s": round(width / statistics.median(full), 2) if full else None,
            "full_width_steps": len(full),
            "identical_to_alone": all(texts[i] == alone[i] for i in range(min(width, 4))),
            "seconds": round(time.perf_counter() - began, 2),
            "load_average": at,
        })  # fmt: skip
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    engine.close()
    best = max(rows, key=lambda r: r["tokens_per_s"] or 0)
    return {
        "tokens_per_s": best["tokens_per_s"],
        "at_width": best["width"],
        "by_width": rows,
        "identical_by_width": {r["width"]: r["identical_to_alone"] for r in rows},
        "peak_rss_mib": peak_rss(),
    }


def peak_rss() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def use_todays_decoder() -> list[float]:
    """Make the embedded backend what it was before the engine: one request at a time, its
    samples in batches of up to 4 (`seqbatch1`); returns the first-token latencies it sees."""
    import selftaught.lm.llamacpp as backend_module
    from selftaught.lm.llamacpp_batch import BatchDecoder, ChatPrompt
    from selftaught.store import Sample

    backend_module.DECODING = "seqbatch1"
    backend_module.CONCURRENCY = 1
    decoders: dict[int, tuple[BatchDecoder, ChatPrompt]] = {}
    latencies: list[float] = []

    def generate(self, system, user, n, temperature, max_tokens, seeds):  # noqa: ANN001
        llm, lock = self._loaded()
        with lock:
            start = time.perf_counter()
            floor = min(backend_module.MIN_PROMPT_ROOM, self.n_ctx // 2)
            room = max(1, min(max_tokens, self.n_ctx - floor))
            system, user = self._fit(llm, system, user, self.n_ctx - room)
            if id(llm) not in decoders:
                decoder = BatchDecoder(llm, width=4, n_ctx=self.n_ctx, n_threads=self.n_threads)
                decoders[id(llm)] = (decoder, ChatPrompt.of(llm))
            decoder, chat = decoders[id(llm)]
            first: list[float] = []
            decoder.on_decode = lambda kind, *_: (
                first.append(time.perf_counter()) if kind == "step" else 0
            )
            prompt, stop = chat.render(system, user)
            width = 4 if len(seeds) >= 2 else 1
            decoded = decoder.generate(prompt, seeds, temperature, room, stop, width=width)
            if first:
                latencies.append(first[0] - start)
            seconds = (time.perf_counter() - start) / len(seeds)
            return [Sample(d.text, len(prompt), d.tokens, seconds) for d in decoded]

    backend_module.LlamaCppBackend.generate = generate
    return latencies


def use_the_engine() -> list[float]:
    """The engine as shipped; returns the first-token latencies it reports."""
    import selftaught.lm.engine as engine_module

    latencies: list[float] = []
    original = engine_module.Engine.__init__

    def init(self, *a, **k):  # noqa: ANN001, ANN002, ANN003
        original(self, *a, **k)
        self.on_first_token = latencies.append

    engine_module.Engine.__init__ = init
    return latencies


def stop_run(args: argparse.Namespace) -> dict[str, Any]:
    from selftaught.api.running import run

    latencies = use_todays_decoder() if args.mode == "before" else use_the_engine()
    run_dir = Path(tempfile.mkdtemp(prefix=f"engine-{args.mode}-")) / "run"
    at = load()
    began = time.perf_counter()
    run(task="string_grid", model=args.model, iterations=1, max_tokens=args.max_tokens,
        run_dir=run_dir, concurrency=1 if args.mode == "before" else None)  # fmt: skip
    wall = time.perf_counter() - began
    with RunReader.open(run_dir) as reader:
        calls = reader.rows("lm_calls", "scope", "created", "seconds", "completion_tokens", "n")
        evaluations = reader.rows("evaluations", "seconds")
    return {
        "mode": args.mode,
        "wall_seconds": round(wall, 1),
        "model_phase": phase(calls),
        "meta_utility_t0": phase([c for c in calls if str(c["scope"]).startswith("t=0")]),
        "execution_seconds": round(sum(e["seconds"] for e in evaluations), 1),
        "first_token_seconds_median": round(statistics.median(latencies), 2) if latencies else None,
        "peak_rss_mib": peak_rss(),
        "load_average_before": at,
        "load_average_after": load(),
    }


def phase(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Completion tokens over the union of the calls' intervals (the model held a request)."""
    spans = sorted((c["created"] - (c["seconds"] or 0.0), c["created"]) for c in calls)
    busy, end = 0.0, float("-inf")
    for start, stop in spans:
        if stop > end:
            busy += stop - max(start, end)
            end = stop
    tokens = sum(c["completion_tokens"] or 0 for c in calls)
    return {
        "calls": len(calls),
        "samples": sum(c["n"] for c in calls),
        "completion_tokens": tokens,
        "seconds": round(busy, 1),
        "tokens_per_s": round(tokens / busy, 2) if busy else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="llamacpp")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--widths", default="1,2,4,8,16,32")
    parser.add_argument("--ceiling-tokens", type=int, default=24)
    parser.add_argument("--part", choices=["ceiling", "stop"])
    parser.add_argument("--mode", choices=["before", "after"])
    args = parser.parse_args()
    if args.part == "ceiling":
        print(json.dumps(ceiling(args)))
        return
    if args.part == "stop":
        print(json.dumps(stop_run(args)))
        return
    started = time.perf_counter()
    result: dict[str, Any] = {
        "machine": machine(),
        "cpu": cpu(),
        "nice": os.nice(0),
        "model": args.model,
    }
    result.update(max_tokens=args.max_tokens, load_average_start=load())
    result["llama_threads"] = os.environ.get("SELFTAUGHT_LLAMA_THREADS", "default (2)")
    tops = ["--widths", args.widths, "--ceiling-tokens", str(args.ceiling_tokens)]
    result["ceiling"] = part("ceiling", args, tops)
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for rnd in range(args.rounds):
        order = ["before", "after"] if rnd % 2 == 0 else ["after", "before"]
        for mode in order:
            runs[mode].append(
                part("stop", args, ["--mode", mode, "--max-tokens", str(args.max_tokens)])
            )
            print(json.dumps(runs[mode][-1]), file=sys.stderr, flush=True)
    result["runs"] = runs
    result.update(summary(runs, result["ceiling"]["tokens_per_s"]))
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["load_average_end"] = load()
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def summary(runs: dict[str, list[dict[str, Any]]], top: float) -> dict[str, Any]:
    def median(mode: str, *keys: str) -> float:
        values = []
        for row in runs[mode]:
            value: Any = row
            for key in keys:
                value = value[key]
            values.append(value)
        return statistics.median(values)

    before = median("before", "model_phase", "tokens_per_s")
    after = median("after", "model_phase", "tokens_per_s")
    meta_before = median("before", "meta_utility_t0", "tokens_per_s")
    meta_after = median("after", "meta_utility_t0", "tokens_per_s")
    wall_before, wall_after = median("before", "wall_seconds"), median("after", "wall_seconds")
    return {
        "stop_model_phase_tokens_per_s": {"before": before, "after": after},
        "meta_utility_tokens_per_s": {"before": meta_before, "after": meta_after},
        "stop_model_phase_speedup": round(after / before, 2),
        "meta_utility_speedup": round(meta_after / meta_before, 2),
        "share_of_ceiling": round(after / top, 2),
        "wall_ratio_after_over_before": round(wall_after / wall_before, 2),
        "targets": {
            "speedup_at_least_1.5": after / before >= 1.5,
            "share_of_ceiling_at_least_0.8": after / top >= 0.8,
            "wall_at_most_0.6": wall_after / wall_before <= 0.6,
        },
    }


if __name__ == "__main__":
    main()
