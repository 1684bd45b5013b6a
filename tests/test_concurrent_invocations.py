"""Independent improver invocations run concurrently, and a run's records do not depend on it.

Through the real command, a real sandbox, a real SQLite store and an OpenAI-compatible loopback
server whose answers depend on each request's seed and arrive out of order
(tests/models/stop_server.py): STOP run sequentially and with the meta-utility's repetitions
running at once records the same iterations, the same per-repetition results, the same samples
and the same evaluations; replaying the concurrent run offline gives them again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, ctrl_c_able, last_json, run_cli, stored
from stop_server import StopWorldServer  # noqa: E402

from selftaught.meta_utility import _concurrently  # noqa: E402
from selftaught.store import RunReader

RUN = ("run", "--iterations", "1", "--repetitions", "3", "--json")
ENV = {"OPENAI_API_KEY": "sk-test-fake"}


RECORDED = {  # what must not depend on concurrency, per table
    "meta_utilities": ("improver", "purpose", "val", "test", "detail"),
    "lm_samples": ("request_key", "sample_index", "response"),
    "evaluations": ("program", "task", "split", "seed", "score"),
    "invocations": ("improver", "initial", "purpose", "status", "result"),
}


def _records(run_dir: Path) -> dict:
    with RunReader.open(run_dir) as reader:
        records = {"iterations": reader.iterations()}
        for table, columns in RECORDED.items():
            records[table] = sorted(tuple(row.values()) for row in reader.rows(table, *columns))
    return records


def test_concurrent_repetitions_record_what_a_sequential_run_records(tmp_path):
    with StopWorldServer() as server:
        model = ("--model", "openai:stop-world", "--base-url", server.url + "/v1")
        one = run_cli(
            *RUN, *model, "--model-option", "concurrency=1", "--run-dir", str(tmp_path / "one"),
            env=ENV,
        )  # fmt: skip
        assert one.returncode == 0, one.stderr
        sequential_peak = server.peak
        server.reset_peak()
        many = run_cli(
            *RUN, *model, "--concurrency", "3", "--run-dir", str(tmp_path / "many"), env=ENV
        )
        assert many.returncode == 0, many.stderr
        concurrent_peak = server.peak
    assert sequential_peak == 1
    assert concurrent_peak > 1  # repetitions really overlapped at the server
    first, second = _records(tmp_path / "one"), _records(tmp_path / "many")
    assert len(first["lm_samples"]) > 10 and len(first["invocations"]) > 6
    # repetitions of one meta-utility differ (else a mix-up of their samples would not show)
    assert any(
        len({run["val"] for run in json.loads(row[4])["runs"]}) > 1
        for row in first["meta_utilities"]
    )
    for part in ("iterations", "meta_utilities", "lm_samples", "evaluations", "invocations"):
        assert first[part] == second[part], part
    assert last_json(one.stdout)["iterations"] == last_json(many.stdout)["iterations"]

    replayed = run_cli(
        *RUN, "--model", f"replay:{tmp_path / 'many'}", "--concurrency", "3",
        "--run-dir", str(tmp_path / "replayed"),
    )  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr
    again = _records(tmp_path / "replayed")
    for part in ("iterations", "meta_utilities", "evaluations", "invocations"):
        assert again[part] == first[part], part


def test_a_calls_cap_holds_under_concurrency_and_the_run_resumes_to_the_same_records(tmp_path):
    with StopWorldServer() as server:
        model = ("--model", "openai:stop-world", "--base-url", server.url + "/v1")
        whole = run_cli(*RUN, *model, "--run-dir", str(tmp_path / "whole"), env=ENV)
        assert whole.returncode == 0, whole.stderr
        capped_dir = str(tmp_path / "capped")
        capped = run_cli(
            *RUN, *model, "--concurrency", "3", "--max-lm-calls", "5", "--run-dir", capped_dir,
            env=ENV,
        )  # fmt: skip
        assert capped.returncode == 3, capped.stderr
        assert "run cap reached" in capped.stderr and "Traceback" not in capped.stderr
        calls = stored(tmp_path / "capped", "lm_calls", "cached", "n")
        paid = sum(row["cached"] < row["n"] for row in calls)
        assert 1 <= paid <= 5  # three invocations at once never pass the cap together
        resumed = run_cli("resume", capped_dir, "--max-lm-calls", "1000", "--json", env=ENV)
        assert resumed.returncode == 0, resumed.stderr
    first, second = _records(tmp_path / "whole"), _records(tmp_path / "capped")
    for part in ("iterations", "meta_utilities", "lm_samples", "evaluations"):
        assert first[part] == second[part], part


def test_ctrl_c_stops_at_once_while_invocations_wait_on_the_server(tmp_path):
    gate = threading.Event()
    with StopWorldServer(gate=gate) as server:
        run_dir = tmp_path / "interrupted"
        args = [*RUN, "--model", "openai:stop-world", "--base-url", server.url + "/v1"]
        child = subprocess.Popen(
            [sys.executable, "-m", "selftaught", *args, "--concurrency", "3",
             "--run-dir", str(run_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, **ENV}, preexec_fn=ctrl_c_able,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while server.in_flight < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert server.in_flight >= 2, "the repetitions never reached the server together"
            child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=60)  # the held requests would wait 300 s
        finally:
            gate.set()
            child.kill()
        assert child.returncode == 130
        assert "interrupted; continue with" in err and "Traceback" not in err
        resumed = run_cli("resume", str(run_dir), "--json", env=ENV)
        assert resumed.returncode == 0, resumed.stderr
        assert last_json(resumed.stdout)["iterations"][-1]["t"] == 1


def test_concurrently_keeps_job_order_and_overlaps():
    active, peak, lock = [0], [0], threading.Lock()

    def job(k: int):
        def run() -> int:
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.02 * (5 - k))  # later jobs finish first
            with lock:
                active[0] -= 1
            return k

        return run

    assert _concurrently([job(k) for k in range(5)], 3) == [0, 1, 2, 3, 4]
    assert peak[0] == 3
    peak[0] = 0
    assert _concurrently([job(k) for k in range(5)], 1) == [0, 1, 2, 3, 4]
    assert peak[0] == 1


def test_concurrently_raises_the_first_failure_and_skips_jobs_not_started():
    started: list[int] = []

    def job(k: int):
        def run() -> int:
            started.append(k)
            if k == 1:
                raise ValueError("repetition 1 failed")
            time.sleep(0.05)
            return k

        return run

    with pytest.raises(ValueError, match="repetition 1 failed"):
        _concurrently([job(k) for k in range(20)], 2)
    assert len(started) < 20
