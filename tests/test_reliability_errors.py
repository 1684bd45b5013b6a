"""Bad input and a failing disk are one line, exit 2, no traceback, and nothing recorded is
lost (docs/reliability.md, "Errors")."""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import ROOT, last_json, one_clear_line, run_cli, stored
from hostile import HOSTILE, hostile_run

from selftaught.run_lock import holder

QUICK = ("--iterations", "0", "--repetitions", "1")


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    done, run_dir = hostile_run(tmp_path_factory.mktemp("finished"), args=QUICK)
    assert done.returncode == 0, done.stderr
    return run_dir


def _copy(run_dir: Path, to: Path) -> Path:
    to.mkdir()
    (to / "run.db").write_bytes((run_dir / "run.db").read_bytes())
    return to


def test_a_run_dir_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    one_clear_line(run_cli("run", "--model", HOSTILE, "--run-dir", str(tmp_path / "f")), "a file")


def test_resume_writes_no_schema_into_an_empty_file(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "run.db").write_bytes(b"")
    one_clear_line(run_cli("resume", str(tmp_path / "r")), "empty")
    assert (tmp_path / "r" / "run.db").stat().st_size == 0


def test_overwritten_pages_and_non_json_meta(finished, tmp_path):
    damaged = _copy(finished, tmp_path / "damaged")
    with open(damaged / "run.db", "r+b") as f:
        f.seek(4096)
        f.write(os.urandom((damaged / "run.db").stat().st_size - 4096))
    altered = _copy(finished, tmp_path / "altered")
    db = sqlite3.connect(altered / "run.db")  # raw: a value no selftaught would write
    db.execute("UPDATE meta SET value = '{not json' WHERE key = 'config'")
    db.commit()
    db.close()
    for run_dir in (damaged, altered):
        for command in ("resume", "safety"):
            one_clear_line(run_cli(command, str(run_dir)), str(run_dir))


def test_safety_and_report_only_read(finished, tmp_path):
    run_dir = _copy(finished, tmp_path / "copy")
    before = (run_dir / "run.db").stat().st_mtime_ns
    assert run_cli("safety", str(run_dir)).returncode == 0
    assert run_cli("report", str(run_dir), "-o", str(tmp_path / "r.html")).returncode == 0
    assert sorted(p.name for p in run_dir.iterdir()) == ["run.db"]
    assert (run_dir / "run.db").stat().st_mtime_ns == before
    (tmp_path / "file").write_text("x")
    bad = run_cli("report", str(run_dir), "-o", str(tmp_path / "file" / "r.html"))
    one_clear_line(bad, "cannot write the report")


def test_a_malformed_base_url(tmp_path):
    done = run_cli(
        "run", "--model", "openai:gpt-4o", "--base-url", "http://999.1.1.1:80/v1",
        "--run-dir", str(tmp_path / "r"),
    )  # fmt: skip
    one_clear_line(done, "--base-url", "999.1.1.1")
    assert not (tmp_path / "r").exists()


def test_task_and_model_files_that_exit_at_import(tmp_path):
    exits = tmp_path / "exits.py"
    exits.write_text("import sys\nsys.exit(3)\n")
    task = run_cli(
        "run", "--model", HOSTILE, "--task", str(exits), "--run-dir", str(tmp_path / "a")
    )
    one_clear_line(task, "sys.exit(3)")
    model = run_cli("run", "--model", f"python:{exits}:respond", "--run-dir", str(tmp_path / "b"))
    one_clear_line(model, "sys.exit(3)")


