"""The zygote: a small warm process that forks one confined child per execution.

Started by the host (`host.py`) as `python -s -S -P -c BOOT paths plan ctl_fd` with a clean
environment, never forked from the host. Once, at start, it enters an empty network
namespace and a mount namespace with a size-capped tmpfs for scratch dirs, imports numpy and
the child runner, runs one trusted job to warm lazy caches, compiles the seccomp filter and
becomes a child subreaper. Then it serves the host over a unix SEQPACKET control socket:

- `{"op": "spawn", "id", "limits"}` + one fd (the child's end of a fresh socketpair) -> the
  zygote hands the fd and the limits to a pre-forked, already Landlocked child and answers
  `{"op": "spawned", "id", "pid"}` (or `{"op": "error", "id", "error"}`); the child applies
  its limits, seccomp and audit hook at once, then waits for its job from the host, with
  whom it talks directly;
- `{"op": "kill", "pid"}` -> SIGKILL to that child's process group (only its own children);
- `{"op": "ping", "id"}` -> `{"op": "pong", "id"}`.

When a child exits the zygote kills what is left of its process group, reaps it, sweeps
orphans reparented to it, removes its scratch dir and reports
`{"op": "exit", "pid", "code", "signal", "cpu", "maxrss_kb"}`. On EOF from the host it kills
everything and exits. It runs no untrusted code itself.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
from typing import Any

from selftaught.sandbox import cgroup, environment

_PR_SET_CHILD_SUBREAPER = 36


def main(argv: list[str]) -> None:
    plan, ctl_fd = json.loads(argv[0]), int(argv[1])
    why = _namespaces(plan)
    Zygote(plan, socket.socket(fileno=ctl_fd), why).serve()


def _namespaces(plan: dict[str, Any]) -> dict[str, str]:
    """Enter the network and mount namespaces the plan asks for, while still single-threaded
    (a user namespace requires it). A step that fails is dropped from the plan, with why."""
    from selftaught.sandbox.confine import enter_netns, private_tmpfs

    why = {}
    steps = {"netns": enter_netns, "tmpfs": lambda: private_tmpfs(plan["scratch_root"])}
    for name, step in steps.items():
        if plan.get(name):
            error = step()
            if error:
                why[name] = error
                plan[name] = False
    return why


class Zygote:
    """The zygote's state: its plan, its children (pid -> scratch dir) and its spare child."""

    def __init__(self, plan: dict[str, Any], ctl: socket.socket, why: dict[str, str]):
        _preload()
        self.plan, self.ctl, self.why = plan, ctl, why
        self.filters = self._seccomp() if plan.get("seccomp") else {}
        if plan.get("landlock") and _landlock_abi() < 1:
            plan["landlock"] = False
            why["landlock"] = "the kernel has no Landlock"
        from selftaught.sandbox import child

        child.rehearse()
        self.children: dict[int, str] = {}  # pid -> scratch dir
        self.spare: tuple[int, socket.socket] | None = None
        self.subreaper = ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        cgroup.sweep()
        self.wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self._wake_w = wake_w

    def _seccomp(self) -> dict[str, Any]:
        """One prepared filter per confinement profile (api.PROFILES)."""
        from selftaught.sandbox import seccomp

        try:
            return {p: seccomp.Prepared(seccomp.build(p)) for p in ("strict", "evaluator")}
        except Exception as exc:  # noqa: BLE001 - pyseccomp missing or libseccomp broken
            self.plan["seccomp"] = False
            self.why["seccomp"] = f"{type(exc).__name__}: {exc}"[:300]
            return {}

    def layers(self) -> list[str]:
        names = ["zygote", "setsid", "rlimits"]
        names += [k for k in environment.LAYERS if self.plan.get(k)]
        return names

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.ctl.send(json.dumps(message).encode())
        except OSError:
            self.shutdown()

    def serve(self) -> None:
        self.send({"op": "ready", "pid": os.getpid(), "layers": self.layers(), "why": self.why})
        self._prefork()
        poller = select.poll()
        poller.register(self.ctl, select.POLLIN)
        poller.register(self.wake_r, select.POLLIN)
        while True:
            for fd, _ in poller.poll():
                if fd == self.wake_r:
                    _drain(self.wake_r)
                    self._reap()
                else:
                    self._command()

    def _command(self) -> None:
        try:
            data, fds, _flags, _addr = socket.recv_fds(self.ctl, 65536, 4)
        except ConnectionError:  # the host went away: the same as end of input
            data, fds = b"", []
        if not data:
            self.shutdown()
        message = json.loads(data)
        op = message.get("op")
        if op == "spawn":
            self._spawn(message["id"], fds, message.get("limits", {}))
        elif op == "kill":
            self._kill(int(message["pid"]))
        elif op == "ping":
            self.send({"op": "pong", "id": message.get("id")})

    def _spawn(self, request: Any, fds: list[int], limits: dict[str, Any]) -> None:
        try:
            if len(fds) != 1:
                raise ValueError("spawn needs exactly one fd")
            if self.spare is None:
                self._prefork()
            pid, link = self.spare
            self.spare = None
            if limits.get("profile") == "evaluator" and cgroup.enter(pid, limits):
                limits = limits | {"pids_cgroup": True}
            socket.send_fds(link, [json.dumps(limits).encode()], fds)
            link.close()
            self.send({"op": "spawned", "id": request, "pid": pid})
        except Exception as exc:  # noqa: BLE001 - the host must hear back either way
            self.send({"op": "error", "id": request, "error": f"{type(exc).__name__}: {exc}"})
        finally:
            for fd in fds:
                os.close(fd)
        try:
            self._prefork()
        except OSError:  # no spare now (EAGAIN, ENOSPC): the next spawn tries again, or says why
            pass

    def _prefork(self) -> None:
        """Fork the next child now, so that a spawn only has to hand it its socket."""
        if self.spare is not None:
            return
        scratch = self._scratch()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        parent = os.getpid()
        gc.freeze()  # children never collect the zygote's objects: fewer copy-on-write faults
        try:
            pid = os.fork()
        except OSError:
            mine.close()
            theirs.close()
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        if pid == 0:
            # Forget (not close) the zygote's sockets: a garbage-collected socket object
            # would otherwise close an fd number the child has since reused.
            self.ctl.detach()
            mine.detach()
            _child_main(self, theirs.detach(), scratch, parent)
        theirs.close()
        self.children[pid] = scratch
        self.spare = (pid, mine)

    def _scratch(self) -> str:
        root = self.plan.get("scratch_root")
        try:
            return tempfile.mkdtemp(prefix="child-", dir=root)
        except FileNotFoundError:  # someone removed the root (and so our tmpfs): carry on
            os.makedirs(root, mode=0o700, exist_ok=True)
            return tempfile.mkdtemp(prefix="child-", dir=root)

    def _kill(self, pid: int) -> None:
        if pid in self.children:
            environment.kill_group(pid)

    def _reap(self) -> None:
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                break
            if info is None:
                break
            pid = info.si_pid
            if pid in self.children:
                environment.kill_group(
                    pid
                )  # leftovers in its group, while the zombie pins the group id
            _pid, status, usage = os.wait4(pid, 0)
            scratch = self.children.pop(pid, None)
            cgroup.remove(pid)  # kills what is left in it, if it had one
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
                self._report_exit(pid, status, usage)
        self._sweep_orphans()

    def _report_exit(self, pid: int, status: int, usage: Any) -> None:
        if self.spare is not None and self.spare[0] == pid:
            self.spare[1].close()
            self.spare = None
        self.send(
            {
                "op": "exit",
                "pid": pid,
                "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                "cpu": usage.ru_utime + usage.ru_stime,
                "maxrss_kb": usage.ru_maxrss,
            }
        )

    def _sweep_orphans(self) -> None:
        """Kill processes reparented to us (a double fork escaping its group)."""
        if not self.subreaper:
            return
        for pid in _own_children():
            if pid not in self.children:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def shutdown(self) -> None:
        for pid in list(self.children):
            environment.kill_group(pid)
            try:
                os.waitpid(pid, 0)  # a zombie still counts as a member of its cgroup
            except ChildProcessError:
                pass
            cgroup.remove(pid)
        cgroup.drain()
        for scratch in self.children.values():
            shutil.rmtree(scratch, ignore_errors=True)
        os._exit(0)


