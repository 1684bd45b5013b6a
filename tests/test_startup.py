"""Start-up: commands that talk to no model import no model SDK (docs/performance.md).

`import openai` and `import anthropic` take seconds on a busy machine and `llama_cpp` loads a
native library; only the backend a run uses may pay for its SDK. Checked through `sys.modules`
of a real `selftaught` process, not by timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import report_runs as support
from conftest import ROOT

finished_run = support.finished_run

SDKS = ("openai", "anthropic", "llama_cpp", "ray")  # ray: only with --executor ray

# Runs the command in-process and writes the names of the loaded modules to a file at exit.
PROBE = """
import atexit, json, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv[0] = "selftaught"
from selftaught.cli import main
main()
"""


def loaded_modules(tmp_path: Path, *args: str) -> set[str]:
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(out.read_text()))


def sdks_in(modules: set[str]) -> set[str]:
    return {name for name in modules if name.split(".")[0] in SDKS}


@pytest.mark.parametrize("args", [("--help",), ("run", "--help"), ("models",)])
def test_help_and_catalog_import_no_sdk(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert sdks_in(loaded_modules(tmp_path, *args)) == set()


def test_runs_and_report_import_no_sdk(tmp_path: Path, finished_run: Path) -> None:
    listed = loaded_modules(tmp_path, "runs", str(finished_run.parent))
    assert "selftaught.listing" in listed  # the command did run
    assert sdks_in(listed) == set()
    reported = loaded_modules(tmp_path, "report", str(finished_run), "-o", str(tmp_path / "r.html"))
    assert (tmp_path / "r.html").is_file()
    assert sdks_in(reported) == set()


def test_a_run_imports_only_its_own_sdk(tmp_path: Path, scripted_model: str) -> None:
    modules = loaded_modules(
        tmp_path, "run", "--iterations", "0", "--repetitions", "1", "--model", scripted_model,
        "--run-dir", str(tmp_path / "run"),
    )  # fmt: skip
    assert "selftaught.lm.python_backend" in modules
    assert sdks_in(modules) == set()
