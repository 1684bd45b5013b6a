"""Hostile programs against the real sandbox: each case checks containment and the outcome.

Every case runs in real processes (no mocks) under "auto" (zygote, all layers) and, where it
makes sense, "subprocess" (fresh interpreters). After each case a normal run must still work.
A secret put into the host's environment before any sandbox starts must never come back.
"""

from __future__ import annotations

import os
import signal
import socket
import time

import numpy
import pytest

SECRET = "SELFTAUGHT_TEST_SECRET"
SECRET_VALUE = "s3cr3t-7f1c2d"
os.environ[SECRET] = SECRET_VALUE  # before any sandbox process exists

from selftaught.sandbox import Limits, open_sandbox  # noqa: E402

FAST = Limits(wall_seconds=10, cpu_seconds=1, memory_mb=256, output_bytes=1_000_000)
BOTH = ["auto", "subprocess"]
HONEST = "def f(x):\n    return x * 2\n"


@pytest.fixture(scope="module")
def sandboxes():
    opened = {mode: open_sandbox(mode) for mode in ("auto", "subprocess", "zygote-rlimits")}
    yield opened
    for sandbox in opened.values():
        sandbox.close()


def run(sandbox, source, inputs=((),), *, limits=FAST, instance_seconds=5.0, entry="f"):
    result = sandbox.run_solution(
        source,
        entry,
        [list(i) for i in inputs],
        instance_seconds=instance_seconds,
        seed=7,
        array_args=False,
        limits=limits,
    )
    assert SECRET_VALUE not in repr(result)
    return result


def still_works(sandbox):
    result = run(sandbox, HONEST, [[21]])
    assert [(o.status, o.output) for o in result.outcomes] == [("ok", 42)]


def only(result):
    (outcome,) = result.outcomes
    return outcome


@pytest.fixture(params=BOTH)
def sandbox(request, sandboxes):
    sb = sandboxes[request.param]
    yield sb
    still_works(sb)


def test_layers_are_recorded(sandboxes):
    result = run(sandboxes["auto"], HONEST, [[1]])
    assert {"zygote", "setsid", "rlimits", "landlock", "seccomp", "audit_hook"} <= set(
        result.layers
    )
    result = run(sandboxes["subprocess"], HONEST, [[1]])
    assert {"subprocess", "setsid", "rlimits"} <= set(result.layers)
    assert run(sandboxes["zygote-rlimits"], HONEST, [[1]]).layers == [
        "zygote",
        "setsid",
        "rlimits",
    ]


def test_infinite_loop_hits_cpu_limit(sandbox):
    outcome = only(run(sandbox, "def f():\n    while True:\n        pass\n"))
    assert outcome.status == "cpu_limit"


def test_sleep_is_a_timeout_and_the_rest_still_runs(sandbox):
    source = "import time\ndef f(x):\n    if x == 0:\n        time.sleep(100)\n    return x\n"
    result = run(sandbox, source, [[0], [1], [2]], instance_seconds=0.5)
    assert [o.status for o in result.outcomes] == ["timeout", "ok", "ok"]
    assert [o.output for o in result.outcomes[1:]] == [1, 2]
    assert "waiting, not computing" in result.outcomes[0].error  # it used no CPU
    assert result.outcomes[0].seconds < 0.4  # CPU seconds


def test_an_instance_is_limited_by_the_cpu_time_it_used(sandbox):
    source = "def f(x):\n    while x == 0:\n        pass\n    return x\n"
    result = run(sandbox, source, [[0], [1]], instance_seconds=0.5)
    assert [o.status for o in result.outcomes] == ["timeout", "ok"]
    assert "CPU limit" in result.outcomes[0].error
    assert 0.5 <= result.outcomes[0].seconds < 1.5


def test_wall_limit_of_the_run(sandboxes):
    source = "import time\ndef f(x):\n    time.sleep(0.4)\n    return x\n"
    limits = Limits(wall_seconds=1.0, cpu_seconds=1, memory_mb=256)
    result = run(sandboxes["auto"], source, [[i] for i in range(6)], limits=limits)
    statuses = [o.status for o in result.outcomes]
    assert statuses[:2] == ["ok", "ok"] and set(statuses[2:]) == {"timeout"}


