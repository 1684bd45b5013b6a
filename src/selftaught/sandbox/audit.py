"""The audit hook a child installs before running untrusted code.

It records (never blocks) the events that tell of an attempt to leave the sandbox: new
processes, programs, signals, sockets, ctypes, limits, tracing, and files opened for writing
outside the child's scratch dir. Entries are deduplicated and capped; the child sends new
entries with each message so that a child killed later still reported them. The log is a
signal for the host's records, not a defence: code with ctypes can get around a hook, and the
kernel layers are what enforce. The child sends each new entry at once (see
`child.Channel.flush_audit`), so that the entries of a child killed later are not lost.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

MAX_ENTRIES = 64
_EXACT = frozenset(
    {
        "subprocess.Popen", "os.system", "os.fork", "os.forkpty", "os.exec", "os.posix_spawn",
        "os.spawn", "os.kill", "os.killpg", "pty.spawn", "resource.setrlimit",
        "resource.prlimit", "sys.settrace", "sys.setprofile", "sys.addaudithook",
        "sys._current_frames", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
        "signal.pthread_kill", "os.putenv", "os.unsetenv", "os.chroot", "os.setuid",
    }
)  # fmt: skip
_PREFIXES = ("socket.", "ctypes.", "_posixsubprocess.", "mmap.")
# What the "evaluator" profile allows (api.PROFILES), so not worth an entry there: the hook
# cannot tell the evaluator's own subprocess from the candidate's, and the kernel layers
# bound both.
PROCESS_EVENTS = frozenset(
    {"subprocess.Popen", "os.fork", "os.exec", "os.posix_spawn", "_posixsubprocess.fork_exec"}
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class AuditLog:
    """Collects entries from a `sys.addaudithook` hook; `take()` returns the ones not yet sent."""

    def __init__(self, scratch: str, quiet: frozenset[str] = frozenset()):
        self.scratch = scratch.rstrip("/") + "/"
        self.quiet = quiet
        self.entries: list[str] = []
        self._seen: set[str] = set()
        self._sent = 0
        self.dropped = 0
        self.on_entry: Callable[[], None] | None = None  # e.g. send it now, before a kill

    def install(self) -> None:
        sys.addaudithook(self._hook)

    def take(self) -> list[str]:
        new = self.entries[self._sent :]
        self._sent = len(self.entries)
        return new

    def _hook(self, event: str, args: tuple) -> None:
        if event == "open":
            if self._opens_for_write(args):
                self._add(f"open for write: {args[0]!r}"[:200])
            return
        if (event in _EXACT or event.startswith(_PREFIXES)) and event not in self.quiet:
            self._add(f"{event}: {_brief(args)}")

    def _opens_for_write(self, args: tuple) -> bool:
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        if isinstance(mode, str):
            writes = any(c in mode for c in "wax+")
        else:
            writes = isinstance(flags, int) and bool(flags & _WRITE_FLAGS)
        if not writes or isinstance(path, int):
            return False
        text = os.fsdecode(path) if isinstance(path, (str, bytes)) else str(path)
        inside = (os.path.abspath(text) + "/").startswith(self.scratch)  # the dir itself too
        return os.path.isabs(text) and not inside

    def _add(self, entry: str) -> None:
        if entry in self._seen:
            return
        if len(self.entries) >= MAX_ENTRIES:
            self.dropped += 1
            return
        self._seen.add(entry)
        self.entries.append(entry)
        if self.on_entry is not None:
            self.on_entry()


def _brief(args: tuple) -> str:
    try:
        text = ", ".join(repr(a)[:60] for a in args[:3])
    except Exception:  # noqa: BLE001 - a hostile __repr__ must not break the hook
        text = "?"
    return text[:160]
