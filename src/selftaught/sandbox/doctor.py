"""`doctor_report()`: which isolation layers work on this machine, and what they cost.

Each layer is checked by effect, not only by being requested: a probe program runs in a
real zygote child and tries what the layer should stop (fork for seccomp, reading
/etc/passwd for Landlock, a finite CPU limit for rlimits).
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
import time
from typing import Any

from selftaught.sandbox import landlock
from selftaught.sandbox.api import Limits

PROBE = """
import os, resource

def _try(f):
    try:
        f()
        return "allowed"
    except Exception as exc:
        return type(exc).__name__

def _fork():
    if os.fork() == 0:
        os._exit(0)

def probe(cwd):
    return {
        "fork": _try(_fork),
        "read_etc": _try(lambda: open("/etc/passwd").read()),
        "list_cwd": _try(lambda: os.listdir(cwd)),
        "scratch_mb": os.statvfs(".").f_blocks * os.statvfs(".").f_frsize >> 20,
        "cpu_limit": resource.getrlimit(resource.RLIMIT_CPU)[1],
        "env": sorted(os.environ),
    }
"""
# What the "evaluator" profile must allow (the interpreter in a child) and still refuse.
PROFILE_PROBE = """
import os, subprocess, sys

def _run(argv):
    try:
        return "exit %d" % subprocess.run(argv, capture_output=True, timeout=20).returncode
    except Exception as exc:
        return type(exc).__name__

def _forks(limit=200):
    pids = []
    try:
        for _ in range(limit):
            pid = os.fork()
            if pid == 0:
                import time
                time.sleep(30)
                os._exit(0)
            pids.append(pid)
        return "%d, unbounded" % limit
    except OSError as exc:
        return "refused after %d (%s)" % (len(pids), type(exc).__name__)

def probe():
    return {
        "python_child": _run([sys.executable, "-c", "pass"]),
        "other_program": _run(["/bin/sh", "-c", "true"]),
        "setsid": _run([sys.executable, "-c", "import os; os.setsid()"]),
        "processes": _forks(),
    }
