"""What the model wrote in a `selftaught compare` run: per improver, its replies and programs.

    python benchmarks/compare_programs.py RUN_DIR [--task string_grid] [--markdown]

Reads the run's store (read-only, so a live run can be read) and prints one JSON object. For
each improver (the LM scope `compare:SEED:REPEAT:IMPROVER` names it):

- `replies`: the model's replies to it, `cut_off` those that reached max_tokens;
- `code`: replies with a complete fenced block (the largest, `helpers.extract_code`, is what
  the improvers take); `block`: those whose block defines the task's entry function with a
  `def` (a program can also define it otherwise, e.g. by exec'ing a string); `evaluated`: blocks
  the improver scored on val; `ran`: evaluated blocks that returned an answer on at least one
  val instance; `positive`:
  those that scored above 0 on val, `seed_score` those whose val score equals the seed
  solution's (the seed's algorithm kept; when no improver in the run measured the seed
  solution, it is scored here once, in the sandbox); shares of replies with 95% Wilson
  intervals;
- `scored`: every distinct program other than the seed solution that was first scored on val
  during the improver's invocations (its candidates, whether a reply's block or code the
  improver built), and `scored_positive` those above 0; rows run one after another, so an
  invocation's window runs from the previous invocation's end to its own;
- per invocation: whether it returned the seed solution, a program of its own, or nothing, and
  the returned program's val and test scores.

Evaluations are cached by program, so a program that an earlier row already scored is not
scored again and does not count in a later row's `scored` (it does in `evaluated`).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import selftaught
from selftaught.sandbox.helpers import extract_code
from selftaught.stats import wilson
from selftaught.store import sha256
from selftaught.store.reader import RunReader
from selftaught.tasks import resolve_task

RAN = ("ok", "invalid_output")  # the program returned something on that instance


def val_evaluations(reader: RunReader, task: str) -> dict[str, dict[str, Any]]:
    return {
        row["program"]: {
            "score": row["score"],
            "ran": any(i.get("status") in RAN for i in json.loads(row["instances"])),
            "created": row["created"],
            "why": row["failure"] or _first_reason(json.loads(row["instances"])),
        }
        for row in reader.rows("evaluations")
        if row["task"] == task and row["split"] == "val"
    }


def _first_reason(instances: list[dict[str, Any]]) -> str | None:
    return next((i["reason"] for i in instances if i.get("reason")), None)


def replies(
    reader: RunReader,
    entry: str,
    max_tokens: int,
    evals: dict,
    seed_val: float | None,
    usage: dict[str, dict[str, int]],
) -> dict[str, list]:
    """Per improver, one record per reply of the model, in call order; `usage` gets each
    improver's LM calls (those answered from a cache among them) and their tokens."""
    out: dict[str, list] = {}
    seen = set()
    for call in reader.rows("lm_calls"):
        key, first, n, scope = call["request_key"], call["first_sample"], call["n"], call["scope"]
        if not str(scope).startswith("compare:"):
            continue
        cached = call["cached"]
        tokens = (call["prompt_tokens"] or 0) + (call["completion_tokens"] or 0)
        if (key, first) in seen:  # a resumed run replays its calls from the store
            continue
        seen.add((key, first))
        label = scope.rsplit(":", 1)[-1]
        usage[label] = usage.get(label, {"lm_calls": 0, "cached": 0, "tokens": 0})
        usage[label]["lm_calls"] += 1
        usage[label]["cached"] += bool(cached)
        usage[label]["tokens"] += tokens
        for index in range(first, first + n):
            sample = reader.get_sample(key, index)
            if sample is None:
                continue
            code = extract_code(sample.response)
            block = bool(code) and re.search(rf"^\s*def\s+{entry}\s*\(", code, re.M) is not None
            evaluation = evals.get(sha256(code)) if code else None
            out.setdefault(label, []).append({
                "tokens": sample.completion_tokens,
                "cut_off": (sample.completion_tokens or 0) >= max_tokens,
                "code": code is not None,
                "block": block,
                "evaluated": evaluation is not None,
                "ran": bool(evaluation and evaluation["ran"]),
                "positive": bool(evaluation and evaluation["score"] > 0),
                # the seed's algorithm kept (often with the utility pasted after it)
                "seed_score": bool(evaluation and evaluation["score"] == seed_val),
                "val": evaluation["score"] if evaluation else None,
                "why": evaluation["why"] if evaluation else None,
            })  # fmt: skip
    return out