def _child_main(zygote: Zygote, link_fd: int, scratch: str, parent: int) -> None:
    """In the forked child: confine, wait for the socket and the job, run it, exit."""
    code = 0
    try:
        from selftaught.sandbox import child, confine, protocol

        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        confine.die_with_parent(parent)
        confine.close_fds_except(link_fd)
        baseline = _vm_size()
        layers = ["zygote", "setsid"]
        layers += [k for k in ("netns",) if zygote.plan.get(k)]
        if zygote.plan.get("tmpfs") and confine.own_scratch(scratch):
            layers.append("tmpfs")
        layers += confine.before_job(zygote.plan, scratch)
        link = socket.socket(fileno=link_fd)
        data, fds, _flags, _addr = socket.recv_fds(link, 4096, 1)
        link.close()
        if len(fds) != 1:
            os._exit(0)
        sock = socket.socket(fileno=fds[0])
        spec = json.loads(data)
        more, audit = confine.with_limits(zygote.plan, spec, baseline, zygote.filters, scratch)
        child.rehearse()  # while waiting: off the clock of the job
        job = protocol.recv(sock)
        child.run_job(sock, job, layers + more, audit)
    except BaseException:  # noqa: BLE001 - nothing may escape back into the zygote's loop
        code = 1
    finally:
        os._exit(code)


def _preload() -> None:
    """Import once what every child needs, so that a child forks with it warm."""
    import numpy
    import numpy.random  # numpy 2 loads it lazily: 40 ms in every child otherwise

    numpy.random.seed(0)  # and its first seeding sets up more, lazily too

    from selftaught.sandbox import child, confine, limits, protocol, seccomp  # noqa: F401


def _vm_size() -> int:
    from selftaught.sandbox.limits import vm_size_bytes

    return vm_size_bytes()


def _landlock_abi() -> int:
    from selftaught.sandbox import landlock

    return landlock.abi()


def _own_children() -> list[int]:
    pids: list[int] = []
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/children") as f:
                pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return pids


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