@pytest.mark.parametrize(
    "bomb", ["bytearray(2 << 30)", "[bytearray(10 << 20) for _ in range(1000)]"]
)
def test_memory_bomb(sandbox, bomb):
    outcome = only(run(sandbox, f"def f():\n    return len({bomb})\n"))
    assert outcome.status == "memory_limit"


def test_fork_bomb_is_refused(sandbox):
    source = "import os\ndef f():\n    while True:\n        os.fork()\n"
    outcome = only(run(sandbox, source))
    assert outcome.status == "sandbox_violation" and "PermissionError" in outcome.error


def test_double_fork_and_setsid_cannot_escape(sandbox, tmp_path):
    marker = tmp_path / "escaped"
    source = (
        "import os, time\n"
        "def f(path):\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(1)\n"
        "            open(path, 'w').write('out')\n"
        "        os._exit(0)\n"
        "    return 'parent'\n"
    )
    outcome = only(run(sandbox, source, [[str(marker)]]))
    assert outcome.status == "sandbox_violation" and "PermissionError" in outcome.error
    time.sleep(1.2)
    assert not marker.exists()


def test_subprocess_and_os_system(sandbox, tmp_path):
    marker = tmp_path / "pwned"
    source = (
        "import os, subprocess\n"
        "def f(path):\n"
        "    code = os.system('touch ' + path)\n"
        "    try:\n"
        "        subprocess.run(['touch', path])\n"
        "    except OSError as exc:\n"
        "        return [code, type(exc).__name__]\n"
        "    return [code, 'ran']\n"
    )
    result = run(sandbox, source, [[str(marker)]])
    outcome = only(result)
    assert outcome.status == "ok" and outcome.output[1] == "PermissionError"
    assert outcome.output[0] != 0
    assert not marker.exists()
    assert any(entry.startswith("subprocess.Popen") for entry in result.audit)
    assert any(entry.startswith("os.system") for entry in result.audit)


def test_tcp_to_a_loopback_listener_gets_nowhere(sandbox):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    source = (
        "import socket\n"
        "def f(port):\n"
        "    s = socket.create_connection(('127.0.0.1', port), timeout=2)\n"
        "    s.sendall(b'stolen')\n"
        "    return 'sent'\n"
    )
    try:
        outcome = only(run(sandbox, source, [[port]]))
        assert outcome.status == "sandbox_violation" and "PermissionError" in outcome.error
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()


def test_host_files_cannot_be_read(sandbox, tmp_path):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET_VALUE)
    source = (
        "def f(path):\n"
        "    found = []\n"
        "    for p in ['/etc/shadow', path, '/proc/1/environ', '/proc/self/environ']:\n"
        "        try:\n"
        "            found.append(open(p).read())\n"
        "        except OSError as exc:\n"
        "            found.append(type(exc).__name__)\n"
        "    return found\n"
    )
    outcome = only(run(sandbox, source, [[str(secret_file)]]))
    assert outcome.status == "ok"
    assert outcome.output == ["PermissionError"] * 4


def test_environment_is_scrubbed(sandbox):
    outcome = only(run(sandbox, "import os\ndef f():\n    return dict(os.environ)\n"))
    assert outcome.status == "ok"
    assert SECRET not in outcome.output
    assert set(outcome.output) <= {
        "PATH", "LANG", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
        "MALLOC_ARENA_MAX", "TMPDIR", "HOME", "PYTHONHASHSEED",
    }  # fmt: skip


def test_writes_only_inside_scratch(sandbox, tmp_path):
    target = tmp_path / "written"
    source = (
        "def f(path):\n"
        "    open('mine.txt', 'w').write('ok')\n"
        "    mine = open('mine.txt').read()\n"
        "    try:\n"
        "        open(path, 'w').write('bad')\n"
        "        return [mine, 'wrote']\n"
        "    except OSError as exc:\n"
        "        return [mine, type(exc).__name__]\n"
    )
    result = run(sandbox, source, [[str(target)]])
    assert only(result).output == ["ok", "PermissionError"]
    assert not target.exists()
    assert any(entry.startswith("open for write") for entry in result.audit)