def invocations(reader: RunReader, task: str, seed_sha: str, evals: dict) -> dict[str, list]:
    """Per improver, its invocations: window, returned program and its scores."""
    out: dict[str, list] = {}
    sources = {}
    columns = ("improver", "result", "status", "seconds", "wall_seconds", "created", "repetition")
    rows = [[row[c] for c in columns] for row in reader.rows("invocations") if row["task"] == task]
    tests = {
        row["program"]: row["score"]
        for row in reader.rows("evaluations", "program", "task", "split", "score")
        if row["task"] == task and row["split"] == "test"
    }
    names = _improver_names(reader)
    seen = set()
    # Rows run one after another: an invocation's window starts where the last one ended (the
    # first where the run started, when its first program was stored).
    previous_end = min((r["created"] for r in reader.rows("programs", "created")), default=0.0)
    for improver, result, status, seconds, wall_seconds, created, repetition in rows:
        returned = reader.get_program(result) if result else None
        digest = sha256(returned) if returned else None
        sources.setdefault(improver, names.get(improver, improver[:12]))
        if (improver, repetition, digest) in seen:  # replayed by a resumed run
            previous_end = created
            continue
        seen.add((improver, repetition, digest))
        out.setdefault(sources[improver], []).append({
            "repetition": repetition, "status": status, "seconds": seconds,
            "wall_seconds": wall_seconds,  # None in runs before schema version 4
            "window": (previous_end, created), "result": digest,
            "returned": "nothing" if digest is None else (
                "seed solution" if digest == seed_sha else "its own program"),
            "val": evals[digest]["score"] if digest in evals else None,
            "test": tests.get(digest),
        })  # fmt: skip
        previous_end = created
    return out


def _improver_names(reader: RunReader) -> dict[str, str]:
    """Improver program sha256 -> built-in name, from the listing compare records."""
    from selftaught.improvers import load_improver

    names, first_lines = {}, {}
    for scope in {row["scope"] for row in reader.rows("lm_calls", "scope")}:
        label = str(scope).rsplit(":", 1)[-1]
        try:
            source = load_improver(label)
        except Exception:  # noqa: BLE001 - a name that is not a built-in stays a hash
            continue
        names[sha256(source)] = label
        first_lines[source.lstrip().splitlines()[0]] = label
    # A run recorded with an older version of a built-in: known by its docstring's first line.
    for digest in {row["improver"] for row in reader.rows("invocations", "improver")} - set(names):
        source = reader.get_program(digest) or ""
        line = source.lstrip().splitlines()[0] if source.strip() else None
        if line in first_lines:
            names[digest] = first_lines[line]
    return names


