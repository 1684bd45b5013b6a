"""What a child may read (issue 25, item 2): the interpreter's files and nothing of a project
that happens to lie under /usr (Docker's WORKDIR /usr/src/app), neither its .env nor a run's
database and WAL, which hold the run's secret; a run directory or working directory that
children could read is refused. Real zygote children, a real run store, the real command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
from conftest import one_clear_line, run_cli

import selftaught
from selftaught.sandbox import Limits, open_sandbox, readable_root
from selftaught.sandbox.environment import read_only_paths
from selftaught.store import RunStore

PROBE = """
import os

def _read(path):
    try:
        if os.path.isdir(path):
            return "listed %d" % len(os.listdir(path))
        with open(path, "rb") as f:
            return "read %d" % len(f.read())
    except OSError as exc:
        return type(exc).__name__

def probe(paths):
    import decimal, fractions, heapq, statistics  # not preloaded: imported from the stdlib now
    import numpy as np
    assert str(decimal.Decimal(1) / 8) == "0.125" and float(np.linalg.det(np.eye(3))) == 1.0
    return {path: _read(path) for path in paths}
"""
LIMITS = Limits(wall_seconds=60, cpu_seconds=20, memory_mb=512)


@pytest.fixture
def project_under_usr():
    """A project directory under /usr/src, as in a Docker image, with a .env and a run
    directory whose store is open (so its -wal file exists) and holds a secret."""
    try:
        os.makedirs("/usr/src", exist_ok=True)
        project = Path(tempfile.mkdtemp(prefix="selftaught-test-", dir="/usr/src"))
    except OSError as exc:
        pytest.skip(f"cannot make a project under /usr/src here: {exc}")
    (project / ".env").write_text("OPENAI_API_KEY=sk-secret\n")
    store = RunStore.open_run(project / "runs" / "r", create=True)
    store.set_meta("instance_secret", "f" * 32)
    try:
        yield project
    finally:
        store.close()
        shutil.rmtree(project, ignore_errors=True)


def test_a_child_reads_nothing_of_a_project_under_usr(project_under_usr):
    run_dir = project_under_usr / "runs" / "r"
    assert (run_dir / "run.db-wal").exists()
    secrets = [project_under_usr / ".env", run_dir / "run.db", run_dir / "run.db-wal"]
    paths = [str(p) for p in (*secrets, project_under_usr, run_dir)]
    with open_sandbox() as sandbox:
        if "landlock" not in sandbox.layers:
            pytest.skip(f"no Landlock here: {sandbox.why.get('landlock')}")
        run = sandbox.run_solution(
            PROBE, "probe", [[paths]], instance_seconds=20, seed=0, array_args=False,
            limits=LIMITS,
        )  # fmt: skip
    outcome = run.outcomes[0]
    assert outcome.status == "ok", outcome.error  # the stdlib and numpy still import and work
    assert outcome.output == dict.fromkeys(paths, "PermissionError")


def test_a_child_still_reads_what_the_interpreter_needs():
    stdlib = os.path.dirname(os.__file__)
    paths = [os.path.join(stdlib, "os.py"), sysconfig.get_paths()["purelib"], "/etc/passwd"]
    with open_sandbox() as sandbox:
        if "landlock" not in sandbox.layers:
            pytest.skip(f"no Landlock here: {sandbox.why.get('landlock')}")
        run = sandbox.run_solution(
            PROBE, "probe", [[paths]], instance_seconds=20, seed=0, array_args=False,
            limits=LIMITS,
        )  # fmt: skip
    seen = run.outcomes[0].output
    assert seen[paths[0]].startswith("read ") and seen[paths[1]].startswith("listed ")
    assert seen["/etc/passwd"] == "PermissionError"


def test_the_read_only_roots_are_narrow():
    roots = read_only_paths()
    for wide in ("/", "/usr", "/usr/local", "/usr/src", "/lib", "/opt", "/home", "/root"):
        assert wide not in roots
    assert not any(root == sys.prefix for root in roots)  # a venv's root holds more than Python
    package = os.path.dirname(selftaught.__file__)
    assert readable_root(os.path.join(package, "x")) is not None
    holder = os.path.dirname(package)
    if not holder.endswith(("site-packages", "dist-packages")):  # a source checkout
        assert readable_root(holder) is None  # the package is readable, not the project


def test_a_run_dir_children_could_read_is_refused(tmp_path, scripted_model):
    exposed = os.path.join(sysconfig.get_paths()["purelib"], "selftaught-test-run")
    done = run_cli("run", "--model", scripted_model, "--iterations", "0", "--run-dir", exposed)
    one_clear_line(done, exposed, "sandboxed children may read")
    assert not os.path.exists(exposed)


def test_a_working_directory_children_could_read_is_refused(tmp_path, scripted_model):
    stdlib = os.path.dirname(os.__file__)
    done = subprocess.run(
        [sys.executable, "-m", "selftaught", "run", "--model", scripted_model,
         "--iterations", "0", "--run-dir", str(tmp_path / "r")],
        capture_output=True, text=True, cwd=stdlib, timeout=120,
    )  # fmt: skip
    one_clear_line(done, "working directory", "sandboxed children may read")
    assert not (tmp_path / "r").exists()
