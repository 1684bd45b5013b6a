"""The benchmark's rows: which (system, task) pairs exist, which ones a run asks for, what one
seed of a row recorded, and a row made of its seeds.

A row is one system on one task, run once per seed; each seed is recorded in its own file when
it finishes (`seed.json` in its directory), a row in results.json when all its seeds have, so a
run stopped at any point resumes where it stopped. Pure functions (no model, no peers), so that
tests can check them on any machine; `run.py` drives them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from selftaught.stats import mean_interval

PEERS = ("openevolve", "shinkaevolve", "skydiscover")
T0_ROWS = {"selftaught-seed": "seed", "selftaught-repair": "repair"}  # row: improver at T = 0
STOP_ROWS = {"selftaught-stop1": 1, "selftaught-stop2": 2}  # row: STOP iterations T
SYSTEMS = (*PEERS, *T0_ROWS, *STOP_ROWS)
# The order rows run in when none is asked for: OpenEvolve's own examples early, because on
# them every system runs a task written for a peer.
TASKS = (
    "lpn", "function_minimization", "circle_packing", "string_grid", "maxcut",
    "k_module_problem", "evaluator_form",
)  # fmt: skip

ROW_KEYS = (
    "system",
    "task",
    "best_test_utility",
    "ci",
    "seeds",
    "seed_test_utility",
    "lm_calls",
    "tokens",
    "prompt_tokens",
    "completion_tokens",
    "max_tokens_seen",
    "wall_seconds",
    "scaffold_seconds",
    "executions_per_s",
    "per_seed",
    "isolation",
)


def select(rows: str | None, tasks: str, systems: str) -> list[tuple[str, str]]:
    """The (system, task) pairs to run, in the order they run: `rows` ("system:task,...") if
    given, else every system of `systems` on every task of `tasks`. Within a task, STOP rows
    come after the T = 0 rows they start from. ValueError: a one-line reason."""
    if rows:
        pairs = []
        for item in filter(None, (part.strip() for part in rows.split(","))):
            system, sep, task = item.partition(":")
            if not sep:
                raise ValueError(f"--rows item {item!r} is not system:task (e.g. openevolve:lpn)")
            pairs.append((system, task))
    else:
        pairs = [(s, t) for t in _names(tasks) for s in _names(systems)]
    for system, task in pairs:
        if system not in SYSTEMS:
            raise ValueError(f"unknown system {system!r}; choose from {', '.join(SYSTEMS)}")
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    order = {name: i for i, name in enumerate(SYSTEMS)}
    unique = list(dict.fromkeys(pairs))
    return sorted(unique, key=lambda p: (TASKS.index(p[1]), order[p[0]]))


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def signature(mode: str, calls: int, max_tokens: int) -> dict[str, Any]:
    """What a recorded seed must have been run under to be reused."""
    return {"mode": mode, "model_calls_per_row": calls, "max_tokens": max_tokens}


def recorded_seed(directory: Path, wanted: dict[str, Any]) -> dict[str, Any] | None:
    """The seed recorded in `directory` under the same budget, or None (not run, killed, or
    run under another budget)."""
    try:
        seed = json.loads((directory / "seed.json").read_text())
    except (OSError, ValueError):
        return None
    return seed if isinstance(seed, dict) and seed.get("budget") == wanted else None


def write_seed(directory: Path, seed: dict[str, Any]) -> None:
    """Records a finished seed (written whole, then renamed: a kill leaves no half file)."""
    partial = directory / "seed.json.part"
    partial.write_text(json.dumps(seed, indent=1) + "\n")
    partial.replace(directory / "seed.json")


def aggregate(
    system: str,
    task: str,
    seeds: list[dict[str, Any]],
    isolation: dict[str, Any],
    seed_test_utility: float,
    own_scale: bool = False,
) -> dict[str, Any]:
    """One row from its seeds: the mean test utility and its 95% t interval over seeds (None
    below two seeds; clipped to [0, 1] unless the task is scored on its evaluator's
    `own_scale`), the most calls and tokens any seed spent, the mean wall time, and u(s), the
    task's seed solution on the same split."""
    utilities = [s["test_utility"] for s in seeds]
    interval = mean_interval(utilities, None if own_scale else (0.0, 1.0))
    spent = [s["spent"] for s in seeds]
    wall = sum(s["wall_seconds"] for s in seeds) / len(seeds)
    model = sum(p["model_seconds"] for p in spent) / len(seeds)
    executions = sum(s["executions"] for s in seeds)
    return {
        "system": system,
        "task": task,
        "best_test_utility": round(sum(utilities) / len(utilities), 4),
        "ci": None if interval is None else [round(interval.low, 4), round(interval.high, 4)],
        "seeds": len(seeds),
        "seed_test_utility": round(float(seed_test_utility), 4),
        "lm_calls": max(p["answered"] for p in spent),
        "tokens": max(p["prompt_tokens"] + p["completion_tokens"] for p in spent),
        "prompt_tokens": max(p["prompt_tokens"] for p in spent),
        "completion_tokens": max(p["completion_tokens"] for p in spent),
        "max_tokens_seen": sorted({m for p in spent for m in p["max_tokens_seen"]}),
        "wall_seconds": round(wall, 1),
        "scaffold_seconds": round(max(wall - model, 0.0), 1),
        "executions_per_s": round(executions / (wall * len(seeds)), 3) if wall > 0 else 0.0,
        "per_seed": [_per_seed(s) for s in seeds],
        "isolation": isolation,
    }


