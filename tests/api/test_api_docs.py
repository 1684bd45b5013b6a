"""docs/api.md's worked example, run as written (its server address aside) against an
OpenAI-compatible loopback server, and examples/api_quickstart.py, on a scripted model here and
on the embedded model in a slow test."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SCRIPTED

sys.path.insert(0, str(ROOT / "tests" / "models"))

from lm_servers import FaultServer  # noqa: E402

import selftaught  # noqa: E402

DOC = ROOT / "docs" / "api.md"
ADDRESS = 'BASE_URL = "http://127.0.0.1:8080/v1"'


def worked_example() -> str:
    text = DOC.read_text(encoding="utf-8").split("## A worked example", 1)[1]
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def test_the_worked_example_runs_as_written(tmp_path):
    source = worked_example()
    assert ADDRESS in source
    with FaultServer() as server:
        script = tmp_path / "max_subarray.py"
        script.write_text(source.replace(ADDRESS, f'BASE_URL = "{server.url}/v1"'))
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              cwd=tmp_path, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert server.requests  # the model was asked, over HTTP
    lines = done.stdout.splitlines()
    assert lines[0].startswith("t=0 val=") and lines[1].startswith("t=1 val=")
    assert any(line.startswith("seed: ") for line in lines)
    assert "seed solution on test:" in lines[-1] and "zygote" in lines[-1]
    run = selftaught.Run(tmp_path / "runs" / "max-subarray")
    assert [it.t for it in run.iterations] == [0, 1]
    assert run.config["task"] == f"{script.resolve()}:TASK"
    assert (tmp_path / "runs" / "max-subarray" / "report.html").is_file()
    assert (tmp_path / "runs" / "max-subarray-compare" / "run.db").is_file()


def _quickstart(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / "api_quickstart.py"), "--run-dir",
         str(tmp_path / "r"), *args],
        capture_output=True, text=True, cwd=tmp_path, timeout=900,
    )  # fmt: skip


def test_the_quickstart_runs_on_a_scripted_model(tmp_path):
    done = _quickstart(tmp_path, "--model", SCRIPTED)
    assert done.returncode == 0, done.stderr
    assert "t=0: meta-utility val" in done.stdout and "(adopted)" in done.stdout
    assert (tmp_path / "r" / "report.html").is_file()


@pytest.mark.slow
def test_the_quickstart_runs_on_the_embedded_model(tmp_path):
    # T = 0 (the initial improver scored: two model calls) keeps it about a minute on 2 cores.
    done = _quickstart(tmp_path, "--iterations", "0", "--max-tokens", "64")
    assert done.returncode == 0, done.stderr
    assert "t=0: meta-utility val" in done.stdout
    assert [it.t for it in selftaught.Run(tmp_path / "r").iterations] == [0]