"""
TRIVIAL = "def algorithm(x):\n    return x * 2\n"
LIMITS = Limits(wall_seconds=10, cpu_seconds=5, memory_mb=512)


def report(runs: int = 30) -> dict[str, Any]:
    from selftaught.sandbox.host import ZygoteSandbox

    try:
        sandbox = ZygoteSandbox()
    except (OSError, RuntimeError) as exc:
        return {"machine": machine(), "zygote": {"ok": False, "why": str(exc)}}
    try:
        probe = sandbox.run_solution(
            PROBE, "probe", [[os.getcwd()]], instance_seconds=10, seed=0, array_args=False,
            limits=LIMITS,
        )  # fmt: skip
        overhead = measure(sandbox, runs)
        layers = _layers(sandbox, probe)
        profiles = _profiles(sandbox, probe.layers)
    finally:
        sandbox.close()
    return {
        "machine": machine(), "layers": layers, "profiles": profiles,
        "readable": readable(layers["landlock"]["ok"], probe), "zygote_overhead_ms": overhead,
    }  # fmt: skip


def readable(enforced: bool, probe: Any) -> dict[str, Any]:
    """What a child may read: the read-only roots where Landlock enforces them, else every file
    this user may read; and whether the probe could list the working directory."""
    from selftaught.sandbox.environment import read_only_paths

    outcome = probe.outcomes[0]
    seen = outcome.output if outcome.status == "ok" else {}
    if not enforced:
        return {"enforced": False, "roots": ["every file this user may read (no Landlock)"],
                "working_directory": seen.get("list_cwd")}  # fmt: skip
    return {"enforced": True, "roots": read_only_paths(),
            "working_directory": seen.get("list_cwd")}  # fmt: skip


def _profiles(sandbox: Any, strict_layers: list[str]) -> dict[str, dict[str, Any]]:
    """Per confinement profile (api.PROFILES): what it is for, and what the probe saw."""
    from selftaught.sandbox.api import PROFILES

    limits = Limits(wall_seconds=60, cpu_seconds=20, memory_mb=512, profile="evaluator")
    run = sandbox.run_solution(
        PROFILE_PROBE, "probe", [[]], instance_seconds=60, seed=0, array_args=False,
        limits=limits,
    )  # fmt: skip
    outcome = run.outcomes[0]
    seen = outcome.output if outcome.status == "ok" else {}
    bound = [name for name in ("pids_cgroup", "nproc") if name in run.layers]
    ok = (
        seen.get("python_child") == "exit 0"
        and seen.get("other_program") == "PermissionError"
        and "refused" in str(seen.get("processes"))
    )
    return {
        "strict": {"ok": "seccomp" in strict_layers, "about": PROFILES["strict"],
                   "used_by": "built-in and native tasks, every improver"},
        "evaluator": {
            "ok": ok, "about": PROFILES["evaluator"],
            "used_by": "evaluator-form tasks (OpenEvolve, ShinkaEvolve)",
            "process_bound": bound[0] if bound else "none (not root and no pids cgroup)",
            "probe": seen or {"status": outcome.status, "error": outcome.error},
        },
    }  # fmt: skip


def _layers(sandbox: Any, probe: Any) -> dict[str, dict[str, Any]]:
    outcome = probe.outcomes[0]
    seen = outcome.output if outcome.status == "ok" else {}
    active = set(probe.layers)

    def layer(name: str, works: bool, why: str) -> dict[str, Any]:
        ok = name in active and works
        return {"ok": ok, "why": why if ok else sandbox.why.get(name, why)}

    return {
        "zygote": {"ok": outcome.status == "ok", "why": outcome.error or "forks children"},
        "setsid": layer("setsid", True, "each child leads its own session"),
        "rlimits": layer(
            "rlimits", seen.get("cpu_limit", -1) >= 0, f"hard CPU limit {seen.get('cpu_limit')}"
        ),
        "netns": layer("netns", True, "the zygote is in an empty network namespace"),
        "tmpfs": layer("tmpfs", True, f"each child has a {seen.get('scratch_mb')} MB tmpfs"),
        "landlock": layer(
            "landlock",
            seen.get("read_etc") == "PermissionError",
            f"ABI {landlock.abi()}; reading /etc/passwd: {seen.get('read_etc')}",
        ),
        "seccomp": layer(
            "seccomp", seen.get("fork") == "PermissionError", f"fork: {seen.get('fork')}"
        ),
        "audit_hook": layer("audit_hook", True, "sys.addaudithook in each child"),
        "clean_env": {"ok": set(seen.get("env", [])) <= _ALLOWED_ENV, "why": str(seen.get("env"))},
    }


_ALLOWED_ENV = {
    "PATH", "LANG", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
    "MALLOC_ARENA_MAX", "TMPDIR", "HOME", "PYTHONHASHSEED",
}  # fmt: skip


def measure(sandbox: Any, runs: int, pause: float = 0.01) -> dict[str, float]:
    """Per-execution wall time of a trivial one-instance candidate, in ms, and its overhead
    over running it in-process. Runs are paced (`pause` s apart), as a caller doing other
    work between executions would call; back to back on 2 cores costs more (see the
    benchmark)."""
    times = []
    for _ in range(runs + 3):
        start = time.perf_counter()
        sandbox.run_solution(
            TRIVIAL, "algorithm", [[21]], instance_seconds=5, seed=0, array_args=False,
            limits=LIMITS,
        )  # fmt: skip
        times.append((time.perf_counter() - start) * 1000)
        time.sleep(pause)
    times = sorted(times[3:])  # the first runs warm the zygote's caches
    floor = _in_process_ms()
    median = statistics.median(times)
    return {
        "median": round(median, 3),
        "p90": round(times[max(0, math.ceil(0.9 * len(times)) - 1)], 3),
        "in_process_floor": round(floor, 3),
        "overhead": round(median - floor, 3),
        "runs": runs,
    }


def _in_process_ms(runs: int = 30) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        namespace: dict[str, Any] = {}
        exec(compile(TRIVIAL, "<candidate>", "exec"), namespace)
        json.dumps(namespace["algorithm"](21))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "root": os.geteuid() == 0,
    }