def test_signals_to_the_host_are_refused(sandbox):
    received = []
    previous = signal.signal(signal.SIGUSR1, lambda *_: received.append(1))
    source = (
        "import os, signal\n"
        "def f(host):\n"
        "    out = []\n"
        "    for pid in (host, os.getppid()):\n"
        "        try:\n"
        "            os.kill(pid, signal.SIGUSR1)\n"
        "            out.append('sent')\n"
        "        except OSError as exc:\n"
        "            out.append(type(exc).__name__)\n"
        "    return out\n"
    )
    try:
        outcome = only(run(sandbox, source, [[os.getpid()]]))
        time.sleep(0.1)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert outcome.output == ["PermissionError", "PermissionError"]
    assert received == []


def test_killing_the_zygote_is_refused(sandboxes):
    source = "import os\ndef f():\n    os.kill(os.getppid(), 9)\n    return 'killed'\n"
    outcome = only(run(sandboxes["auto"], source))
    assert outcome.status == "sandbox_violation" and "PermissionError" in outcome.error
    still_works(sandboxes["auto"])


def test_rlimits_only_zygote_dies_is_recorded_and_restarted(sandboxes):
    sandbox = sandboxes["zygote-rlimits"]
    source = "import os, time\ndef f():\n    os.kill(os.getppid(), 9)\n    time.sleep(5)\n"
    outcome = only(run(sandbox, source))
    assert outcome.status == "sandbox_violation"
    still_works(sandbox)
    assert sandbox.restarts == 1


def test_ignoring_sigxcpu_setrlimit_and_prctl_tricks_still_hit_cpu_limit(sandbox):
    source = (
        "import ctypes, os, resource, signal\n"
        "def f():\n"
        "    signal.signal(signal.SIGXCPU, signal.SIG_IGN)\n"
        "    for which in (resource.RLIMIT_CPU, resource.RLIMIT_AS):\n"
        "        try:\n"
        "            resource.setrlimit(which, (resource.RLIM_INFINITY,) * 2)\n"
        "        except (OSError, ValueError):\n"
        "            pass\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    libc.prctl(22, 0, 0, 0, 0)\n"  # PR_SET_SECCOMP off: impossible
        "    libc.prctl(1, 0, 0, 0, 0)\n"  # PR_SET_PDEATHSIG off: refused
        "    while True:\n"
        "        pass\n"
    )
    result = run(sandbox, source)
    assert only(result).status == "cpu_limit"
    assert any(entry.startswith("resource.setrlimit") for entry in result.audit)


def test_ctypes_cannot_fork_or_kill(sandbox):
    source = (
        "import ctypes, os\n"
        "def f():\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    return [libc.fork(), libc.kill(os.getppid(), 9), libc.syscall(57)]\n"
    )
    result = run(sandbox, source)
    assert only(result).output == [-1, -1, -1]
    assert any(entry.startswith("ctypes.") for entry in result.audit)


def test_a_hundred_threads(sandbox):
    source = (
        "import threading, time\n"
        "def f():\n"
        "    done = []\n"
        "    threads = [threading.Thread(target=lambda: (time.sleep(0.01), done.append(1)))\n"
        "               for _ in range(100)]\n"
        "    for t in threads: t.start()\n"
        "    for t in threads: t.join()\n"
        "    return len(done)\n"
    )
    assert only(run(sandbox, source, limits=Limits(cpu_seconds=2, memory_mb=1024))).output == 100


def test_threads_left_running_are_gone(sandboxes, tmp_path):
    source = (
        "import threading\n"
        "def spin():\n"
        "    while True:\n"
        "        pass\n"
        "def f():\n"
        "    threading.Thread(target=spin, daemon=False).start()\n"
        "    return 1\n"
    )
    sandbox = sandboxes["auto"]
    started = time.perf_counter()
    assert only(run(sandbox, source)).output == 1
    assert time.perf_counter() - started < 0.5  # the reply does not wait for the thread


def test_huge_output(sandbox):
    source = "def f(n):\n    return 'x' * n\n"
    result = run(sandbox, source, [[5_000_000], [3]])
    assert [o.status for o in result.outcomes] == ["output_too_large", "ok"]
    assert result.outcomes[1].output == "xxx"


