"""The package as users get it: a wheel built from this checkout, installed into a fresh venv
outside the repository, runs `improvers`, `evaluate` and `run` there with the sandbox on.

Slow (one venv install, a minute or two): dependencies come from pip's configured index, and
llama-cpp-python's wheel from pip's cache, where the first install of the checkout put it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, stored

from selftaught.sandbox import landlock

pytestmark = pytest.mark.slow
LOCAL_ONLY = (".git", ".venv", "runs", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")

READS_THE_REPO = f"""def algorithm(train_samples, train_parity, test_samples):
    with open({str(ROOT / "pyproject.toml")!r}) as f:
        f.read()
    return [0] * len(test_samples)
"""


def _run(*args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )  # fmt: skip
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-4000:])
    return done


def _cached_wheel_dirs(python: str, cwd: Path) -> list[str]:
    """Folders of pip's cache that hold a built llama-cpp-python wheel (no rebuild then)."""
    cache = Path(_run(python, "-m", "pip", "cache", "dir", cwd=cwd).stdout.strip())
    return sorted({str(p.parent) for p in cache.glob("wheels/**/llama_cpp_python-*.whl")})


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(venv bin dir, a work dir outside the repository) with the wheel installed."""
    home = tmp_path_factory.mktemp("wheel-smoke")
    assert not home.is_relative_to(ROOT)
    # Built from a copy, so that the build leaves nothing in the checkout (build/, egg-info)
    # and nothing left there from an earlier build gets into the wheel.
    tree = home / "checkout"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(*LOCAL_ONLY))
    dist = home / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(tree),
         cwd=home)  # fmt: skip
    [wheel] = dist.glob("selftaught-*.whl")
    _run(sys.executable, "-m", "venv", str(home / "venv"), cwd=home)
    python = str(home / "venv" / "bin" / "python")
    links = [f"--find-links={d}" for d in _cached_wheel_dirs(python, home)]
    _run(python, "-m", "pip", "install", "-q", *links, str(wheel), cwd=home)
    work = home / "work"
    work.mkdir()
    return home / "venv" / "bin", work


def test_the_installed_package_is_the_wheel_not_the_checkout(installed):
    bin_dir, work = installed
    where = _run(str(bin_dir / "python"), "-c", "import selftaught; print(selftaught.__file__)",
                 cwd=work).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(bin_dir.parent) and not Path(where).is_relative_to(ROOT)
    version = _run(str(bin_dir / "selftaught"), "--version", cwd=work).stdout
    from selftaught import __version__

    assert version.strip() == f"selftaught {__version__}"
    module = _run(str(bin_dir / "python"), "-m", "selftaught", "--version", cwd=work).stdout
    assert module == version
    listing = _run(str(bin_dir / "selftaught"), "improvers", cwd=work).stdout
    assert "seed" in listing and "beam_search" in listing


def test_evaluate_is_sandboxed_outside_the_repository(installed):
    bin_dir, work = installed
    good = work / "brute_force.py"
    good.write_text((ROOT / "tests" / "solutions" / "brute_force.py").read_text())
    done = _run(str(bin_dir / "selftaught"), "evaluate", "--task", "lpn", "--solution",
                str(good), "--json", cwd=work)  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["score"] > 0.9
    assert {"zygote", "rlimits", "setsid"} <= set(result["layers"])
    if landlock.abi() >= 1:
        assert "landlock" in result["layers"]
        nosy = work / "nosy.py"
        nosy.write_text(READS_THE_REPO)
        done = _run(str(bin_dir / "selftaught"), "evaluate", "--task", "lpn", "--solution",
                    str(nosy), "--json", cwd=work)  # fmt: skip
        statuses = {row["status"] for row in json.loads(done.stdout.splitlines()[-1])["instances"]}
        assert statuses == {"sandbox_violation"}  # the child may not read the checkout


def test_a_short_run_from_the_wheel_records_sandboxed_work(installed):
    bin_dir, work = installed
    model = work / "stop_world.py"
    model.write_text((ROOT / "tests" / "models" / "stop_world.py").read_text())
    done = _run(str(bin_dir / "selftaught"), "run", "--iterations", "1", "--repetitions", "1",
                "--model", f"python:{model}:respond", "--run-dir", "r", "--json",
                cwd=work)  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert [r["t"] for r in result["iterations"]] == [0, 1]
    assert result["iterations"][1]["adopted"] is True
    layers = {row["layers"] for row in stored(work / "r", "evaluations", "layers")}
    improver_layers = {row["layers"] for row in stored(work / "r", "invocations", "layers")}
    for recorded in (layers, improver_layers):
        assert recorded and all("zygote" in json.loads(text) for text in recorded)
        if landlock.abi() >= 1:
            assert all("landlock" in json.loads(text) for text in recorded)
