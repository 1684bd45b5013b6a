"""Shared fixtures: run the real `selftaught` command in a subprocess, as a user would.

The tests mirror the package (tests/sandbox/ for selftaught/sandbox/, tests/lm/ for
selftaught/lm/, ...); the scripted worlds they share are in tests/models/, importable by
module name from every folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from selftaught.store import RunReader

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "tests" / "models"
K_MODULE = ROOT / "examples" / "tasks" / "k_module_problem"  # OpenEvolve's, vendored unchanged
sys.path.insert(0, str(MODELS))  # `import lm_servers`, `import safety_world`, ...
SCRIPTED = f"python:{ROOT / 'tests' / 'models' / 'stop_world.py'}:respond"


def ctrl_c_able() -> None:
    """A child's SIGINT back to the default before it execs, so that a test's Ctrl-C reaches it
    even where the suite inherited an ignored SIGINT (`cmd &` in a script does that; Python then
    installs no KeyboardInterrupt handler). Both Ctrl-C tests once timed out in a suite started
    that way; run alone with SIGINT ignored they passed, so that cause is not proven."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600):
    """`selftaught ARGS` in a fresh process; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "selftaught", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=ROOT,
    )


def stored(run_dir: Path, table: str, *columns: str) -> list[dict]:
    """The rows a run recorded in `table` (`columns`, or all), read through the store's
    read-only reader, as the report reads them: tests do not speak SQL."""
    with RunReader.open(run_dir) as reader:
        return reader.rows(table, *columns)


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def one_clear_line(done: subprocess.CompletedProcess, *words: str) -> None:
    """Bad input as users must see it: exit 2, one line on stderr holding `words`, no traceback."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def scripted_model() -> str:
    return SCRIPTED