@pytest.mark.parametrize(
    "expr",
    ["float('nan')", "float('inf')", "[1.0, -float('inf')]", "{1, 2}", "object()",
     "numpy.array([numpy.nan])", "{1: 2}", "b'bytes'"],
)  # fmt: skip
def test_non_json_outputs_are_errors(sandboxes, expr):
    outcome = only(run(sandboxes["auto"], f"import numpy\ndef f():\n    return {expr}\n"))
    assert outcome.status == "error" and outcome.error == "output is not JSON data"


def test_numpy_outputs_become_plain_json(sandboxes):
    source = (
        "import numpy\n"
        "def f():\n"
        "    return [numpy.arange(3), numpy.int64(4), numpy.float32(0.5), (1, 2), numpy.bool_(1)]\n"
    )
    assert only(run(sandboxes["auto"], source)).output == [[0, 1, 2], 4, 0.5, [1, 2], True]


def test_an_object_that_equals_everything_is_not_an_answer(sandbox):
    source = (
        "class Yes(list):\n"
        "    def __eq__(self, other):\n"
        "        return True\n"
        "class Always:\n"
        "    def __eq__(self, other):\n"
        "        return True\n"
        "def f(x):\n"
        "    return Yes([0]) if x else Always()\n"
    )
    result = run(sandbox, source, [[1], [0]])
    first, second = result.outcomes
    assert first.status == "ok" and first.output == [0] and type(first.output) is list
    assert second.status == "error"


def test_patching_numpy_and_time_changes_nothing_in_the_host(sandbox):
    source = (
        "import numpy, time, random\n"
        "def f(x):\n"
        "    numpy.array_equal = lambda *a, **k: True\n"
        "    numpy.allclose = lambda *a, **k: True\n"
        "    time.time = lambda: 0.0\n"
        "    time.perf_counter = lambda: 0.0\n"
        "    random.random = lambda: 0.0\n"
        "    return x * 2\n"
    )
    result = run(sandbox, source, [[3]])
    assert only(result).output == 6
    assert not numpy.array_equal([1], [2])
    assert time.time() > 1e9


def test_exit_without_result(sandbox):
    source = "import os, sys\ndef f(x):\n    if x == 0:\n        os._exit(0)\n    return x\n"
    result = run(sandbox, source, [[0], [5]])
    assert [o.status for o in result.outcomes] == ["no_result", "ok"]


def test_sys_exit_is_a_per_instance_error(sandboxes):
    source = "import sys\ndef f(x):\n    if x == 0:\n        sys.exit(3)\n    return x\n"
    result = run(sandboxes["auto"], source, [[0], [5]])
    assert [o.status for o in result.outcomes] == ["error", "ok"]


def test_killed_by_a_signal(sandboxes):
    source = "import os, signal\ndef f():\n    os.kill(os.getpid(), signal.SIGSEGV)\n"
    outcome = only(run(sandboxes["auto"], source))
    assert outcome.status == "killed" and "SIGSEGV" in outcome.error


def test_syntax_error_and_missing_entry_fail_every_instance(sandboxes):
    result = run(sandboxes["auto"], "def f(:\n", [[1], [2]])
    assert [o.status for o in result.outcomes] == ["error", "error"]
    assert "SyntaxError" in result.outcomes[0].error
    result = run(sandboxes["auto"], "def g():\n    pass\n", [[1]])
    assert "no function named 'f'" in only(result).error


def test_seeding_and_array_args(sandboxes):
    source = (
        "import random, numpy\n"
        "def f(a):\n"
        "    return [type(a).__name__, a.shape[0], random.random(), float(numpy.random.rand())]\n"
    )
    sandbox = sandboxes["auto"]
    first = sandbox.run_solution(
        source, "f", [[[1, 2]], [[3, 4, 5]]], instance_seconds=5, seed=10, array_args=True,
        limits=FAST,
    )  # fmt: skip
    again = sandbox.run_solution(
        source, "f", [[[3, 4, 5]]], instance_seconds=5, seed=11, array_args=True, limits=FAST
    )
    import random

    random.seed(11)
    numpy.random.seed(11)
    expected = ["ndarray", 3, random.random(), float(numpy.random.rand())]
    assert first.outcomes[1].output == expected == again.outcomes[0].output


def test_several_children_alive_at_once(sandboxes):
    import threading

    source = "import time\ndef f(x):\n    time.sleep(0.3)\n    return x\n"
    results = {}

    def worker(i):
        results[i] = run(sandboxes["auto"], source, [[i]])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.perf_counter() - started < 1.5
    assert [only(results[i]).output for i in range(6)] == list(range(6))


