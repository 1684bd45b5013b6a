"""The run directory's lock: at most one live process runs (and pays for) a run.

`RunLock.acquire(run_dir, command)` takes an exclusive `flock` on `RUN_DIR/run.lock` and writes
who holds it (pid, command, start time) into the file; a second `run` or `resume` of the same
directory is refused with one line naming that process. The kernel drops the lock when its
holder exits, however it dies (SIGKILL included), so a stale lock file never blocks a resume,
and `holder(run_dir)` is how `selftaught runs` tells a live run from a killed one.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

from selftaught.store import StoreError

LOCK_FILE = "run.lock"


class RunLock:
    def __init__(self, fd: int):
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, run_dir: Path, command: str) -> RunLock:
        """The lock of `run_dir` (which must exist), or StoreError naming its live holder."""
        path = Path(run_dir) / LOCK_FILE
        try:  # never through a link: a run directory from elsewhere could aim it at any file
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            why = "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
            raise StoreError(f"cannot lock {run_dir}: {why}; remove {path}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or a device in its place
            os.close(fd)
            raise StoreError(f"cannot lock {run_dir}: {path} is not a regular file; remove it")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _read(fd)
            os.close(fd)
            raise StoreError(
                f"{run_dir} is in use by process {who.get('pid', '?')} "
                f"({who.get('command', 'selftaught')}); wait for it to end, or stop it first"
            ) from None
        os.ftruncate(fd, 0)
        record = {"pid": os.getpid(), "command": command, "started": time.time()}
        os.pwrite(fd, json.dumps(record).encode(), 0)
        return cls(fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last fd of the open file drops the flock
            self._fd = None


def holder(run_dir: Path) -> dict[str, Any] | None:
    """Who holds `run_dir`'s lock now ({"pid", "command", "started"}), None if nobody does."""
    try:
        flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK  # a FIFO: no wait
        fd = os.open(Path(run_dir) / LOCK_FILE, flags)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    return None


def _read(fd: int) -> dict[str, Any]:
    try:
        value = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
