"""How a child's time divides, as the kernel counts it (/proc/PID/task/TID/schedstat): on a
CPU, runnable but waiting for one, and neither (sleeping, blocked, stopped).

A loaded machine makes the wait for a CPU longer and leaves the rest as it was, so a limit on
the time spent neither on a CPU nor waiting for one (`runs.py`) ends a child that sleeps or is
stopped near its limit without penalising one that a busy machine starves. schedstat's first
two fields are the time on a CPU and the run-queue wait, in nanoseconds, per thread; the
child's threads and those of its descendants (the evaluator profile's processes, whose work
the child waits for) are summed, and each thread's last reading is kept, so that a thread that
ends takes none of its time away.
"""

from __future__ import annotations

import os

MAX_PROCESSES = 64  # a child's tree read per poll; the evaluator profile allows 32 tasks


class ChildTimes:
    """The CPU time and run-queue wait of one child's tree of threads, read on demand."""

    def __init__(self, pid: int):
        self.pid = pid
        self.seen: dict[int, tuple[int, int]] = {}  # thread id -> (on a CPU, queued), in ns
        self.readable: bool | None = None  # None until the first reading

    def read(self) -> tuple[float, float] | None:
        """(seconds on a CPU, seconds waiting for one) so far; None where the kernel gives no
        schedstat. The CPU time is at least the child's own and its reaped children's as
        /proc/PID/stat counts them: a thread or process too short-lived to be seen used some."""
        found = False
        for pid, tid in _threads(self.pid):
            times = _schedstat(pid, tid)
            if times is not None:
                found = True
                cpu, queued = self.seen.get(tid, (0, 0))
                self.seen[tid] = (max(cpu, times[0]), max(queued, times[1]))
        if self.readable is None:
            self.readable = found
        if not self.readable:
            return None
        cpu = sum(c for c, _ in self.seen.values()) / 1e9
        queued = sum(q for _, q in self.seen.values()) / 1e9
        return max(cpu, _stat_cpu(self.pid)), queued


def stopped(pid: int) -> bool:
    """Whether the process is stopped (SIGSTOP, state T) or traced (t)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return data[data.rindex(b")") + 2 : data.rindex(b")") + 3] in (b"T", b"t")
    except (OSError, ValueError):
        return False


def _threads(pid: int) -> list[tuple[int, int]]:
    """(process, thread) pairs of `pid` and its live descendants, breadth first, bounded."""
    found: list[tuple[int, int]] = []
    queue, visited = [pid], 0
    while queue and visited < MAX_PROCESSES:
        process = queue.pop(0)
        visited += 1
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{process}/task")]
        except (OSError, ValueError):
            continue
        for tid in tids:
            found.append((process, tid))
            queue += _children(process, tid)
    return found


def _children(pid: int, tid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
            return [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        return []


def _schedstat(pid: int, tid: int) -> tuple[int, int] | None:
    try:
        with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
            fields = f.read().split()
        return int(fields[0]), int(fields[1])
    except (OSError, ValueError, IndexError):
        return None


_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_cpu(pid: int) -> float:
    """utime + stime + cutime + cstime of `pid`, in seconds; 0 if unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        fields = data[data.rindex(b")") + 2 :].split()
        return sum(int(x) for x in fields[11:15]) / _TICKS
    except (OSError, ValueError, IndexError):
        return 0.0
