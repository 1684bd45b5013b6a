"""Shared by the dashboard tests: a runs directory as a user's looks after a while (a finished
run, a run from an older schema, a damaged one), a run being written by the real command, and
reading the dashboard's event streams. No tests here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import MODELS, ROOT

from selftaught.store import RunReader, StoreError

SLOW_WORLD = f"python:{MODELS / 'dashboard_world.py'}:respond"
V1_RUNS = ROOT / "tests" / "fixtures" / "v1-runs.tar.gz"
DAMAGED = b"SQLite format 3\x00" + b"\x07" * 4000  # a header, then garbage


def mixed_runs(root: Path, finished: Path | None = None) -> Path:
    """`root` holding "old" (schema version 1), "damaged" (not a database) and, when given, a
    copy of `finished` as "done"."""
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(V1_RUNS) as archive:
        member = archive.getmember("stop/run.db")
        (root / "old").mkdir()
        with archive.extractfile(member) as source:  # type: ignore[union-attr]
            (root / "old" / "run.db").write_bytes(source.read())
    (root / "damaged").mkdir()
    (root / "damaged" / "run.db").write_bytes(DAMAGED)
    if finished is not None:
        (root / "done").mkdir()
        shutil.copy(finished / "run.db", root / "done" / "run.db")
    return root


def start_run(
    run_dir: Path, *args: str, sleep: float = 0.5, world: str = "stop_world"
) -> subprocess.Popen:
    """`selftaught run` on the slow, hostile world, in a subprocess (the caller waits on it)."""
    env = {**os.environ, "DASHBOARD_SLEEP": str(sleep), "DASHBOARD_WORLD": world}
    command = [sys.executable, "-m", "selftaught", "run", "--model", SLOW_WORLD, "--iterations",
               "1", "--repetitions", "2", "--improver", "seed",  # the world's prompts
               "--run-dir", str(run_dir), *args]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def iterations_done(run_dir: Path) -> list[int]:
    """The iterations the run recorded so far ([] before its database exists)."""
    try:
        with RunReader.open(run_dir) as reader:
            return [r.t for r in reader.iterations()] if "iterations" in reader.tables() else []
    except StoreError:
        return []


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def first_event(url: str, name: str, timeout: float = 10) -> Any:
    """The data of the first `name` event on the event stream at `url`."""
    with urllib.request.urlopen(url, timeout=timeout) as stream:
        event = None
        for raw in stream:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == name:
                return json.loads(line.removeprefix("data: "))
    raise AssertionError(f"the stream at {url} ended before a {name} event")
