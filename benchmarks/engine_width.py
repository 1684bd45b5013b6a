"""Where the engine's samples stop being the samples each request gets alone: for each width w,
an engine of w slots decodes the same requests one at a time and then all at once, and the
requests whose samples differ are named. Writes benchmarks/engine_width.json.

    SELFTAUGHT_LLAMA_THREADS=1 nice -n 5 python benchmarks/engine_width.py --widths 2,4,5,6,7,8,9

Seven requests of different prompts, two samples each (temperature 0.8; one request greedy),
32 tokens: the shape of `tests/lm/test_engine.py`, on the default embedded model. The engine's
`WIDTH` may be at most the widest width at which no request differs (docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from machine import machine

OUT = Path(__file__).resolve().parent / "engine_width.json"
SYSTEM = "You are a concise assistant."
USERS = [
    "Write a Python function that adds two numbers.",
    "Explain recursion in one sentence.",
    "def f(x):\n    return x * 2\n# Improve this function.",
    "Write quicksort in Python.",
    "Name three sorting algorithms.",
    "Write a function that reverses a string.",
    "What is a hash map? Answer briefly.",
]
GREEDY = 4  # the index of the greedy request


def requests(llm: Any, tokens: int) -> list[Any]:
    from selftaught.lm.engine import EngineRequest
    from selftaught.lm.llamacpp_batch import ChatPrompt

    chat = ChatPrompt.of(llm)
    assert chat is not None, "the embedded GGUF carries a chat template"
    out = []
    for i, user in enumerate(USERS):
        prompt, stop = chat.render(SYSTEM, user)
        temperature = 0.0 if i == GREEDY else 0.8
        out.append(EngineRequest(tuple(prompt), (7 + i, 300 + i), temperature, tokens, tuple(stop)))
    return out


def at_width(llm: Any, width: int, asked: list[Any]) -> dict[str, Any]:
    """The requests (by index) whose samples differ when decoded together at `width`."""
    from selftaught.lm.engine import Engine
    from selftaught.lm.llamacpp import threads_from_env

    engine = Engine(llm, width=width, n_ctx=512, n_threads=threads_from_env())
    live: list[int] = []
    engine.on_decode = lambda kind, n, s: live.append(n) if kind == "step" else None
    try:
        alone = [[d.text for d in engine.generate(r)] for r in asked]
        live.clear()
        futures = [engine.submit(r) for r in asked]
        together = [[d.text for d in f.result()] for f in futures]
    finally:
        engine.close()
    differ = [i for i, (a, b) in enumerate(zip(alone, together, strict=True)) if a != b]
    load = [round(x, 2) for x in os.getloadavg()]
    return {"width": width, "most_live": max(live), "differing_requests": differ,
            "identical": not differ, "load_average": load}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="llamacpp")
    parser.add_argument("--widths", default="2,4,5,6,7,8,9")
    parser.add_argument("--tokens", type=int, default=32)
    args = parser.parse_args()
    from selftaught.lm import open_backend

    started, info = time.perf_counter(), machine()
    llm = open_backend(args.model).model()
    asked = requests(llm, args.tokens)
    rows = []
    for width in (int(w) for w in args.widths.split(",")):
        rows.append(at_width(llm, width, asked))
        print(json.dumps(rows[-1]), flush=True)
    widest = None  # the widest width up to which every width measured was identical
    for row in sorted(rows, key=lambda r: r["width"]):
        if not row["identical"]:
            break
        widest = row["width"]
    result = {"machine": info, "model": args.model,
              "requests": len(asked), "samples_each": 2, "tokens": args.tokens,
              "llama_threads": os.environ.get("SELFTAUGHT_LLAMA_THREADS", "default"),
              "by_width": rows, "widest_identical": widest,
              "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
