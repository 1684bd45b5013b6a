"""Which runs the dashboard shows: the run directories under the paths it was given, each
under a short key for its URLs, and their rows in the runs list.

Contract: `RunIndex(paths).scan()` finds run directories the way `selftaught runs` does
(`listing.run_directories`: a run directory itself, or the directories under a runs
directory that hold a run.db), again on every call, so a run started after the server shows
up. A key is the directory's name, with "~2", "~3" added when two paths hold the same name;
a run keeps its key for the server's life. Rows come from `listing.describe_run`, read-only;
an unreadable run is a row with status "unreadable" and its reason in "error".
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from selftaught.listing import describe_run, run_directories

# The runs list's words for listing's statuses: "killed" covers a run stopped by a cap or
# Ctrl-C as well as a crash (the lock is gone, the run is not finished): it can be resumed.
STATUS_WORDS = {"killed": "stopped"}


class RunIndex:
    def __init__(self, paths: list[Path]):
        self.paths = [Path(p) for p in paths]
        self._keys: dict[Path, str] = {}
        self._lock = threading.Lock()

    def scan(self) -> dict[str, Path]:
        """Every run directory under the paths, by key, in the order first seen."""
        with self._lock:
            for root in self.paths:
                for run_dir in sorted(run_directories(root)):
                    self._key(run_dir.resolve())
            return {key: path for path, key in self._keys.items() if (path / "run.db").is_file()}

    def _key(self, run_dir: Path) -> str:
        if run_dir not in self._keys:
            taken = set(self._keys.values())
            key, n = run_dir.name, 1
            while key in taken:
                n += 1
                key = f"{run_dir.name}~{n}"
            self._keys[run_dir] = key
        return self._keys[run_dir]

    def path(self, key: str) -> Path | None:
        return self.scan().get(key)


def run_row(key: str, run_dir: Path) -> dict[str, Any]:
    """One row of the runs list: listing's row with its key and the dashboard's status word."""
    row = describe_run(run_dir)
    row["key"] = key
    row["status"] = STATUS_WORDS.get(row["status"], row["status"])
    return row
