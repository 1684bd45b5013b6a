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
    evaluations              evaluation rows
    last_activity            POSIX time of the last write (the database files' mtime)
    age_seconds              seconds since then
    error                    one line when the database cannot be read, else None
- "running" means a live process holds the run directory's lock (`run_lock`); a run that is
  not finished and not locked was killed (or crashed) and can be resumed, however recently it
  wrote.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from selftaught.report.data import existing_tables, open_readonly, read_iterations, read_meta
from selftaught.run_lock import holder
from selftaught.store import StoreError


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
        "evaluations": None,
        "last_activity": updated,
        "age_seconds": max(0.0, now - updated),
        "error": None,
    }
    try:
        db = open_readonly(run_dir / "run.db")
    except StoreError as exc:
        row["error"] = str(exc)
        return row
    try:
        _fill(db, row)
    except sqlite3.DatabaseError as exc:
        row["status"], row["error"] = "unreadable", f"{run_dir / 'run.db'}: {exc}"
        return row
    finally:
        db.close()
    return _status(row, holder(run_dir) is not None)


def list_runs(root: Path) -> list[dict[str, Any]]:
    """Every run under `root`, most recently active first."""
    now = time.time()
    rows = [describe_run(d, now=now) for d in run_directories(Path(root))]
    return sorted(rows, key=lambda r: r["last_activity"], reverse=True)


def _fill(db: sqlite3.Connection, row: dict[str, Any]) -> None:
    tables = existing_tables(db)
    meta = read_meta(db) if "meta" in tables else {}
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    row["kind"] = meta.get("kind") or "stop"  # runs made before kinds were recorded are STOP
    row["finished"] = meta.get("finished") is True
    row["configured"] = bool(config) and isinstance(meta.get("initial_improver"), str)
    row["task"] = config.get("task")
    row["model"] = meta.get("model_identity") or config.get("model")
    row["iterations_planned"] = config.get("iterations")
    records = read_iterations(db) if "iterations" in tables else []
    if records:
        row["iterations_done"] = max(r["t"] for r in records)
        scored = [r for r in records if isinstance(r.get("meta_utility_val"), int | float)]
        if scored:
            best = max(scored, key=lambda r: r["meta_utility_val"])
            row["best_val"] = best["meta_utility_val"]
            row["best_test"] = best.get("meta_utility_test")
    if "lm_calls" in tables:
        row["lm_calls_paid"] = db.execute(
            "SELECT COALESCE(SUM(cached = 0), 0) FROM lm_calls"
        ).fetchone()[0]
    if "evaluations" in tables:
        row["evaluations"] = db.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]


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
