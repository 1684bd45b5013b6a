"""`schedstat.ChildTimes` on real processes: a process tree's time on a CPU (a child's work
included, as an evaluator's candidate process is) and its run-queue wait, so that the host can
tell a process that waits from one that computes or is starved."""

from __future__ import annotations

import subprocess
import sys
import time

from selftaught.sandbox.schedstat import ChildTimes, stopped

BURN = (
    "import time\nt = time.process_time()\nwhile time.process_time() - t < {seconds}:\n    pass\n"
)


def watch(code: str) -> tuple[float, float]:
    """Run `python -c code`, reading its times every 20 ms: its CPU time at the end, and the
    most time it had spent neither on a CPU nor waiting for one at any reading."""
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", code])
    times = ChildTimes(proc.pid)
    cpu, waited = 0.0, 0.0
    while proc.poll() is None:
        reading = times.read()
        assert reading is not None, "no schedstat on this kernel"
        cpu = reading[0]
        waited = max(waited, time.monotonic() - start - reading[0] - reading[1])
        time.sleep(0.02)
    return cpu, waited


def test_the_work_of_a_process_it_waits_for_is_cpu_not_waiting():
    inner = BURN.format(seconds=1.0)
    cpu, waited = watch(
        f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {inner!r}])"
    )
    assert cpu >= 0.9  # the grandchild's second of CPU, seen through the tree while it ran
    assert waited < 0.9  # what is left is start-up, never a second of waiting


def test_a_sleep_is_neither_cpu_nor_run_queue():
    cpu, waited = watch("import time\ntime.sleep(1.0)")
    assert cpu < 0.5 and waited >= 0.9


def test_a_stopped_process_reads_as_stopped():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, signal, time\nos.kill(os.getpid(), signal.SIGSTOP)\ntime.sleep(60)",
        ]
    )
    try:
        deadline = time.monotonic() + 30
        while not stopped(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stopped(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    assert not stopped(proc.pid)  # gone: not stopped
