"""The paper's "model dependence" on the models this machine runs: `selftaught probe` results.

    nice selftaught probe --model llamacpp:smollm2-135m --samples 8 --run-dir runs/smollm2
    python benchmarks/models.py runs/smollm2 runs/qwen05      # the tables, then the JSON

Reads each probe run directory through the store's reader (the result the probe recorded, the
model's calls) and prints the machine, then one markdown table per level with a row per model,
then, as the last line, the figures as JSON. It runs nothing itself: the probes are the
measurement (docs/probe.md), this is how benchmarks/models.md is rendered from them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from machine import machine

from selftaught.lm.pricing import PriceTable
from selftaught.probe import META_RATES, PROBE_KEY, SOLUTION_RATES
from selftaught.probe_cost import LevelCost, estimates
from selftaught.store import RunReader


def probe_of(run_dir: Path) -> dict[str, Any]:
    with RunReader.open(run_dir) as reader:
        result = reader.get_meta(PROBE_KEY)
        config = reader.get_meta("config") or {}
        samples = reader.rows("lm_samples", "completion_tokens", "seconds")
        calls = reader.rows(
            "lm_calls", "n", "cached", "level", "prompt_tokens", "completion_tokens", "seconds"
        )
        identity = reader.get_meta("model_identity") or result.get("model", "")
    if not isinstance(result, dict):
        raise SystemExit(f"{run_dir} holds no probe result; run `selftaught probe` there first")
    # Every sample the run paid for, over all the probes made in the directory (a probe
    # re-run with a larger --samples generates only the new ones).
    tokens = sum(s["completion_tokens"] or 0 for s in samples)
    seconds = sum(s["seconds"] or 0.0 for s in samples)
    return {
        "run_dir": str(run_dir),
        "model": result["model"],
        "tasks": config.get("task"),
        "max_tokens": config.get("budgets", {}).get("max_tokens"),
        "samples": len(samples),
        "model_seconds": round(seconds, 1),
        "completion_tokens": tokens,
        "tokens_per_second": round(tokens / seconds, 2) if seconds else None,
        # The cost of a full run from every paid sample (the probe's own `estimate` counts
        # the samples its last invocation paid for, plus those of the result before it).
        "estimate": estimates(_paid_by_level(calls), PriceTable.load().price(str(identity))),
        "result": result,
    }


def _paid_by_level(calls: list[dict[str, Any]]) -> dict[str, LevelCost]:
    costs: dict[str, LevelCost] = {}
    for c in calls:
        if c["cached"] < c["n"]:
            paid = LevelCost(
                c["n"] - c["cached"], c["prompt_tokens"] or 0, c["completion_tokens"] or 0,
                c["seconds"] or 0.0,
            )  # fmt: skip
            level = c["level"] or "task"
            costs[level] = costs.get(level, LevelCost()).plus(paid)
    return costs


def _rate(r: dict[str, Any]) -> str:
    return f"{100 * r['rate']:.0f}% [{100 * r['low']:.0f}, {100 * r['high']:.0f}]"


def markdown(probes: list[dict[str, Any]]) -> str:
    lines = ["| model | task | n | " + " | ".join(SOLUTION_RATES) + " | mean gain |"]
    lines.append("|---" * (len(SOLUTION_RATES) + 4) + "|")
    for p in probes:
        for task, rates in p["result"]["solution"].items():
            cells = " | ".join(_rate(rates[k]) for k in SOLUTION_RATES)
            n = rates["runs"]["n"]
            lines.append(f"| {p['model']} | {task} | {n} | {cells} | {rates['mean_gain']:+.3f} |")
    lines += ["", "| model | run on | n | " + " | ".join(META_RATES) + " | strategies |"]
    lines.append("|---" * (len(META_RATES) + 4) + "|")
    for p in probes:
        meta = p["result"]["meta"]
        cells = " | ".join(_rate(meta[k]) for k in META_RATES)
        strategies = ", ".join(f"{k}: {v}" for k, v in meta.get("strategies", {}).items())
        row = f"| {p['model']} | {p['tasks']} | {meta['works']['n']} | {cells} |"
        lines.append(f"{row} {strategies or '-'} |")
    lines += ["", "| model | run on | samples | completion tokens | model seconds | tokens/s |"]
    lines.append("|---" * 6 + "|")
    for p in probes:
        lines.append(
            f"| {p['model']} | {p['tasks']} | {p['samples']} | {p['completion_tokens']:,} |"
            f" {p['model_seconds']:,.0f} | {p['tokens_per_second']} |"
        )
    head = "| model | run on | preset | LM calls | samples | tokens | tokens/s | hours | $ |"
    lines += ["", head]
    lines.append("|---" * 9 + "|")
    for p in probes:
        for preset, e in p["estimate"].items():
            speed = "-" if e["tokens_per_second"] is None else f"{e['tokens_per_second']:.1f}"
            hours = "-" if e["hours"] is None else f"{e['hours']:.1f}"
            dollars = "-" if e["dollars"] is None else f"{e['dollars']:.2f}"
            lines.append(
                f"| {p['model']} | {p['tasks']} | {preset} | {e['lm_calls']:,} | {e['samples']:,} |"
                f" {e['tokens']:,} | {speed} | {hours} | {dollars} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", type=Path)
    args = parser.parse_args()
    probes = [probe_of(run_dir) for run_dir in args.run_dirs]
    print(markdown(probes))
    print(json.dumps({"machine": machine(load="load_average_now"), "probes": probes}))


if __name__ == "__main__":
    main()
