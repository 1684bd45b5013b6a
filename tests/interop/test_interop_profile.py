"""The sandbox's "evaluator" confinement profile, against the real sandbox (docs/tasks.md).

An evaluator-form task's evaluator may start child Python processes; the candidate is still
untrusted, so those children still have no network, no writes outside scratch, the same
limits, a bounded number of processes, and are all killed when the evaluation ends. Built-in
tasks keep the strict profile, in which no process at all can be started.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from selftaught.sandbox import Limits, open_sandbox

STRICT = Limits(wall_seconds=30, cpu_seconds=10, memory_mb=512)
EVALUATOR = Limits(wall_seconds=30, cpu_seconds=10, memory_mb=512, profile="evaluator")

PROBE = r'''
import os, subprocess, sys

def _run(argv):
    try:
        done = subprocess.run(argv, capture_output=True, timeout=20)
        return [done.returncode, done.stdout.decode()[-200:], done.stderr.decode()[-300:]]
    except Exception as exc:
        return type(exc).__name__

CHILD = """
import os, socket
out = []
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2); out.append("connected")
except OSError as exc:
    out.append(type(exc).__name__)
try:
    open("/tmp/selftaught-profile-probe", "w").write("x"); out.append("wrote /tmp")
except OSError as exc:
    out.append(type(exc).__name__)
open("mine.txt", "w").write("ok")  # its scratch dir (the cwd) is writable
out.append(open("mine.txt").read())
print(",".join(out))
"""

def probe(what):
    if what == "python":
        return _run([sys.executable, "-c", CHILD])
    if what == "shell":
        return _run(["/bin/sh", "-c", "echo escaped"])
    if what == "setsid":
        return _run([sys.executable, "-c", "import os; os.setsid()"])
    if what == "forks":
        count = 0
        try:
            for _ in range(300):
                if os.fork() == 0:
                    import time
                    time.sleep(60)
                    os._exit(0)
                count += 1
        except OSError as exc:
            return ["refused", count, type(exc).__name__]
        return ["unbounded", count]
    if what == "leave_behind":
        code = "import time; time.sleep(120)  # selftaught-left-behind"
        return ["started", subprocess.Popen([sys.executable, "-c", code]).pid]
'''


@pytest.fixture(scope="module")
def sandbox():
    box = open_sandbox("auto")
    yield box
    box.close()


def run(sandbox, what, limits):
    result = sandbox.run_solution(
        PROBE, "probe", [[what]], instance_seconds=25, seed=0, array_args=False, limits=limits
    )
    return result.outcomes[0], result


def _needs_seccomp(result):
    if "seccomp" not in result.layers:
        pytest.skip("seccomp is not available here, so the strict profile cannot be compared")


def test_the_strict_profile_starts_no_process(sandbox):
    outcome, result = run(sandbox, "python", STRICT)
    _needs_seccomp(result)
    assert outcome.status == "ok" and outcome.output == "PermissionError"
    assert "profile:evaluator" not in result.layers
    assert any("subprocess.Popen" in line for line in result.audit)  # still worth a record


def test_the_evaluator_profile_runs_python_children_confined(sandbox):
    outcome, result = run(sandbox, "python", EVALUATOR)
    assert outcome.status == "ok", outcome.error
    code, out, err = outcome.output
    assert code == 0, err
    network, outside, inside = out.strip().split(",")
    # seccomp refuses socket() (PermissionError); without it the empty netns (OSError).
    assert network in ("PermissionError", "OSError") and outside == "PermissionError"
    assert inside == "ok"
    assert not os.path.exists("/tmp/selftaught-profile-probe")
    assert "profile:evaluator" in result.layers
    # The evaluator's own subprocess is what this profile allows: no audit entry for it.
    assert not any("subprocess.Popen" in line for line in result.audit)


def test_the_evaluator_profile_executes_nothing_but_the_interpreter(sandbox):
    outcome, result = run(sandbox, "shell", EVALUATOR)
    if "landlock" not in result.layers:
        pytest.skip("Landlock is not available here: nothing limits what may be executed")
    assert outcome.output == "PermissionError"


def test_the_evaluator_profile_keeps_every_process_in_its_group(sandbox):
    outcome, result = run(sandbox, "setsid", EVALUATOR)
    _needs_seccomp(result)
    code, _out, err = outcome.output
    assert code != 0 and "PermissionError" in err


def test_the_evaluator_profile_bounds_the_number_of_processes(sandbox):
    outcome, result = run(sandbox, "forks", EVALUATOR)
    if not {"pids_cgroup", "nproc"} & set(result.layers):
        pytest.skip("no process bound here: root without a writable pids cgroup")
    assert outcome.status == "ok", outcome.error
    verdict, count = outcome.output[:2]
    assert verdict == "refused" and count < 64


def _alive(pid: int) -> bool:
    """Whether the sleeper `pid` still runs: present, and neither a zombie nor SIGKILLed. A
    SIGKILLed process can stay listed for seconds while the kernel tears it down (seen here:
    state D in synchronize_rcu_expedited); it runs no more code, so it counts as dead."""
    try:
        if b"selftaught-left-behind" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return False  # gone (or its pid already reused)
        return not _killed(pid)
    except OSError:
        return False


def _killed(pid: int) -> bool:
    """A zombie, or SIGKILL pending (bit 9 of the pending masks)."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":\t", 1) for line in status if ":\t" in line)
    pending = int(fields.get("SigPnd", "0"), 16) | int(fields.get("ShdPnd", "0"), 16)
    return fields.get("State", "").startswith("Z") or bool(pending & (1 << (signal.SIGKILL - 1)))


