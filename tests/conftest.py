"""Shared fixtures: run the real `selftaught` command in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTED = f"python:{ROOT / 'tests' / 'models' / 'stop_world.py'}:respond"


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


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture
def scripted_model() -> str:
    return SCRIPTED
