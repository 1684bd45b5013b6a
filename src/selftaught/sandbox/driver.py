"""Host-side logic of one execution, the same for zygote and fresh-subprocess children.

A `Launcher` makes confined children; a `Child` is one of them, reached through
`protocol.Reader` on the host's end of its socket. The drivers below send the job, read the
child's messages against deadlines measured here in the host, serve improver calls, and turn
every way a child can end into one status of `api.STATUSES`. They reply as soon as the last
message has arrived; the child is killed and reaped afterwards by its launcher.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any, Protocol

from selftaught.sandbox import protocol, schedstat
from selftaught.sandbox.api import Limits

ERROR_CHARS = 500
AUDIT_ENTRIES = 64
STARTUP_SECONDS = 30.0  # a fresh interpreter importing numpy on a busy machine
EXIT_WAIT_SECONDS = 2.0
# RLIMIT_CPU's clock is the scheduler tick's sampling, which on a busy (virtual) machine runs
# ahead of the precise CPU time wait4 reports: a child the kernel killed at its 3 s limit was
# seen reaping with 2.7 s. A SIGKILL after this share of the limit is the limit's.
CPU_KILL_SHARE = 0.75
CHILD_STATUSES = ("ok", "error", "memory_limit", "sandbox_violation")  # what a child may report


@dataclass
class ExitInfo:
    code: int | None = None
    signal: int | None = None
    cpu: float = 0.0
    maxrss_kb: int = 0
    zygote_died: bool = False


class Child(Protocol):
    pid: int
    reader: protocol.Reader

    def kill(self) -> None:
        """SIGKILL the child's process group (asynchronously is fine)."""

    def exit_info(self, timeout: float) -> ExitInfo | None:
        """How the child ended, waiting up to `timeout`; None if it has not."""

    def release(self) -> None:
        """Done with it: kill what is left and reap it in the background."""


class Launcher(Protocol):
    def spawn(self, limits: Limits) -> Child:
        """A new confined child whose messages are capped at `limits.output_bytes`."""


class Ended(Exception):
    """The current child is gone; `status` and `error` say how."""

    def __init__(self, status: str, error: str):
        super().__init__(error)
        self.status = status
        self.error = error


def limits_json(limits: Limits) -> dict[str, Any]:
    spec = {"cpu_seconds": limits.cpu_seconds, "memory_mb": limits.memory_mb}
    if limits.profile != "strict":  # the strict spec stays as it was: pools are keyed by it
        spec["profile"] = limits.profile
    return spec


def classify(info: ExitInfo | None, limits: Limits) -> tuple[str, str]:
    """Status and text for a child that ended without its final message."""
    if info is None or info.zygote_died:
        return "sandbox_violation", "the zygote died"
    if info.signal is None:
        return "no_result", f"exited with code {info.code} without a result"
    name = _signal_name(info.signal)
    if info.signal == signal.SIGSYS:
        return "sandbox_violation", "killed by SIGSYS (a refused system call)"
    near_limit = info.cpu >= CPU_KILL_SHARE * limits.cpu_seconds
    if info.signal in (signal.SIGKILL, signal.SIGXCPU) and near_limit:
        return "cpu_limit", f"CPU limit of {limits.cpu_seconds} s reached ({info.cpu:.2f} s)"
    if info.signal == signal.SIGKILL and info.maxrss_kb * 1024 >= 0.9 * (limits.memory_mb << 20):
        return "memory_limit", f"killed with {info.maxrss_kb // 1024} MB resident"
    return "killed", f"killed by {name}"


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time process `pid` has used so far (all its threads), as the kernel
    counts it in /proc: measured by the host, not reported by the child. None if unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        fields = data[data.rindex(b")") + 2 :].split()  # the name may hold spaces
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, ValueError, IndexError):
        return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class Session:
    """One child's conversation, with the host-side deadline and the audit collection."""

    def __init__(self, launcher: Launcher, limits: Limits, audit: list[str]):
        self.child = launcher.spawn(limits)
        self.limits = limits
        self.times = schedstat.ChildTimes(self.child.pid)
        self.audit = audit
        self.layers: list[str] = []

    def send(self, message: dict[str, Any], deadline: float) -> None:
        try:
            self.child.reader.write(message, deadline)
        except protocol.Timeout:
            raise self.fail("timeout", "the child did not take its input in time") from None
        except protocol.Closed:
            raise self.ended() from None

    def read(self, deadline: float) -> dict[str, Any]:
        """The next message (audit-only ones are taken in passing), or raise `Ended`."""
        message = self.poll(deadline)
        if message is None:
            raise self.fail("timeout", "wall-clock deadline passed")
        return message

    def poll(self, deadline: float) -> dict[str, Any] | None:
        """The next message, or None if none came by `deadline` (the child lives on, and a
        message it was part way through sending is kept for the next call)."""
        while True:
            message = self._read_any(deadline)
            if message is None or message.get("t") != "audit":
                return message

    def cpu(self) -> float | None:
        return cpu_seconds(self.child.pid)

    def split(self) -> tuple[float, float] | None:
        """Seconds the child (its threads, its processes) has been on a CPU and waited for
        one so far; None where the kernel does not say."""
        return self.times.read()

    def queued(self) -> float | None:
        """Seconds the child has waited for a CPU so far (see `split`)."""
        split = self.split()
        return None if split is None else split[1]

    def stopped(self) -> bool:
        return schedstat.stopped(self.child.pid)

    def _read_any(self, deadline: float) -> dict[str, Any] | None:
        try:
            message = self.child.reader.read(deadline)
        except protocol.Timeout:
            return None
        except protocol.TooLarge as exc:
            raise self.fail("output_too_large", f"{exc.size} bytes is over the cap") from None
        except protocol.Closed:
            raise self.ended() from None
        except protocol.ProtocolError as exc:
            raise self.fail("error", str(exc)) from None
        self._collect_audit(message.get("audit"))
        return message

    def hello(self, deadline: float) -> None:
        message = self.read(deadline)
        layers = message.get("layers")
        if message.get("t") != "hello" or not isinstance(layers, list):
            raise self.fail("error", "bad message from the child: no hello")
        self.layers = [str(x)[:40] for x in layers]

    def fail(self, status: str, error: str) -> Ended:
        """Kill a runaway and wait until it is gone (a finished child is reaped later)."""
        self.child.kill()
        self.child.exit_info(EXIT_WAIT_SECONDS)
        return Ended(status, error)

    def ended(self) -> Ended:
        info = self.child.exit_info(EXIT_WAIT_SECONDS)
        if info is None:  # closed its socket but lives on: still no result
            self.child.kill()
            info = self.child.exit_info(EXIT_WAIT_SECONDS) or ExitInfo(code=None, signal=9)
            if not info.zygote_died:
                return Ended("no_result", "closed its socket without a result")
        return Ended(*classify(info, self.limits))

    def release(self) -> None:
        self.child.release()

    def _collect_audit(self, entries: Any) -> None:
        if not isinstance(entries, list):
            return
        for entry in entries:
            text = str(entry)[:200]
            if text not in self.audit and len(self.audit) < AUDIT_ENTRIES:
                self.audit.append(text)


def error_text(value: Any) -> str:
    return str(value)[:ERROR_CHARS]


def now() -> float:
    return time.monotonic()
