"""Kill a run with SIGKILL mid-iteration; `selftaught resume` ends with the same record as an
uninterrupted run with the same seed, without paying for any LM call twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from conftest import ROOT, last_json, run_cli, stored

from selftaught.store import RunReader, StoreError

RUN = ("run", "--iterations", "2", "--repetitions", "2", "--json", "--seed", "7")
RUN += ("--improver", "seed")  # the scripted model answers the seed improver's prompts


def _paid(count_file) -> int:
    return len(count_file.read_text().splitlines()) if count_file.exists() else 0


def test_sigkill_mid_iteration_then_resume_matches_uninterrupted(tmp_path, scripted_model):
    whole_count = tmp_path / "whole.calls"
    whole = run_cli(
        *RUN,
        "--model",
        scripted_model,
        "--run-dir",
        str(tmp_path / "whole"),
        env={"SCRIPTED_COUNT_FILE": str(whole_count)},
    )
    assert whole.returncode == 0, whole.stderr
    expected = last_json(whole.stdout)

    # The model kills the host with SIGKILL when its 4th call begins: inside iteration 1,
    # after the seed improver was scored and while candidates are being scored.
    count = tmp_path / "killed.calls"
    killed = run_cli(
        *RUN,
        "--model",
        scripted_model,
        "--run-dir",
        str(tmp_path / "k"),
        env={"SCRIPTED_COUNT_FILE": str(count), "SCRIPTED_KILL_AFTER": "3"},
    )
    assert killed.returncode == -signal.SIGKILL
    assert _paid(count) == 3
    assert len(stored(tmp_path / "k", "iterations")) == 1  # t = 0 only

    resumed = run_cli(
        "resume", str(tmp_path / "k"), "--json", env={"SCRIPTED_COUNT_FILE": str(count)}
    )
    assert resumed.returncode == 0, resumed.stderr
    got = last_json(resumed.stdout)
    assert got["iterations"] == expected["iterations"]
    assert _paid(count) == _paid(whole_count)  # nothing paid twice
    assert got["lm_calls"] == expected["lm_calls"]


def test_sigkill_from_outside_at_any_moment_then_resume(tmp_path, scripted_model):
    run_dir = tmp_path / "outside"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "selftaught",
            *RUN,
            "--model",
            scripted_model,
            "--run-dir",
            str(run_dir),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until some work is recorded, then kill -9
        if (run_dir / "run.db").exists():
            try:  # the reader reads a live run as the report does, without writing to it
                with RunReader.open(run_dir) as reader:
                    if reader.count("evaluations") >= 3:
                        break
            except StoreError:  # the tables are not written yet
                pass
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    resumed = run_cli("resume", str(run_dir), "--json")
    assert resumed.returncode == 0, resumed.stderr
    again = run_cli(*RUN, "--model", scripted_model, "--run-dir", str(tmp_path / "fresh"))
    assert last_json(resumed.stdout)["iterations"] == last_json(again.stdout)["iterations"]


def test_run_cap_stops_cleanly_and_resumes_under_a_larger_cap(tmp_path, scripted_model):
    whole = run_cli(*RUN, "--model", scripted_model, "--run-dir", str(tmp_path / "whole"))
    capped_dir = tmp_path / "capped"
    capped = run_cli(
        *RUN, "--model", scripted_model, "--run-dir", str(capped_dir), "--max-lm-calls", "2"
    )
    assert capped.returncode == 3, capped.stderr
    assert "cap" in capped.stderr and "Traceback" not in capped.stderr
    with RunReader.open(capped_dir) as reader:
        assert reader.lm_usage()["uncached_calls"] == 2
    resumed = run_cli("resume", str(capped_dir), "--max-lm-calls", "1000", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert last_json(resumed.stdout)["iterations"] == last_json(whole.stdout)["iterations"]
