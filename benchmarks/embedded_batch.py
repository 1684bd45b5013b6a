"""Batched decoding on the embedded model: tokens/s for 1, 2 and 4 sequences of one request,
sequential and batched, measured interleaved in one run. Writes benchmarks/embedded_batch.json.

    nice -n 10 python benchmarks/embedded_batch.py [--model llamacpp] [--repetitions 3]

Modes, each one call of n samples of a STOP-shaped prompt (a distinct prompt per measurement, so
that no mode reuses another's prompt cache):

- `sequential`: what the backend did before, one `create_chat_completion` per sample (the prompt
  is evaluated once, later samples reuse it through llama-cpp-python's prefix cache), on weights
  loaded unrepacked as everywhere (`load_llama`: repacked ones segfault on Xeons with AMX);
- `one_at_a_time`: the batch decoder with a batch of one sequence, n times over one prompt;
- `batched`: the batch decoder with all n sequences in one batch.

Tokens/s is completion tokens over the call's wall time, prompt evaluation included. The modes
alternate, in a rotating order, for `--repetitions` rounds; the figures are medians. The profile
is the median wall time of one decode step per batch width, which says what batching can gain:
with a step of w sequences costing s(w), batching gains at most w * s(1) / s(w).
`same_samples_at_every_width`: the batched samples equal the one-at-a-time ones, seed by seed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from machine import machine

from selftaught.lm import open_backend
from selftaught.lm.llamacpp import load_llama, threads_from_env
from selftaught.lm.llamacpp_batch import DECODING, BatchDecoder, ChatPrompt
from selftaught.tasks import resolve_task

OUT = Path(__file__).resolve().parent / "embedded_batch.json"
SYSTEM = (
    "You are an expert computer science researcher and programmer, especially skilled at"
    " optimizing algorithms."
)


def user_message(tag: str) -> str:
    solution = resolve_task("lpn").seed_solution
    return (
        f"[{tag}] Improve the following solution:\n```python\n{solution}```\n\nYou must return an"
        " improved solution. First, propose an idea, then implement it."
    )


def sequential(llm: Any, user: str, seeds: list[int], temperature: float, tokens: int) -> int:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
    made = 0
    for seed in seeds:
        out = llm.create_chat_completion(
            messages=messages, temperature=temperature, max_tokens=tokens, seed=seed
        )
        made += out["usage"]["completion_tokens"]
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="llamacpp", help="a llamacpp spec (default: embedded)")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--sequences", default="1,2,4")
    parser.add_argument("--temperature", type=float, default=0.7)
    args = parser.parse_args()
    widths = [int(x) for x in args.sequences.split(",")]
    started = time.perf_counter()
    backend = open_backend(args.model)
    llm = backend.model()
    # A second Llama of its own, loaded as the backend loads one (repacked weights segfault on
    # Intel Xeons with AMX): the baseline's context must not disturb the decoder's.
    baseline = load_llama(backend.path, 2048, threads_from_env())
    chat = ChatPrompt.of(llm)
    if chat is None:
        raise SystemExit(f"{args.model}: the GGUF file has no chat template; nothing to batch")
    decoder = BatchDecoder(llm, width=max(widths), n_ctx=2048, n_threads=threads_from_env())
    steps: dict[int, list[float]] = {w: [] for w in widths}
    prompt_rates: list[float] = []

    def profile(kind: str, tokens: int, seconds: float) -> None:
        if kind == "step":
            steps.setdefault(tokens, []).append(seconds)
        elif tokens >= 64:
            prompt_rates.append(tokens / seconds)

    decoder.on_decode = profile
    rates: dict[tuple[str, int], list[float]] = {}
    same = True
    modes = ["sequential", "one_at_a_time", "batched"]
    sequential(baseline, user_message("warm"), [0], args.temperature, 8)  # fill caches
    for rep in range(args.repetitions):
        for n in widths:
            seeds = [1000 * rep + k for k in range(n)]
            texts: dict[str, list[str]] = {}
            order = modes[rep % 3 :] + modes[: rep % 3]
            for mode in order:
                user = user_message(f"{mode} {rep} {n}")
                if mode != "sequential":
                    user = user_message(f"decoder {rep} {n}")  # the two decoder modes: one prompt
                prompt, stop = chat.render(SYSTEM, user)
                start = time.perf_counter()
                if mode == "sequential":
                    made = sequential(baseline, user, seeds, args.temperature, args.max_tokens)
                else:
                    width = n if mode == "batched" else 1
                    out = decoder.generate(
                        prompt, seeds, args.temperature, args.max_tokens, stop, width=width
                    )
                    texts[mode] = [d.text for d in out]
                    made = sum(d.tokens for d in out)
                rates.setdefault((mode, n), []).append(made / (time.perf_counter() - start))
            same = same and texts["batched"] == texts["one_at_a_time"]
    rows = [
        {
            "sequences": n,
            **{
                f"{mode}_tokens_per_s": round(statistics.median(rates[mode, n]), 2)
                for mode in modes
            },
        }
        for n in widths
    ]
    for row in rows:
        row["batched_over_sequential"] = round(
            row["batched_tokens_per_s"] / row["sequential_tokens_per_s"], 2
        )
    at4 = next((row for row in rows if row["sequences"] == 4), rows[-1])
    result = {
        "benchmark": "embedded batched decoding",
        "machine": machine(),
        "model": backend.name,
        "identity": backend.identity,
        "decoding_mode": DECODING,
        "threads": threads_from_env(),
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
        "repetitions": args.repetitions,
        "rows": rows,
        "batched_over_sequential_tokens_per_s": at4["batched_over_sequential"],
        "same_samples_at_every_width": same,
        "profile_step_ms_median": {
            str(w): round(1000 * statistics.median(s), 2) for w, s in sorted(steps.items()) if s
        },
        "prompt_eval_tokens_per_s_median": round(statistics.median(prompt_rates), 1),
        "llama_cpp_server_parallel_slots": "not measured: llama-cpp-python's server has no"
        " parallel slots (it serves one request at a time)",
        "seconds": round(time.perf_counter() - started, 1),
    }
    decoder.close()
    baseline.close()
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