def summarise(run_dir: Path, task_name: str) -> dict[str, Any]:
    task = resolve_task(task_name)
    spec, task_name = task_name, task.name  # a task file's records carry its name, not its path
    seed_sha = sha256(task.seed_solution)
    with RunReader.open(run_dir) as reader:
        max_tokens = reader.get_meta("config")["budgets"]["max_tokens"]
        evals = val_evaluations(reader, task_name)
        seed_val = evals.get(seed_sha, {}).get("score")
        if seed_val is None:  # no improver measured it (the seed improver never does)
            seed_val = selftaught.evaluate(spec, task.seed_solution, split="val").score
        usage: dict[str, dict[str, int]] = {}
        per_reply = replies(reader, task.entry, max_tokens, evals, seed_val, usage)
        per_call = invocations(reader, task_name, seed_sha, evals)
    improvers = {}
    for label in dict.fromkeys([*per_reply, *per_call]):
        own, calls = per_reply.get(label, []), per_call.get(label, [])
        windows = [c["window"] for c in calls]
        returned_before = {c["result"] for other in per_call.values() for c in other} - {
            c["result"] for c in calls
        }  # scored after the invocation that returned it, in the next one's window
        scored = [
            e for p, e in evals.items()
            if p != seed_sha and p not in returned_before
            and any(lo < e["created"] <= hi for lo, hi in windows)
        ]  # fmt: skip
        n = len(own)
        shares = {
            key: {"count": sum(r[key] for r in own), "share": _share(own, key),
                  "wilson95": list(wilson(sum(r[key] for r in own), n))}
            for key in ("cut_off", "code", "block", "evaluated", "ran", "positive", "seed_score")
        }  # fmt: skip
        improvers[label] = {
            **usage.get(label, {"lm_calls": 0, "cached": 0, "tokens": 0}),
            "replies": n,
            **shares,
            "scored": len(scored),
            "scored_positive": sum(e["score"] > 0 for e in scored),
            "best_val": max((r["val"] or 0.0 for r in own), default=None),
            "invocations": calls,
            "reply_rows": own,
        }
    return {"run_dir": str(run_dir), "task": task_name, "max_tokens": max_tokens,
            "improvers": improvers}  # fmt: skip


def compare_table(result: dict[str, Any]) -> list[dict[str, Any]]:
    """`compare.summarize` of the improvers whose every invocation ended: the table
    `selftaught compare` prints at its end, for a run stopped before it (same statistics, same
    seeds). Test scores are those of each invocation's returned program (0 for none)."""
    from selftaught.compare import summarize
    from selftaught.records import CompareRow
    from selftaught.stats import bootstrap_interval, paired_comparison

    improvers = result["improvers"]
    slots = len(improvers["seed"]["invocations"])
    scores = {
        label: [c["test"] or 0.0 for c in s["invocations"]]
        for label, s in improvers.items()
        if len(s["invocations"]) == slots
    }
    rows = []
    for label, own in scores.items():
        calls = improvers[label]["invocations"]
        rows.append(CompareRow(
            improver=label, task=result["task"], scores=tuple(own),
            mean=sum(own) / len(own), ci95=bootstrap_interval(own, seed=0),
            vs_baseline=None if label == "seed"
            else paired_comparison(own, scores["seed"], "seed", 2000, 0),
            lm_requests=improvers[label]["lm_calls"], tokens=improvers[label]["tokens"],
            seconds=sum(c["window"][1] - c["window"][0] for c in calls),
        ))  # fmt: skip
    return [entry.to_json() for entry in summarize(rows)]


def _share(rows: list[dict], key: str) -> float | None:
    return sum(r[key] for r in rows) / len(rows) if rows else None


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| improver | replies | cut off | code block | `def algorithm` | scored | ran | > 0 on val"
        " | of which the seed's score | programs it scored (> 0) | returned (seed / own /"
        " nothing) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, s in result["improvers"].items():
        kinds = [c["returned"] for c in s["invocations"]]
        returned = " / ".join(
            str(kinds.count(k)) for k in ("seed solution", "its own program", "nothing")
        )
        lines.append(
            f"| {label} | {s['replies']} | {s['cut_off']['count']} | {s['code']['count']}"
            f" | {s['block']['count']} | {s['evaluated']['count']}"
            f" | {s['ran']['count']} | {s['positive']['count']} | {s['seed_score']['count']}"
            f" | {s['scored']} ({s['scored_positive']}) | {returned} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--task", default="string_grid")
    parser.add_argument("--markdown", action="store_true", help="print the table instead")
    parser.add_argument(
        "--table", action="store_true", help="print compare's summary of the finished improvers"
    )
    args = parser.parse_args()
    result = summarise(args.run_dir, args.task)
    if args.table:
        print(json.dumps(compare_table(result)))
    else:
        print(markdown(result) if args.markdown else json.dumps(result))


if __name__ == "__main__":
    main()
