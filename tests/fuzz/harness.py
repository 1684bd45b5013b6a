"""Run a batch of hostile programs through the real command and check the fuzz property.

The property (docs/reliability.md): the command exits 0; every recorded instance outcome has a
known status and, unless ok, a reason; every improver invocation has a known status; running
the command again on the finished run (`resume`, or the same `compare`) adds nothing; nothing the
programs said reaches the console as a raw terminal escape; and the run's database passes
SQLite's integrity check. Many programs share one command: a batch of
solutions is scored by one improver that calls `utility` on each, a batch of improvers is one
`compare`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import last_json, run_cli, stored
from hostile import HOSTILE

from selftaught.sandbox.api import STATUSES
from selftaught.store import RunReader

TASK = str(Path(__file__).with_name("fuzz_task.py"))
METRIC_TASK = str(Path(__file__).with_name("metric_task"))
INSTANCE_STATUSES = set(STATUSES) | {"invalid_output"}

DRIVER = """import json

SOURCES = json.loads({payload!r})


def improve_algorithm(initial_solution, utility, language_model):
    for source in SOURCES:
        try:
            utility(source)
        except Exception:
            pass
    return initial_solution
"""


def _config(path: Path, utility_calls: int) -> Path:
    path.write_text(
        f"utility_calls = {utility_calls}\nrepetitions = 1\n[limits]\nimprover_seconds = 20.0\n"
    )
    return path


def check_solutions(tmp_path: Path, sources: list[str], task: str = TASK) -> None:
    """One `selftaught run` of `task` whose improver scores every source; then the property."""
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(payload=json.dumps(sources)))
    config = _config(tmp_path / "fuzz.toml", len(sources) + 1)
    run_dir = tmp_path / "solutions"
    done = run_cli(
        "run", "--task", task, "--model", HOSTILE, "--iterations", "0", "--improver",
        str(driver), "--config", str(config), "--run-dir", str(run_dir), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    _check_console(done)
    first = _counts(run_dir)
    assert first["evaluations"] >= 1
    _check_records(run_dir)
    again = run_cli("resume", str(run_dir), "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    assert last_json(again.stdout)["iterations"] == last_json(done.stdout)["iterations"]
    after = _counts(run_dir)
    assert (after["evaluations"], after["lm_paid"]) == (first["evaluations"], first["lm_paid"])
    _check_integrity(run_dir)


def check_improvers(tmp_path: Path, sources: list[str]) -> None:
    """One `selftaught compare` of every source; then the property."""
    names = []
    for i, source in enumerate(sources):
        path = tmp_path / f"improver_{i}.py"
        path.write_text(source, encoding="utf-8", errors="surrogatepass")
        names.append(str(path))
    config = _config(tmp_path / "fuzz.toml", 3)
    run_dir = tmp_path / "improvers"
    args = ("compare", "--improvers", ",".join(names), "--tasks", TASK, "--model", HOSTILE,
            "--config", str(config), "--run-dir", str(run_dir), "--json")  # fmt: skip
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr[-3000:]
    _check_console(done)
    _check_records(run_dir)
    first = _counts(run_dir)
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _counts(run_dir)["evaluations"] == first["evaluations"]
    assert _counts(run_dir)["lm_paid"] == first["lm_paid"]  # nothing paid twice
    _check_integrity(run_dir)


def _counts(run_dir: Path) -> dict[str, int]:
    with RunReader.open(run_dir) as reader:
        return {
            "evaluations": reader.count("evaluations"),
            "invocations": reader.count("invocations"),
            "lm_paid": reader.lm_usage()["uncached_calls"],
        }


def _check_records(run_dir: Path) -> None:
    for evaluation in stored(run_dir, "evaluations", "instances"):
        for row in json.loads(evaluation["instances"]):
            assert row["status"] in INSTANCE_STATUSES, row
            assert row["status"] == "ok" or row.get("reason"), row
    for row in stored(run_dir, "invocations", "status", "error"):
        assert row["status"] in STATUSES, row


def _check_console(done: subprocess.CompletedProcess) -> None:
    """What the programs said reaches the console inert: no raw escape (docs/safety.md)."""
    assert "\x1b" not in done.stdout + done.stderr, (done.stdout + done.stderr)[-3000:]


def _check_integrity(run_dir: Path) -> None:
    with RunReader.open(run_dir) as reader:
        assert reader.integrity() == "ok"
