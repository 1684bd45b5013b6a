"""The sandbox's own processes: nothing outlives the host, a dead zygote is replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

from selftaught.sandbox import HandleSpec, Limits, open_sandbox

SPEC = HandleSpec("def algorithm(x):\n    return x\n", 5, "u", 3, 6)
LIMITS = Limits(wall_seconds=20, cpu_seconds=5, memory_mb=256)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pids, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for tid in os.listdir(f"/proc/{current}/task") if alive(current) else []:
            try:
                with open(f"/proc/{current}/task/{tid}/children") as f:
                    kids = [int(k) for k in f.read().split()]
            except OSError:
                kids = []
            found += kids
            todo += kids
    return found


def test_close_leaves_no_process_and_no_scratch():
    sandbox = open_sandbox("auto")
    zygote = sandbox.zygote.proc.pid
    root = sandbox.zygote.scratch_root
    run = sandbox.run_solution(
        "def f():\n    open('x', 'w').write('y')\n    return 1\n", "f", [[]],
        instance_seconds=5, seed=0, array_args=False, limits=LIMITS,
    )  # fmt: skip
    assert run.outcomes[0].output == 1
    family = [zygote, *descendants(zygote)]
    assert len(family) >= 2  # the zygote keeps children ready
    sandbox.close()
    assert wait_gone(family) == []
    assert not os.path.exists(root)


def test_nothing_outlives_a_host_that_dies():
    host = textwrap.dedent(
        """
        import os, sys, threading, time
        from selftaught.sandbox import HandleSpec, Limits, open_sandbox
        sandbox = open_sandbox("auto")
        def handler(method, params):
            print(sandbox.zygote.proc.pid, sandbox.zygote.scratch_root, flush=True)
            time.sleep(60)
        source = ("def improve_algorithm(s, utility, language_model):\\n"
                  "    return str(utility(s))\\n")
        spec = HandleSpec("x", 1, "u", 1, 1)
        threading.Timer(1.5, lambda: os._exit(0)).start()
        sandbox.run_improver(source, spec, handler, seed=0, limits=Limits())
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", host], stdout=subprocess.PIPE, text=True)
    pid, root = proc.stdout.readline().split()
    family = [int(pid), *descendants(int(pid))]
    assert len(family) >= 2
    proc.wait(timeout=10)
    assert wait_gone(family) == []
    os.rmdir(root)  # the one thing a host killed outright leaves behind: an empty dir


def test_a_zygote_killed_from_outside_is_a_violation_then_replaced():
    sandbox = open_sandbox("auto")
    try:
        zygote = sandbox.zygote.proc.pid
        source = "def improve_algorithm(s, utility, language_model):\n    return str(utility(s))\n"

        def handler(method, params):
            os.kill(zygote, signal.SIGKILL)  # the outer child dies with it
            time.sleep(0.3)
            return {"score": 1.0, "uses": 1}

        run = sandbox.run_improver(source, SPEC, handler, seed=0, limits=LIMITS)
        assert run.status == "sandbox_violation", run
        again = sandbox.run_solution(
            "def f():\n    return 2\n", "f", [[]], instance_seconds=5, seed=0,
            array_args=False, limits=LIMITS,
        )  # fmt: skip
        assert again.outcomes[0].output == 2
        assert sandbox.zygote.proc.pid != zygote and sandbox.restarts == 1
    finally:
        sandbox.close()


def test_parallel_callers_share_one_sandbox():
    sandbox = open_sandbox("auto")
    errors = []

    def worker(i):
        for j in range(10):
            run = sandbox.run_solution(
                "def f(x):\n    return x + 1\n", "f", [[i * 100 + j]], instance_seconds=5,
                seed=0, array_args=False, limits=LIMITS,
            )  # fmt: skip
            if run.outcomes[0].output != i * 100 + j + 1:
                errors.append(run)

    try:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sandbox.close()
    assert errors == []


def test_a_forked_host_gets_its_own_zygote():
    sandbox = open_sandbox("auto")
    try:
        first = sandbox.zygote.proc.pid
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the forked host: must neither use nor kill the parent's zygote
            code = 1
            try:
                run = sandbox.run_solution(
                    "def f():\n    return 5\n", "f", [[]], instance_seconds=5, seed=0,
                    array_args=False, limits=LIMITS,
                )  # fmt: skip
                os.write(write, f"{run.outcomes[0].output} {sandbox.zygote.proc.pid}".encode())
                sandbox.close()
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        output, theirs = os.read(read, 100).decode().split()
        os.close(read)
        assert os.waitpid(pid, 0)[1] == 0
        assert output == "5" and int(theirs) != first
        run = sandbox.run_solution(
            "def f():\n    return 6\n", "f", [[]], instance_seconds=5, seed=0,
            array_args=False, limits=LIMITS,
        )  # fmt: skip
        assert run.outcomes[0].output == 6 and sandbox.zygote.proc.pid == first
    finally:
        sandbox.close()