def _file_size_limit(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_run_stopped_before_its_start_was_recorded_says_to_run_afresh(tmp_path):
    """A disk that fills while a run records its start leaves a run.db without the initial
    improver: resume says so in one line, and what to do instead."""
    run_dir = tmp_path / "early"
    done = run_cli("run", "--model", HOSTILE, "--iterations", "0", "--run-dir", str(run_dir))
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(run_dir / "run.db") as db:  # raw: the state such a disk leaves
        db.execute("DELETE FROM meta WHERE key = 'initial_improver'")
    one_clear_line(run_cli("resume", str(run_dir)), "cannot resume", "run it again afresh")


def test_a_full_disk_mid_run_stops_cleanly_and_resume_finishes(tmp_path):
    run_dir = tmp_path / "full"
    args = ["run", "--model", HOSTILE, "--iterations", "1", "--run-dir", str(run_dir), "--json"]
    # A file may grow to 300 kB: a disk that fills up part way through the run (after 3
    # evaluations and an invocation). The WAL passes 180 kB while the run records its start,
    # so a much smaller limit fills the disk before there is a run to resume.
    full = subprocess.run(
        [sys.executable, "-m", "selftaught", *args], cwd=ROOT, capture_output=True, text=True,
        preexec_fn=_file_size_limit(300_000), timeout=600,
    )  # fmt: skip
    # What the run printed before the disk filled stays; the error is its last line, one line.
    assert full.returncode == 2 and "Traceback" not in full.stderr + full.stdout
    assert "the disk may be full" in full.stderr.strip().splitlines()[-1]
    resumed = run_cli("resume", str(run_dir), "--json")
    assert resumed.returncode == 0, resumed.stderr
    whole = run_cli(*args[:-3], "--run-dir", str(tmp_path / "whole"), "--json")
    assert last_json(resumed.stdout)["iterations"] == last_json(whole.stdout)["iterations"]


def test_no_scratch_dir_is_left_by_a_killed_run(tmp_path):
    gate = tmp_path / "go"
    args = ["run", "--model", HOSTILE, *QUICK, "--run-dir", str(tmp_path / "killed")]
    env = {**os.environ, "HOSTILE_GATE": str(gate)}
    live = subprocess.Popen([sys.executable, "-m", "selftaught", *args], cwd=ROOT, env=env)
    mine = Path(tempfile.gettempdir()).glob(f"selftaught-sandbox-{live.pid}-*")
    deadline = time.monotonic() + 60
    while not (left := list(mine)) and time.monotonic() < deadline:
        time.sleep(0.1)
        mine = Path(tempfile.gettempdir()).glob(f"selftaught-sandbox-{live.pid}-*")
    live.kill()
    live.wait()
    assert left and all(p.exists() for p in left)
    assert holder(tmp_path / "killed") is None
    done, _ = hostile_run(tmp_path, args=QUICK, name="next")
    assert done.returncode == 0, done.stderr
    assert not any(p.exists() for p in left)


def _in_read_only_mount(finished: Path, where: Path, commands: list[list[str]]) -> list[dict]:
    """Each command's exit code and stderr, run on a copy of `finished` in a tmpfs remounted
    read-only inside a mount namespace: as root, file permissions stop no write, a mount does."""
    where.mkdir()
    driver = f"""
import json, shutil, subprocess, sys
subprocess.run(["mount", "-t", "tmpfs", "none", {str(where)!r}], check=True)
shutil.copytree({str(finished)!r}, {str(where / "done")!r})
subprocess.run(["mount", "-o", "remount,ro", {str(where)!r}], check=True)
out = []
for args in json.loads(sys.argv[1]):
    done = subprocess.run([sys.executable, "-m", "selftaught", *args], capture_output=True,
                          text=True, cwd={str(ROOT)!r})
    out.append({{"rc": done.returncode, "stderr": done.stderr}})
print(json.dumps(out))
"""
    wrapped = ["unshare", "--mount", "--map-root-user", sys.executable, "-c", driver]
    try:
        done = subprocess.run([*wrapped, json.dumps(commands)], capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("no unshare(1) on this machine")
    if done.returncode != 0 and "mount" in done.stderr:
        pytest.skip(f"cannot mount in a namespace here: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_read_only_filesystem(finished, tmp_path):
    ro = tmp_path / "ro"
    new, resume, safety_, report_in, report_out = _in_read_only_mount(finished, ro, [
        ["run", "--model", HOSTILE, *QUICK, "--run-dir", str(ro / "new")],
        ["resume", str(ro / "done")],
        ["safety", str(ro / "done")],
        ["report", str(ro / "done")],
        ["report", str(ro / "done"), "-o", str(tmp_path / "report.html")],
    ])  # fmt: skip
    for done, words in ((new, "Read-only file system"), (resume, "Read-only file system"),
                        (report_in, "Read-only file system")):  # fmt: skip
        lines = [line for line in done["stderr"].splitlines() if line.strip()]
        assert done["rc"] == 2 and len(lines) == 1 and words in lines[0], done
    # What was recorded can still be read: the database opens read-only.
    assert safety_["rc"] == 0, safety_["stderr"]
    assert report_out["rc"] == 0 and (tmp_path / "report.html").stat().st_size > 1000


COMPARE_WORLD = f"python:{ROOT / 'tests' / 'models' / 'improver_worlds.py'}:respond_lpn"


@pytest.mark.parametrize(
    "detail",
    ["{not json", '{"runs": [{"task": 5, "val": "x"}]}', '{"runs": "none"}', "[1, 2]"],
)
def test_an_altered_comparison_record_is_one_line_and_nothing_else_is_lost(tmp_path, detail):
    args = (
        "compare", "--improvers", "seed", "--model", COMPARE_WORLD, "--repetitions", "1",
        "--run-dir", str(tmp_path / "c"), "--json",
    )  # fmt: skip
    assert run_cli(*args).returncode == 0
    db = sqlite3.connect(tmp_path / "c" / "run.db")  # raw: a hand-altered record
    db.execute("UPDATE meta_utilities SET detail = ?", (detail,))
    db.commit()
    db.close()
    logged = len(stored(tmp_path / "c", "lm_calls"))
    one_clear_line(run_cli(*args), "meta-utility record", "altered")
    assert len(stored(tmp_path / "c", "lm_calls")) == logged  # nothing paid or logged again
