"""One live process per run directory (docs/reliability.md, "The run directory's lock")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from conftest import ROOT, last_json, one_clear_line, run_cli
from hostile import HOSTILE

from selftaught.run_lock import holder


def test_a_second_process_on_a_live_run_is_refused_and_nothing_is_paid_twice(tmp_path):
    run_dir = tmp_path / "runs" / "live"
    gate = tmp_path / "go"
    env = {**os.environ, "HOSTILE_GATE": str(gate)}
    args = [
        "run",
        "--model",
        HOSTILE,
        "--iterations",
        "1",
        "--repetitions",
        "1",
        "--run-dir",
        str(run_dir),
        "--json",
    ]
    live = subprocess.Popen(
        [sys.executable, "-m", "selftaught", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while holder(run_dir) is None and live.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert holder(run_dir)["pid"] == live.pid
        second = run_cli("resume", str(run_dir))
        one_clear_line(second, "in use by process", str(live.pid), "selftaught run")
        again = run_cli(*args)
        one_clear_line(again, "in use by process", str(live.pid))
        listed = run_cli("runs", str(tmp_path / "runs"), "--json")
        assert [row["status"] for row in _rows(listed.stdout)] == ["running"]
    finally:
        gate.touch()
        out, err = live.communicate(timeout=300)
    assert live.returncode == 0, err
    assert holder(run_dir) is None
    listed = run_cli("runs", str(tmp_path / "runs"), "--json")
    assert [row["status"] for row in _rows(listed.stdout)] == ["finished"]
    resumed = run_cli("resume", str(run_dir), "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert last_json(resumed.stdout)["iterations"] == last_json(out)["iterations"]


def _rows(stdout: str) -> list[dict]:
    return json.loads(stdout.strip().splitlines()[-1])
