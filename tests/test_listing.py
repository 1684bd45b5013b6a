"""`selftaught.listing.list_runs`: the run listing's data, without writing to any run."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import report_runs as support
from conftest import run_cli
from report_runs import copy_run, killed_after_t0

from selftaught.listing import describe_run, list_runs
from selftaught.run_lock import RunLock

finished_run = support.finished_run


def _age(run_dir: Path, seconds: float) -> None:
    past = time.time() - seconds
    for p in run_dir.iterdir():
        os.utime(p, (past, past))


def test_statuses_and_scores(finished_run: Path, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    done = copy_run(finished_run, root / "done")
    killed = killed_after_t0(finished_run, root / "killed")
    running = killed_after_t0(finished_run, root / "running")
    lock = RunLock.acquire(running, "selftaught run")  # a live process holds it
    broken = root / "broken"
    broken.mkdir()
    (broken / "run.db").write_bytes(b"not a database at all" * 100)
    (root / "not-a-run").mkdir()
    _age(done, 3600)
    _age(killed, 600)
    _age(broken, 7200)
    rows = {r["name"]: r for r in list_runs(root)}
    assert set(rows) == {"done", "killed", "running", "broken"}
    assert [r["name"] for r in list_runs(root)][0] == "running"  # most recently active first
    lock.release()
    assert describe_run(running)["status"] == "killed"  # however recently it wrote

    assert rows["done"]["status"] == "finished" and not rows["done"]["resumable"]
    assert rows["done"]["best_val"] == 1.0 and rows["done"]["best_test"] == 1.0
    assert rows["done"]["iterations_done"] == 2 and rows["done"]["iterations_planned"] == 2
    assert rows["done"]["lm_calls_paid"] > 0 and rows["done"]["evaluations"] > 0
    assert rows["done"]["nodes"] == ["local"]  # where its evaluations ran
    assert rows["done"]["model"].startswith("python:stop_world:respond@")
    assert 3500 < rows["done"]["age_seconds"] < 3700

    assert rows["done"]["kind"] == "stop"
    assert rows["killed"]["status"] == "killed" and rows["killed"]["resumable"]
    assert rows["killed"]["iterations_done"] == 0
    assert rows["running"]["status"] == "running"
    assert rows["broken"]["status"] == "unreadable" and "\n" not in rows["broken"]["error"]

    # Listing wrote nothing: ages are unchanged and no -wal/-shm files appeared.
    assert sorted(p.name for p in done.iterdir()) == ["run.db"]
    assert list_runs(root)[-1]["name"] == "broken"


def test_a_comparison_is_listed_as_such_and_not_as_resumable(
    finished_run: Path, tmp_path: Path
) -> None:
    run = killed_after_t0(finished_run, tmp_path / "runs" / "cmp")
    db = sqlite3.connect(run / "run.db")  # raw: a killed STOP run relabelled as a comparison
    db.execute("INSERT OR REPLACE INTO meta VALUES ('kind', '\"compare\"')")
    db.commit()
    db.close()
    _age(run, 600)
    (row,) = list_runs(tmp_path / "runs")
    assert row["kind"] == "compare" and row["status"] == "killed"
    assert not row["resumable"]  # `resume` refuses it: the comparison is re-run instead
    listing = run_cli("runs", str(tmp_path / "runs"))
    assert listing.returncode == 0 and "compare" in listing.stdout


def test_missing_root_lists_nothing(tmp_path: Path) -> None:
    assert list_runs(tmp_path / "absent") == []


def test_root_that_is_a_run(finished_run: Path) -> None:
    (row,) = list_runs(finished_run)
    assert row["status"] == "finished"