def test_kill_everyone_ipc_and_realtime_are_refused(sandbox):
    # kill(-1) reports success even when every target refused (EPERM is skipped), so the
    # test watches for the signal: SIGCONT, harmless to every process on the machine.
    received = []
    previous = signal.signal(signal.SIGCONT, lambda *_: received.append(1))
    source = (
        "import ctypes, os, signal\n"
        "def f():\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    out = [libc.kill(-1, signal.SIGCONT)]\n"
        "    out.append(libc.shmget(0, 1 << 20, 0o1600))\n"  # IPC_PRIVATE | IPC_CREAT
        "    try:\n"
        "        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))\n"
        "        out.append('realtime')\n"
        "    except OSError as exc:\n"
        "        out.append(type(exc).__name__)\n"
        "    return out\n"
    )
    try:
        outcome = only(run(sandbox, source))
        time.sleep(0.1)
    finally:
        signal.signal(signal.SIGCONT, previous)
    assert outcome.output[1:] == [-1, "PermissionError"]
    assert received == []


def test_scratch_space_is_capped(sandboxes):
    source = (
        "def f():\n"
        "    chunk = b'x' * (8 << 20)\n"
        "    written = 0\n"
        "    try:\n"
        "        for i in range(100):\n"
        "            with open(f'file{i}', 'wb') as out:\n"
        "                for _ in range(4):\n"
        "                    out.write(chunk)\n"
        "                    written += len(chunk)\n"
        "    except OSError as exc:\n"
        "        return [written >> 20, exc.errno]\n"
        "    return [written >> 20, 0]\n"
    )
    outcome = only(run(sandboxes["auto"], source, limits=Limits(cpu_seconds=5, memory_mb=256)))
    assert outcome.status == "ok"
    megabytes, errno = outcome.output
    assert megabytes <= 256 and errno == 28  # ENOSPC


def test_array_arguments_arrive_as_writable_arrays(sandboxes):
    source = (
        "import numpy\n"
        "def f(a, b):\n"
        "    kinds = [type(a).__name__, str(getattr(a, 'dtype', '')), type(b).__name__]\n"
        "    if isinstance(a, numpy.ndarray):\n"
        "        a.flat[0] = 7\n"
        "    return [kinds, a.tolist() if isinstance(a, numpy.ndarray) else a]\n"
    )
    sandbox = sandboxes["auto"]
    inputs = [
        [numpy.array([[1, 2], [3, 4]], dtype=numpy.int32), [1, 2]],
        [[[0.5, 1.5]], [1, [2]]],  # a float array; a ragged list stays a list
    ]
    result = sandbox.run_solution(
        source, "f", inputs, instance_seconds=5, seed=0, array_args=True, limits=FAST
    )
    assert [o.output for o in result.outcomes] == [
        [["ndarray", "int32", "ndarray"], [[7, 2], [3, 4]]],
        [["ndarray", "float64", "list"], [[7.0, 1.5]]],
    ]
    plain = sandbox.run_solution(
        source, "f", [[[1, 2], [3]]], instance_seconds=5, seed=0, array_args=False, limits=FAST
    )
    assert plain.outcomes[0].output == [["list", "", "list"], [1, 2]]
    assert inputs[0][0][0, 0] == 1  # the host's arrays are untouched


def test_string_hashing_is_the_same_in_every_child(sandboxes):
    source = "def f():\n    return [hash('selftaught'), list({'a', 'b', 'c', 'd', 'e'})]\n"
    fresh = open_sandbox("auto")
    try:
        outputs = [only(run(sb, source)).output for sb in (sandboxes["auto"], fresh)]
        outputs.append(only(run(sandboxes["subprocess"], source)).output)
    finally:
        fresh.close()
    assert outputs[0] == outputs[1] == outputs[2]


def test_temporary_files_go_to_scratch(sandbox):
    source = (
        "import os, tempfile\n"
        "def f():\n"
        "    with tempfile.NamedTemporaryFile() as t:\n"
        "        t.write(b'x')\n"
        "        return os.path.dirname(t.name) == os.getcwd()\n"
    )
    assert only(run(sandbox, source)).output is True
