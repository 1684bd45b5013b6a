"""A pids cgroup per child under the "evaluator" profile: a bound on its processes that root
cannot lift (RLIMIT_NPROC binds only a non-root uid), and a way to kill all of them.

The zygote (never a child: a child's Landlock hides cgroupfs) makes the cgroup when it hands
a pre-forked child its job, before the child can start anything, and removes it when the
child has been reaped, killing whatever is left inside. Where no pids controller is writable
(not root, no cgroup v1 `pids` hierarchy and no delegated v2 one) `enter` returns False and
the child falls back to RLIMIT_NPROC or records no bound (`confine._bound_processes`).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from selftaught.sandbox.limits import MAX_PROCESSES

ROOTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")  # cgroup v1's pids hierarchy, then v2
_made: dict[int, str] = {}  # child pid -> its cgroup directory


def available() -> str | None:
    """The hierarchy a cgroup would be made in, or None."""
    for root in ROOTS:
        if os.access(os.path.join(root, "cgroup.procs"), os.W_OK) and _has_pids(root):
            return root
    return None


def _has_pids(root: str) -> bool:
    if os.path.exists(os.path.join(root, "pids.max")) or root.endswith("/pids"):
        return True
    try:  # v2: the controller must be enabled for children
        with open(os.path.join(root, "cgroup.subtree_control")) as f:
            return "pids" in f.read().split()
    except OSError:
        return False


def enter(pid: int, limits: dict[str, Any]) -> bool:
    """Put `pid` in a fresh pids cgroup capped at `max_processes`; False when impossible."""
    root = available()
    if root is None:
        return False
    path = os.path.join(root, f"selftaught-{os.getpid()}-{pid}")
    try:
        os.mkdir(path)
        _write(os.path.join(path, "pids.max"), str(int(limits.get("max_processes", MAX_PROCESSES))))
        _write(os.path.join(path, "cgroup.procs"), str(pid))
    except OSError:
        _rmdir(path)
        return False
    _made[pid] = path
    return True


def remove(pid: int) -> None:
    """Kill every process left in `pid`'s cgroup, then remove it."""
    path = _made.pop(pid, None)
    if path is None:
        return
    for _attempt in range(50):
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                pids = [int(p) for p in f.read().split()]
        except OSError:
            break
        if not pids:
            break
        for member in pids:
            try:
                os.kill(member, signal.SIGKILL)
            except OSError:
                pass
        _pause()
    _rmdir(path)


def _pause() -> None:
    """Let the kernel finish the kills (a killed process leaves its cgroup as it exits)."""
    time.sleep(0.001)


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _rmdir(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass
