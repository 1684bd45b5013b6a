"""Hostile programs through the real command: a STOP run whose model (`models/hostile_world.py`)
writes the given solution and improver, or whose initial improver is the given file, and the
checks every such run must pass (see docs/reliability.md)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT, run_cli, stored

HOSTILE = f"python:{ROOT / 'tests' / 'models' / 'hostile_world.py'}:respond"


def hostile_run(
    tmp_path: Path,
    *,
    solution: str | None = None,
    improver: str | None = None,
    reply: str | None = None,
    initial: str | None = None,
    task: str = "lpn",
    args: tuple[str, ...] = ("--iterations", "1", "--repetitions", "1"),
    name: str = "run",
):
    """`selftaught run` with the hostile model; returns (CompletedProcess, run_dir)."""
    env = {}
    given = {"HOSTILE_SOLUTION": solution, "HOSTILE_IMPROVER": improver, "HOSTILE_REPLY": reply}
    for variable, text in given.items():
        if text is not None:
            path = tmp_path / f"{name}.{variable.lower()}.py"
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            env[variable] = str(path)
    # The hostile model answers the paper's seed improver's prompts (the quick preset's own is
    # repair): the runs here are about what the host survives, not about the improver.
    extra: tuple[str, ...] = ("--improver", "seed")
    if initial is not None:
        path = tmp_path / f"{name}.initial.py"
        path.write_text(initial, encoding="utf-8", errors="surrogatepass")
        extra = ("--improver", str(path))
    run_dir = tmp_path / name
    done = run_cli(
        "run", "--task", task, "--model", HOSTILE, "--run-dir", str(run_dir), "--json",
        *args, *extra, env=env,
    )  # fmt: skip
    return done, run_dir


def instance_rows(run_dir: Path) -> list[dict]:
    """Every recorded instance outcome of every evaluation in the run."""
    rows = stored(run_dir, "evaluations", "instances")
    return [instance for row in rows for instance in json.loads(row["instances"])]


def invocations(run_dir: Path) -> list[tuple[str, str | None]]:
    """(status, error) of every improver invocation in the run."""
    return [(row["status"], row["error"]) for row in stored(run_dir, "invocations")]
