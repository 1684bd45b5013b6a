"""The embedded models on the seed improver's own prompt: speed, code written, code that runs, gain.

    nice -n 10 python benchmarks/embedded_models.py --out /tmp/embedded.json
    python benchmarks/embedded_models.py --markdown /tmp/embedded.json   # the tables in the .md

For each embedded model and each task, the seed improver's prompt (exactly what
`improvers/seed.py` sends for the task's seed solution) is answered `--replies` times at
temperature 0.7, one seed per reply, in-process through llama.cpp. Each reply is generated once
at the largest token budget and cut at the smaller ones: sampling is sequential and max_tokens
only stops it, so the first 384 streamed tokens of a 1024-token reply are the reply a 384-token
budget gives with the same seed. Per (model, max_tokens) it reports:

- tokens/s: completion tokens over generation seconds (prompt evaluation included), and the
  prompt evaluation's own speed;
- `block`: share of replies with a complete fenced block (`helpers.extract_code`) that defines
  the task's entry function;
- `runs`: share of those whose program returned an answer on at least one test instance in the
  sandbox;
- the gain u(I(s)) - u(s) on the test split, for the seed improver with one response per call
  (the program of that reply, or no program: utility 0), per task and pooled, with 95%
  bootstrap intervals over replies.

A streamed chunk is counted as one token (llama-cpp-python yields one per token, except that it
holds back a split multi-byte character): the cut points are token counts to within a few.
Prints one JSON object (machine, plan, per-reply rows, summaries).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from machine import machine

from selftaught.improvers import builtin_source
from selftaught.lm.embedded import MODELS, model_path
from selftaught.lm.llamacpp import load_llama, threads_from_env
from selftaught.sandbox import helpers, open_sandbox
from selftaught.stats import bootstrap_interval
from selftaught.tasks import resolve_task
from selftaught.utility import Evaluator

TASKS = ("lpn", "parity", "string_grid", "mqap", "three_sat", "maxcut")
# (replies per task, token budgets, tasks): one reply per task, because on 2 cores shared with
# other work a 1024-token reply of the 0.5B takes minutes; the 1.5B, at a third of its speed,
# gets one budget and two tasks. `--replies` raises the count on an idle machine.
PLAN = {
    "qwen2.5-coder-0.5b": (1, (384, 768, 1024), TASKS),
    "smollm2-135m": (1, (384, 768, 1024), TASKS),
    "qwen2.5-coder-1.5b": (1, (768,), ("lpn", "parity")),
}
TEMPERATURE = 0.7


def seed_prompt(task: Any) -> tuple[str, str]:
    """(system, user) exactly as the seed improver sends them for `task`'s seed solution."""
    captured: list[tuple[str, str]] = []

    class Capture:
        max_responses_per_call = 1

        def batch_prompt(self, expertise, messages, temperature=None):
            captured.append((expertise, messages[0]))
            raise StopIteration  # the prompt is all we need

    class Utility:
        budget, str = 1, task.description

    namespace: dict[str, Any] = {}
    sys.modules.setdefault("helpers", helpers)  # seed.py imports plain `helpers`
    exec(builtin_source("seed"), namespace)  # our own built-in improver, not untrusted code
    try:
        namespace["improve_algorithm"](task.seed_solution, Utility(), Capture())
    except StopIteration:
        pass
    return captured[0]


