"""The fallback `api.Sandbox`: a fresh `python -s -S -P` child per execution.

Slower than the zygote (a new interpreter importing numpy each time) but needs nothing but
fork/exec. Each child starts in a new session with a clean environment and its own scratch
dir, confines itself with whatever layers of the plan work here (`fresh.py`), and is killed
by process group and reaped in the background once its result is in.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import weakref

from selftaught.sandbox import cgroup, environment, protocol, runs
from selftaught.sandbox.api import Limits
from selftaught.sandbox.driver import ExitInfo

_OPEN: weakref.WeakSet = weakref.WeakSet()  # closed at interpreter exit if the caller forgot


@atexit.register
def _close_open() -> None:
    for sandbox in list(_OPEN):
        sandbox.close()


class FreshChild:
    """One fresh interpreter (implements `driver.Child`)."""

    def __init__(self, plan: str, limits: Limits):
        self.scratch = tempfile.mkdtemp(prefix="selftaught-")
        host_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        cmd = environment.command("fresh", plan, str(child_end.fileno()), self.scratch)
        self.proc = subprocess.Popen(
            cmd,
            env=environment.clean_env(),
            pass_fds=[child_end.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.scratch,
        )
        child_end.close()
        self.pid = self.proc.pid
        # The evaluator profile's process bound, as the zygote gives it (see `cgroup`): in
        # place before the job (the only untrusted part) is sent.
        if limits.profile == "evaluator":
            cgroup.enter(self.pid, {})
        self.sock = host_end
        self.reader = protocol.Reader(host_end, limits.output_bytes)
        self.lock = threading.Lock()
        self.info: ExitInfo | None = None

    def kill(self) -> None:
        with self.lock:
            if self.info is None:  # never signal a pid we have reaped: it may be reused
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except OSError:
                    pass

    def exit_info(self, timeout: float) -> ExitInfo | None:
        if self.info is None and _wait_readable(self.pid, timeout):
            self._reap()
        return self.info

    def _reap(self) -> None:
        with self.lock:
            if self.info is not None:
                return
            try:
                os.killpg(self.pid, signal.SIGKILL)  # leftovers, while the zombie pins the group
            except OSError:
                pass
            _pid, status, usage = os.wait4(self.pid, 0)
            cgroup.remove(self.pid)
            self.proc.returncode = status
            self.info = ExitInfo(
                code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                signal=os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                cpu=usage.ru_utime + usage.ru_stime,
                maxrss_kb=usage.ru_maxrss,
            )
            shutil.rmtree(self.scratch, ignore_errors=True)  # under the lock: done when reaped

    def release(self) -> None:
        """Reply first: kill now, reap in the background."""
        self.sock.close()
        self.kill()
        threading.Thread(target=self._reap, name="selftaught-reap", daemon=True).start()


def _wait_readable(pid: int, timeout: float) -> bool:
    """Wait for `pid` to exit (a pidfd turns readable), without reaping it."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return True  # already reaped or no pidfd support: wait4 will tell
    try:
        poller = select.poll()  # not select(): the host may hold more than 1024 fds
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(max(0, int(timeout * 1000))))
    finally:
        os.close(fd)


class SubprocessSandbox(runs.Runner):
    """`api.Sandbox` with one fresh interpreter per execution."""

    def __init__(self, layers: tuple[str, ...] = environment.LAYERS):
        self.plan = json.dumps(environment.plan(layers))
        self.layers = ["subprocess", "setsid", "rlimits", *layers]
        self.children: weakref.WeakSet[FreshChild] = weakref.WeakSet()
        _OPEN.add(self)

    def spawn(self, limits: Limits) -> FreshChild:
        child = FreshChild(self.plan, limits)
        self.children.add(child)
        return child

    def close(self) -> None:
        """Kill and reap every child still around (and remove its scratch dir)."""
        for child in list(self.children):
            child.kill()
            child.exit_info(5.0)
        cgroup.drain()

    def __enter__(self) -> SubprocessSandbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
