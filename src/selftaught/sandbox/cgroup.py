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
_pending: set[str] = set()  # removed children's cgroups not yet empty


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


def sweep() -> None:
    """Remove empty cgroups left by zygotes that died before removing them (SIGKILL)."""
    root = available()
    if root is None:
        return
    for name in os.listdir(root):
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == "selftaught" and parts[1].isdigit():
            if not os.path.exists(f"/proc/{parts[1]}"):
                _rmdir(os.path.join(root, name))  # fails, harmlessly, while not empty


def member() -> bool:
    """Whether this process is in a cgroup made by `enter` (read before Landlock)."""
    try:
        with open("/proc/self/cgroup") as f:
            return any("pids" in line and "/selftaught-" in line for line in f)
    except OSError:
        return False


def remove(pid: int) -> None:
    """Kill every process left in `pid`'s cgroup and remove it; a cgroup whose killed
    members have not finished exiting is retried at the next call (never waited for here:
    the zygote serves every other child meanwhile)."""
    path = _made.pop(pid, None)
    if path is not None:
        _pending.add(path)
    for waiting in list(_pending):
        if _kill_members(waiting) == 0 and _rmdir(waiting):
            _pending.discard(waiting)


def drain(seconds: float = 2.0) -> None:
    """At exit: wait (bounded) for the pending cgroups to empty, and remove them."""
    deadline = time.monotonic() + seconds
    while _pending and time.monotonic() < deadline:
        remove(-1)
        time.sleep(0.01)


def _kill_members(path: str) -> int:
    """SIGKILL each member; returns how many there were."""
    try:
        with open(os.path.join(path, "cgroup.procs")) as f:
            pids = [int(p) for p in f.read().split()]
    except OSError:
        return 0
    for member in pids:
        try:
            os.kill(member, signal.SIGKILL)
        except OSError:
            pass
        try:  # a zombie stays a member until reaped; orphans were reparented to the zygote
            os.waitpid(member, os.WNOHANG)
        except ChildProcessError:
            pass
    return len(pids)


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _rmdir(path: str) -> bool:
    try:
        os.rmdir(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True
