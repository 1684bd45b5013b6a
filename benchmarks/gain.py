"""The gain over the seed solution (issue 24, item 6): per task and improver, from the run
directories of `selftaught compare`, one per task.

    python benchmarks/gain.py ROOT [--markdown] [--write benchmarks/gain.json]

ROOT holds, per task, `NAME/` (the compare run directory) and `NAME.json` (compare's `--json`
line: the seed solution's test score is its "solutions"). A task whose JSON is missing is
reported from the rows that finished (a run still going, or stopped). For each improver:

- `scores`: the test score of the solution each invocation returned (0 for none), in
  (repeat, repetition) order, from the store (`compare_programs.summarise`);
- `gain`: scores minus the seed solution's own test score, its mean and a 95% percentile
  bootstrap interval (`stats.bootstrap_interval`), and `beats_seed_solution`: the interval's
  low end is above 0. The seed solution's test score is one number per task (the test split
  is fixed), so the difference is paired slot by slot with the same constant;
- `ran`: the share of the model's replies whose program ran on val (returned an answer on at
  least one instance), with its Wilson interval, and the same pooled over all improvers.

Prints one JSON object (with the machine), or the markdown table with `--markdown`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from compare_programs import summarise  # noqa: E402
from machine import machine  # noqa: E402

from selftaught.stats import bootstrap_interval, wilson  # noqa: E402
from selftaught.store.reader import RunReader  # noqa: E402


def task_of(run_dir: Path) -> str:
    with RunReader.open(run_dir) as reader:
        return str(reader.get_meta("config")["task"])


def seed_test(path: Path) -> float | None:
    """The seed solution's test score from compare's JSON, else None (the run is unfinished)."""
    text = path.read_text().strip() if path.exists() else ""
    solutions = json.loads(text)["solutions"] if text else None
    return next(iter(solutions.values()))["seed_test"] if solutions else None


def improver_row(summary: dict[str, Any], base: float | None) -> dict[str, Any]:
    scores = [c["test"] or 0.0 for c in summary["invocations"]]
    row: dict[str, Any] = {
        "scores": scores,
        "mean": sum(scores) / len(scores) if scores else None,
        "replies": summary["replies"],
        "ran": summary["ran"]["count"],
        "ran_share": summary["ran"]["share"],
        "ran_wilson95": summary["ran"]["wilson95"],
        "returned": [c["returned"] for c in summary["invocations"]],
        "lm_calls": summary["lm_calls"],
        "tokens": summary["tokens"],
    }
    if base is not None and scores:
        gains = [s - base for s in scores]
        low, high = bootstrap_interval(gains, seed=0)
        row["gain"] = {"mean": sum(gains) / len(gains), "ci95": [low, high]}
        row["beats_seed_solution"] = low > 0
    return row


def task_rows(root: Path, run_dir: Path) -> dict[str, Any]:
    task = task_of(run_dir)
    summary = summarise(run_dir, task)
    base = seed_test(root / f"{run_dir.name}.json")
    improvers = {k: improver_row(v, base) for k, v in summary["improvers"].items()}
    improvers = {k: v for k, v in improvers.items() if v["scores"]}  # not the listing's hash
    ran = sum(v["ran"] for v in improvers.values())
    replies = sum(v["replies"] for v in improvers.values())
    return {
        "task": summary["task"], "finished": base is not None, "seed_solution_test": base,
        "improvers": improvers, "ran": ran, "replies": replies,
        "ran_wilson95": list(wilson(ran, replies)),
    }  # fmt: skip


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| task | seed solution (test) | improver | runs | mean test | gain over the seed solution"
        " [95% CI] | model's programs that ran |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in result["tasks"]:
        base = t["seed_solution_test"]
        for name, r in t["improvers"].items():
            gain = r.get("gain")
            shown = "-" if gain is None else (
                f"{gain['mean']:+.3f} [{gain['ci95'][0]:+.3f}, {gain['ci95'][1]:+.3f}]"
                + (" **above 0**" if r["beats_seed_solution"] else ""))  # fmt: skip
            lines.append(
                f"| {t['task']} | {'-' if base is None else f'{base:.3f}'} | {name} | "
                f"{len(r['scores'])} | {r['mean']:.3f} | {shown} | {r['ran']} of {r['replies']} |"
            )
    pooled = result["ran"]
    lines.append(
        f"\nAll replies: {pooled['ran']} of {pooled['replies']} programs ran "
        f"({pooled['share']:.0%} [{pooled['wilson95'][0]:.0%}, {pooled['wilson95'][1]:.0%}])"
    )
    for name, own in result["ran_by_improver"].items():
        low, high = own["wilson95"]
        share = own["ran"] / own["replies"] if own["replies"] else 0.0
        lines.append(
            f"{name}: {own['ran']} of {own['replies']} ran ({share:.0%} [{low:.0%}, {high:.0%}])"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--write", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    dirs = sorted(p for p in args.root.iterdir() if (p / "run.db").exists())
    tasks = [task_rows(args.root, d) for d in dirs]
    ran, replies = sum(t["ran"] for t in tasks), sum(t["replies"] for t in tasks)
    by_improver: dict[str, dict[str, Any]] = {}
    for t in tasks:
        for name, r in t["improvers"].items():
            pooled = by_improver.setdefault(name, {"ran": 0, "replies": 0})
            pooled["ran"] += r["ran"]
            pooled["replies"] += r["replies"]
    for pooled in by_improver.values():
        pooled["wilson95"] = list(wilson(pooled["ran"], pooled["replies"]))
    result = {
        "machine": machine(load="load_average_now"),  # it reads runs made earlier
        "ran_by_improver": by_improver,
        "tasks": tasks,
        "ran": {
            "ran": ran,
            "replies": replies,
            "share": ran / replies if replies else None,
            "wilson95": list(wilson(ran, replies)),
        },  # fmt: skip
        "tasks_beaten": sorted(
            t["task"]
            for t in tasks
            if any(r.get("beats_seed_solution") for r in t["improvers"].values())
        ),  # fmt: skip
    }
    if args.write:
        args.write.write_text(json.dumps(result, indent=1) + "\n")
    print(markdown(result) if args.markdown else json.dumps(result))


if __name__ == "__main__":
    main()