def _per_seed(seed: dict[str, Any]) -> dict[str, Any]:
    extra = {k: _rounded(seed[k]) for k in ("meta_utility_val", "meta_utility_test") if k in seed}
    if seed.get("set_aside"):  # a selftaught seed whose improvers' best was below u(s) on val
        extra["set_aside"] = seed["set_aside"]
    return {
        "seed": seed["seed"],
        "test_utility": round(seed["test_utility"], 4),
        "val_utility": _rounded(seed["val_utility"]),
        "lm_calls": seed["spent"]["answered"],
        "cached": seed["spent"]["cached_requests"],
        "wall_seconds": seed["wall_seconds"],
        "exit": seed["exit"],
    } | extra


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def merge(previous: list[dict[str, Any]], new: dict[str, Any]) -> list[dict[str, Any]]:
    """`previous` rows with `new` in place of the row of the same (system, task), in the
    benchmark's order."""
    rows = [r for r in previous if (r["system"], r["task"]) != (new["system"], new["task"])]
    rows.append(new)
    order = {name: i for i, name in enumerate(SYSTEMS)}
    return sorted(rows, key=lambda r: (_task_order(r["task"]), order.get(r["system"], 99)))


def _task_order(task: str) -> int:
    return TASKS.index(task) if task in TASKS else len(TASKS)


def over_bound(row: dict[str, Any], calls: int, max_tokens: int) -> list[str]:
    """How `row` passed its bound: more answered calls than `calls`, a request asking for
    more than `max_tokens`, or more completion tokens than its calls could hold."""
    problems = []
    where = f"{row['system']}:{row['task']}"
    if row["lm_calls"] > calls:
        problems.append(f"{where} spent {row['lm_calls']} calls of {calls}")
    if any(m > max_tokens for m in row["max_tokens_seen"]):
        problems.append(f"{where} asked for max_tokens {row['max_tokens_seen']} > {max_tokens}")
    if row["completion_tokens"] > row["lm_calls"] * max_tokens:
        problems.append(f"{where} got {row['completion_tokens']} completion tokens from "
                        f"{row['lm_calls']} calls of at most {max_tokens}")  # fmt: skip
    return problems


TOP_KEYS = ("model", "machine", "budget", "systems")
BUDGET_KEYS = ("mode", "model_calls_per_row", "max_tokens")


def check_results(results: dict[str, Any]) -> list[str]:
    """What is wrong with `results` against the issue's schema and bound (empty: nothing)."""
    problems = []
    if tuple(results) != TOP_KEYS:
        problems.append(f"top-level keys are {list(results)}, not {list(TOP_KEYS)}")
    budget = results.get("budget") or {}
    missing = [key for key in BUDGET_KEYS if key not in budget]
    if missing:
        return [*problems, f"budget lacks {missing}"]
    if budget["mode"] not in ("full", "quick"):
        problems.append(f"budget.mode is {budget['mode']!r}, not 'full' or 'quick'")
    rows = results.get("systems") or []
    for i, row in enumerate(rows):
        if tuple(row) != ROW_KEYS:
            problems.append(f"row {i}: keys are {list(row)}, not {list(ROW_KEYS)}")
            continue
        problems += over_bound(row, budget["model_calls_per_row"], budget["max_tokens"])
        if row["seeds"] != len(row["per_seed"]):
            problems.append(f"row {i}: seeds {row['seeds']} but {len(row['per_seed'])} recorded")
    pairs = [(row.get("system"), row.get("task")) for row in rows]
    if len(pairs) != len(set(pairs)):
        problems.append("more than one row for a (system, task)")
    return problems
