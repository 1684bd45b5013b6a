"""The data behind `selftaught runs`: one row per run directory under a root.

Contract of `list_runs(root)`:
- a run directory is a directory directly under `root` holding `run.db` (or `root` itself, if
  it holds one); a missing root gives an empty list;
- it only reads: databases are opened read-only, a live run is listed while it writes;
- one dict per run, most recently active first, with the keys
    name, path               directory name and path (str)
    kind                     "stop" | "transfer" | "compare" (None when unreadable)
    status                   "finished" | "running" | "killed" | "unreadable"
    resumable                bool: a killed STOP run with a configuration and initial improver
                             (a transfer or comparison continues by re-running its command)
    task, model              from the recorded configuration (model: the identity if recorded)
    iterations_done          the largest recorded t (None before t=0 is recorded)
    iterations_planned       T from the configuration
    best_val                 the best val meta-utility of an incumbent
    best_test                the test meta-utility of that same improver (chosen on val only)
    lm_calls_paid            LM calls not answered from the cache
    dollars                  what the paid calls cost (0 when the model records no price)
    evaluations              evaluation rows
    nodes                    where the evaluations ran, sorted: ["local"] or Ray node names
                             (those an older selftaught recorded without a node left out)
    last_activity            POSIX time of the last write (the database files' mtime)
    age_seconds              seconds since then
    error                    one line when the database cannot be read, else None
- "running" means a live process holds the run directory's lock (`run_lock`); a run that is
  not finished and not locked was killed (or crashed) and can be resumed, however recently it
  wrote.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from selftaught.run_lock import holder
from selftaught.store import RunReader, StoreError


def run_directories(root: Path) -> list[Path]:
    root = Path(root)
    if (root / "run.db").is_file():
        return [root]
    if not root.is_dir():
        return []
    return [p for p in root.iterdir() if p.is_dir() and (p / "run.db").is_file()]


def last_write(run_dir: Path) -> float:
    """The newest mtime of run.db and its WAL: WAL mode writes go to the -wal file first.

    An empty -wal is not a write: a reader may create one (and -shm is touched by reads).
    """
    times = []
    for name in ("run.db", "run.db-wal"):
        try:
            stat = (run_dir / name).stat()
        except OSError:
            continue
        if name == "run.db" or stat.st_size > 0:
            times.append(stat.st_mtime)
    return max(times, default=0.0)


def describe_run(run_dir: Path, *, now: float | None = None) -> dict[str, Any]:
    """One row of the listing (see the module docstring); never raises for a bad database."""
    now = time.time() if now is None else now
    updated = last_write(run_dir)
    row: dict[str, Any] = {
        "name": run_dir.name,
        "path": str(run_dir),
        "kind": None,
        "status": "unreadable",
        "resumable": False,
        "task": None,
        "model": None,
        "iterations_done": None,
        "iterations_planned": None,
        "best_val": None,
        "best_test": None,
        "lm_calls_paid": None,
        "dollars": None,
        "evaluations": None,
        "nodes": None,  # where its evaluations ran: "local" or Ray node names
        "last_activity": updated,
        "age_seconds": max(0.0, now - updated),
        "error": None,
    }
    try:
        with RunReader.open(run_dir) as reader:
            _fill(reader, row)
    except StoreError as exc:
        row["status"], row["error"] = "unreadable", str(exc)
        return row
    return _status(row, holder(run_dir) is not None)


def list_runs(root: Path) -> list[dict[str, Any]]:
    """Every run under `root`, most recently active first."""
    now = time.time()
    rows = [describe_run(d, now=now) for d in run_directories(Path(root))]
    return sorted(rows, key=lambda r: r["last_activity"], reverse=True)


def _fill(db: RunReader, row: dict[str, Any]) -> None:
    tables = db.tables()
    meta = db.meta() if "meta" in tables else {}
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    row["kind"] = meta.get("kind") or "stop"  # runs made before kinds were recorded are STOP
    row["finished"] = meta.get("finished") is True
    row["configured"] = bool(config) and isinstance(meta.get("initial_improver"), str)
    row["task"] = config.get("task")
    row["model"] = meta.get("model_identity") or config.get("model")
    row["iterations_planned"] = config.get("iterations")
    records = db.iterations() if "iterations" in tables else []
    if records:
        row["iterations_done"] = max(r.t for r in records)
        scored = [r for r in records if isinstance(r.meta_utility_val, int | float)]
        if scored:
            best = max(scored, key=lambda r: r.meta_utility_val)
            row["best_val"] = best.meta_utility_val
            row["best_test"] = best.meta_utility_test
    if "lm_calls" in tables:
        row["lm_calls_paid"] = db.paid_lm_calls()
        row["dollars"] = db.spent()[2]
    if "evaluations" in tables:
        per_node = db.evaluation_nodes()  # one pass: the count is their sum
        row["evaluations"] = sum(per_node.values())
        row["nodes"] = sorted(node for node in per_node if node)


def _status(row: dict[str, Any], locked: bool) -> dict[str, Any]:
    finished = row.pop("finished", False)
    configured = row.pop("configured", False)
    if finished:
        row["status"] = "finished"
    elif locked:
        row["status"] = "running"
    else:
        row["status"] = "killed"
        row["resumable"] = configured and row["kind"] == "stop"
    return row