def generate(llm: Any, system: str, user: str, seed: int, max_tokens: int) -> dict[str, Any]:
    """One streamed reply; `pieces` are the streamed chunks, so that it can be cut later."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    started = time.perf_counter()
    first = None
    pieces: list[str] = []
    for chunk in llm.create_chat_completion(
        messages=messages, temperature=TEMPERATURE, max_tokens=max_tokens, seed=seed, stream=True
    ):
        text = chunk["choices"][0]["delta"].get("content")
        if text is None:
            continue
        if first is None:
            first = time.perf_counter()
        pieces.append(text)
    done = time.perf_counter()
    prompt_tokens = len(llm.tokenize(f"{system}\n{user}".encode(), add_bos=False))
    return {
        "pieces": pieces,
        "seconds": done - started,
        "prompt_seconds": (first or done) - started,
        "prompt_tokens": prompt_tokens,
    }


def judge(code: str | None, task: Any, evaluator: Evaluator, memo: dict) -> dict[str, Any]:
    block = bool(code) and re.search(rf"^\s*def\s+{task.entry}\s*\(", code, re.M) is not None
    if not block:
        return {"block": False, "runs": False, "test": 0.0, "why": "no block defining the entry"}
    if code not in memo:
        evaluation = evaluator.evaluate(code, "test")
        ran = any(row["status"] in ("ok", "invalid_output") for row in evaluation.instances)
        reasons = [row.get("reason") for row in evaluation.instances if row.get("reason")]
        why = evaluation.failure or (reasons[0] if reasons else None)
        memo[code] = {"block": True, "runs": ran, "test": evaluation.score, "why": why}
    return memo[code]


def measure(replies: int | None, only: list[str] | None, save) -> dict[str, Any]:
    """Every model in PLAN (or `only`); `save(result)` after each, so a cut-short run keeps
    the models it finished."""
    sandbox = open_sandbox("auto")
    result: dict[str, Any] = {"seed_scores": {}, "rows": []}
    try:
        tasks = {name: resolve_task(name) for name in TASKS}
        evaluators = {name: Evaluator(task, sandbox, None) for name, task in tasks.items()}
        for name, task in tasks.items():
            seed = evaluators[name].evaluate(task.seed_solution, "test")
            result["seed_scores"][name] = seed.score
        for model_name, (per_task, budgets, names) in PLAN.items():
            if only and model_name not in only:
                continue
            chosen = {name: tasks[name] for name in names}
            result["rows"] += measure_model(
                model_name, replies or per_task, budgets, chosen, evaluators, result["seed_scores"]
            )
            save(result)
    finally:
        sandbox.close()
    return result


def measure_model(model_name, per_task, budgets, tasks, evaluators, seeds) -> list[dict]:
    path = model_path(model_name)
    llm = load_llama(path, 4096, threads_from_env())  # unrepacked: runs on AMX CPUs too
    rows = []
    try:
        for name, task in tasks.items():
            system, user = seed_prompt(task)
            memo: dict[str, dict] = {}
            for k in range(per_task):
                reply = generate(llm, system, user, seed=1000 + k, max_tokens=max(budgets))
                for budget in budgets:
                    text = "".join(reply["pieces"][:budget])
                    verdict = judge(helpers.extract_code(text), task, evaluators[name],
                                    memo)  # fmt: skip
                    rows.append({
                        "model": model_name, "task": name, "reply": k, "max_tokens": budget,
                        "tokens": min(budget, len(reply["pieces"])),
                        "cut_off": len(reply["pieces"]) >= budget,
                        "seconds": reply["seconds"], "prompt_seconds": reply["prompt_seconds"],
                        "prompt_tokens": reply["prompt_tokens"],
                        "generated": len(reply["pieces"]),
                        "gain": verdict["test"] - seeds[name], **verdict,
                        "reply_text": text,
                    })  # fmt: skip
                print(f"{model_name} {name} reply {k}: {len(reply['pieces'])} tokens in"
                      f" {reply['seconds']:.0f} s", file=sys.stderr, flush=True)  # fmt: skip
    finally:
        llm.close()
    return rows


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    keys = sorted({(r["model"], r["max_tokens"]) for r in rows}, key=lambda k: (k[0], k[1]))
    for model, budget in keys:
        group = [r for r in rows if r["model"] == model and r["max_tokens"] == budget]
        # Speed of each reply's one full generation (the same for every cut of it).
        tokens = sum(r["generated"] for r in group)
        seconds = sum(r["seconds"] for r in group)
        prompt = sum(r["prompt_tokens"] for r in group) / max(
            sum(r["prompt_seconds"] for r in group), 1e-9
        )
        blocks = [r for r in group if r["block"]]
        gains = [r["gain"] for r in group]
        per_task = {}
        for task in TASKS:
            values = [r["gain"] for r in group if r["task"] == task]
            if values:
                per_task[task] = (sum(values) / len(values), *bootstrap_interval(values))
        out.append({
            "model": model, "max_tokens": budget, "replies": len(group),
            "tokens_per_second": tokens / seconds, "prompt_tokens_per_second": prompt,
            "cut_off": sum(r["cut_off"] for r in group) / len(group),
            "block": len(blocks) / len(group),
            "runs_of_blocks": (sum(r["runs"] for r in blocks) / len(blocks)) if blocks else None,
            "gain": sum(gains) / len(gains), "gain_ci": bootstrap_interval(gains),
            "gain_per_task": per_task,
        })  # fmt: skip
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| model | max_tokens | replies | tok/s | prompt tok/s | cut off | block | runs (of"
        " blocks) | gain (pooled) | 95% CI |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in result["summary"]:
        runs = "-" if s["runs_of_blocks"] is None else f"{100 * s['runs_of_blocks']:.0f}%"
        lines.append(
            f"| {s['model']} | {s['max_tokens']} | {s['replies']} | {s['tokens_per_second']:.1f}"
            f" | {s['prompt_tokens_per_second']:.0f} | {100 * s['cut_off']:.0f}%"
            f" | {100 * s['block']:.0f}% | {runs} | {100 * s['gain']:+.1f}"
            f" | [{100 * s['gain_ci'][0]:+.1f}, {100 * s['gain_ci'][1]:+.1f}] |"
        )
    lines += ["", "| model | max_tokens | " + " | ".join(TASKS) + " |",
              "|---|---|" + "---|" * len(TASKS)]  # fmt: skip
    for s in result["summary"]:
        cells = []
        for task in TASKS:
            if task not in s["gain_per_task"]:
                cells.append("-")
                continue
            mean, low, high = s["gain_per_task"][task]
            cells.append(f"{100 * mean:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]")
        lines.append(f"| {s['model']} | {s['max_tokens']} | " + " | ".join(cells) + " |")
    seeds = ", ".join(f"{t} {100 * v:.1f}" for t, v in result["seed_scores"].items())
    lines += ["", f"Seed solutions' test scores (percent): {seeds}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, help="replies per (model, task); default: PLAN")
    parser.add_argument("--models", help="comma-separated subset of " + ", ".join(PLAN))
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--markdown", type=Path, help="print the tables of a saved JSON result")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text())))
        return
    started = time.time()
    info = machine()

    def report(measured: dict[str, Any]) -> str:
        text = json.dumps({
            "machine": {
                **info, "cpus": os.cpu_count(), "llama_threads": threads_from_env(),
                "load_average_now": os.getloadavg(),
            },
            "plan": {m: {"replies": r, "max_tokens": b, "tasks": t}
                     for m, (r, b, t) in PLAN.items()},
            "models": {m: {"sha256": MODELS[m].sha256, "size": MODELS[m].size} for m in PLAN},
            "temperature": TEMPERATURE,
            "wall_seconds": time.time() - started,
            **measured,
            "summary": summarise(measured["rows"]),
        })  # fmt: skip
        if args.out:
            args.out.write_text(text)
        return text

    measured = measure(args.replies, args.models.split(",") if args.models else None, report)
    print(report(measured))


if __name__ == "__main__":
    main()