def _described(pid: int, parent: bool = True) -> str:
    """What the kernel says of a process (state, signals pending, where it waits, group,
    pids cgroup), and of its parent."""
    proc = Path(f"/proc/{pid}")
    try:
        status = (proc / "status").read_text().splitlines()
        stat = (proc / "stat").read_text().rpartition(")")[2].split()
        pids = [c for c in (proc / "cgroup").read_text().split() if ":pids:" in c]
        wchan = (proc / "wchan").read_text()
        command = (proc / "cmdline").read_bytes().replace(b"\0", b" ")[:80].decode()
    except OSError:
        return f"{pid}: gone"
    keys = ("State:", "SigPnd:", "ShdPnd:")
    state = " ".join(line.replace("\t", " ") for line in status if line.startswith(keys))
    text = f"{pid} [{command}] {state} wchan {wchan} pgrp {stat[2]} cgroup {pids}"
    return f"{text}; parent {_described(int(stat[1]), False)}" if parent else text


def test_everything_an_evaluation_started_dies_with_it(sandbox):
    outcome, _result = run(sandbox, "leave_behind", EVALUATOR)
    assert outcome.status == "ok" and outcome.output[0] == "started"
    pid = outcome.output[1]  # the sleeper's, from inside: no pid namespace between us
    # It sleeps 120 s, so gone or killed within 20 s means killed with the evaluation. The
    # wait is long because the zygote, which kills what an exited child left, can itself sit
    # for seconds in the kernel (state D) while earlier children's namespaces are torn down.
    deadline = time.monotonic() + 20
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), _described(pid)


def test_doctor_shows_both_profiles():
    from selftaught.sandbox.doctor import report

    found = report(runs=1)
    profiles = found["profiles"]
    assert set(profiles) == {"strict", "evaluator"}
    probe = profiles["evaluator"]["probe"]
    assert probe["python_child"] == "exit 0", probe
    if found["layers"]["seccomp"]["ok"]:
        assert probe["setsid"] != "exit 0"
    if found["layers"]["landlock"]["ok"]:
        assert probe["other_program"] == "PermissionError"
    bounded = profiles["evaluator"]["process_bound"] in ("pids_cgroup", "nproc")
    assert bounded == probe["processes"].startswith("refused")
