"""Language-model layer benchmark against llama.cpp's OpenAI-compatible server on the embedded
SmolLM2 model: throughput at 1, 2, 4 and 8 concurrent callers through the broker, and the
broker's overhead per call over the raw SDK call. Prints one JSON object.

    python benchmarks/lm.py [--requests 8] [--max-tokens 16] [--overhead-calls 12]

Throughput: `--requests` distinct prompts per level, issued by that many threads through one
LMBroker (with a run store, so caching and recording are included). llama.cpp's server runs one
completion at a time, so on this server throughput should stay flat as concurrency grows; the
point is that it does not fall (no lock convoy, no sqlite contention) and that nothing fails.

Overhead: the same prompts, interleaved, through the raw `openai` client and through the broker
(each prompt new to the broker, so each call is a paid request), 1 completion token each; the
overhead is the difference of the medians. `cached_call_ms` is a broker call served from its
store. Wall times are noisy on a shared machine: read the medians, not single calls.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "models"))
from lm_servers import llama_server  # noqa: E402  (the tests' server on the embedded model)
from machine import machine  # noqa: E402

from selftaught.lm import ModelOptions, open_language_model  # noqa: E402
from selftaught.store import RunStore  # noqa: E402

SYSTEM = "You are a concise assistant."


def throughput(broker: Any, concurrency: int, requests: int, tag: str) -> dict[str, Any]:
    before = broker.usage.completion_tokens
    prompts = [f"[{tag}-{i}] Name a colour and a fruit." for i in range(requests)]
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        outs = list(pool.map(lambda p: broker.sample(SYSTEM, [p], 0.7, "bench"), prompts))
    seconds = time.perf_counter() - start
    tokens = broker.usage.completion_tokens - before
    assert all(len(o) == 1 for o in outs)
    return {
        "concurrency": concurrency,
        "requests": requests,
        "seconds": round(seconds, 3),
        "completions_per_s": round(requests / seconds, 3),
        "completion_tokens_per_s": round(tokens / seconds, 2),
    }


def overhead(broker: Any, base: str, calls: int) -> dict[str, Any]:
    import openai

    raw = openai.OpenAI(base_url=base, api_key="none", max_retries=0, timeout=120)
    raw_ms, broker_ms = [], []

    def raw_call(i: int) -> None:
        # The user text differs from its first token on, so that llama.cpp's prompt cache
        # helps neither side more than the other; the order alternates for the same reason.
        messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Raw {i}: hello"},
        ]
        start = time.perf_counter()
        raw.chat.completions.create(
            model="smollm2", messages=messages, max_tokens=1, temperature=0.7, seed=i
        )
        raw_ms.append((time.perf_counter() - start) * 1000)

    def broker_call(i: int) -> None:
        start = time.perf_counter()
        broker.sample(SYSTEM, [f"Brk {i}: hello"], 0.7, "overhead")
        broker_ms.append((time.perf_counter() - start) * 1000)

    for i in range(calls):
        first, second = (raw_call, broker_call) if i % 2 else (broker_call, raw_call)
        first(i)
        second(i)
    cached = []
    for i in range(calls):
        broker._counters.clear()  # ask for sample 0 again: a cache hit, no request
        start = time.perf_counter()
        broker.sample(SYSTEM, [f"Brk {i}: hello"], 0.7, "overhead")
        cached.append((time.perf_counter() - start) * 1000)
    raw.close()
    return {
        "calls": calls,
        "raw_sdk_ms_median": round(statistics.median(raw_ms), 2),
        "broker_ms_median": round(statistics.median(broker_ms), 2),
        "overhead_ms_median": round(statistics.median(broker_ms) - statistics.median(raw_ms), 2),
        "cached_call_ms_median": round(statistics.median(cached), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=8, help="requests per concurrency level")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--overhead-calls", type=int, default=12)
    args = parser.parse_args()
    started = time.perf_counter()
    result: dict[str, Any] = {"benchmark": "lm", "machine": machine("openai")}
    with tempfile.TemporaryDirectory() as tmp, llama_server(Path(tmp) / "server.log") as base:
        store = RunStore.open_run(Path(tmp) / "run", create=True)
        options = ModelOptions(timeout=300, retries=2, concurrency=8)
        broker = open_language_model(
            "openai:smollm2",
            base_url=base,
            store=store,
            run_seed=0,
            max_tokens=args.max_tokens,
            options=options,
        )
        for k in range(3):  # load the model, fill caches: the first calls are slow
            broker.sample(SYSTEM, [f"warm up {k}"], 0.7, "warm")
        result["max_tokens"] = args.max_tokens
        result["throughput"] = [throughput(broker, c, args.requests, f"c{c}") for c in (1, 2, 4, 8)]
        one_token = open_language_model(
            "openai:smollm2", base_url=base, store=store, run_seed=0, max_tokens=1, options=options
        )
        result["overhead"] = overhead(one_token, base, args.overhead_calls)
        result["usage"] = broker.usage.as_dict()
        result["threads_alive_after"] = threading.active_count()
        one_token.close()
        broker.close()
        store.close()
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
