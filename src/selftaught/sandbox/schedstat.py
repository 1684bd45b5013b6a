"""How long a child waited for a CPU, as the kernel counts it (/proc/PID/task/TID/schedstat).

A child's own time is its wall time less the time it spent runnable but waiting for a CPU:
what it spent computing, sleeping, blocked or stopped. A loaded machine makes the wait for a
CPU longer and leaves the child's own time as it was, so limits on own time (`runs.py`) end a
child that sleeps or is stopped near its limit without penalising one that a busy machine
starves. schedstat's second field is that run-queue wait, in nanoseconds, per thread; the
child's threads and those of its descendants (the evaluator profile's processes) are summed,
and each thread's last reading is kept, so that a thread that ends takes none of its wait away.
"""

from __future__ import annotations

import os

MAX_PROCESSES = 64  # a child's tree read per poll; the evaluator profile allows 32 tasks


class RunQueueWait:
    """The run-queue wait of one child's tree of threads, in seconds, read on demand."""

    def __init__(self, pid: int):
        self.pid = pid
        self.seen: dict[int, int] = {}  # thread id -> its latest run-queue wait, ns
        self.readable: bool | None = None  # None until the first reading

    def seconds(self) -> float | None:
        """The total so far; None where the kernel gives no schedstat (then nothing counts)."""
        found = False
        for pid, tid in _threads(self.pid):
            wait = _run_delay(pid, tid)
            if wait is not None:
                found = True
                self.seen[tid] = max(self.seen.get(tid, 0), wait)
        if self.readable is None:
            self.readable = found
        return sum(self.seen.values()) / 1e9 if self.readable else None


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


def _run_delay(pid: int, tid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
            return int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
