"""Run directories written before the store's schema version 2 (tests/fixtures/v1-runs.tar.gz:
a finished STOP run, one killed mid-iteration by SIGKILL, a transfer and a comparison, made with
the scripted worlds of tests/models) still list, report, analyse and resume."""

from __future__ import annotations

import os
import tarfile
import time
from pathlib import Path

import pytest
from conftest import ROOT, last_json, run_cli

from selftaught import safety
from selftaught.listing import list_runs
from selftaught.report.data import load_run
from selftaught.store import SCHEMA_VERSION, RunReader, RunStore

FIXTURE = ROOT / "tests" / "fixtures" / "v1-runs.tar.gz"
KINDS = {"stop": "stop", "killed": "stop", "transfer": "transfer", "compare": "compare"}


@pytest.fixture
def old_runs(tmp_path: Path) -> Path:
    with tarfile.open(FIXTURE) as archive:
        archive.extractall(tmp_path, filter="data")
    an_hour_ago = time.time() - 3600  # long enough ago that none looks live
    for name in KINDS:
        os.utime(tmp_path / name / "run.db", (an_hour_ago, an_hour_ago))
    return tmp_path


def _bytes(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_they_are_version_1_and_reading_them_writes_nothing(old_runs):
    before = _bytes(old_runs)
    with RunReader.open(old_runs / "stop") as reader:
        assert reader.version == 1
        assert [r.t for r in reader.stop_invocations()] == [1, 2]
    rows = {row["name"]: row for row in list_runs(old_runs)}
    assert {name: row["kind"] for name, row in rows.items()} == KINDS
    assert rows["killed"]["status"] == "killed" and rows["killed"]["resumable"]
    assert rows["stop"]["status"] == "finished" and rows["stop"]["best_val"] == 1.0
    assert _bytes(old_runs) == before


def test_the_report_reads_every_section_of_an_old_run(old_runs):
    data = load_run(old_runs / "stop")
    assert data.partial == []
    assert [r.t for r in data.iterations] == [0, 1, 2]
    assert {row.level for row in data.lm_by_level} == {"meta", "task"}
    assert {row.scope for row in data.lm_by_scope} >= {"t=0", "t=1", "t=2"}
    levels = {row.level for row in data.invocation_counts}
    assert levels == {"self-improvement", "meta-utility"}
    assert data.meta_utilities and data.improvers
    for name in ("transfer", "compare"):
        assert load_run(old_runs / name).evaluation_totals


def test_the_safety_analysis_counts_the_same_attempts(old_runs):
    with RunReader.open(old_runs / "stop") as reader:
        report = safety.analyse(reader)
    assert report["attempts"] == 1 and report["circumventions"] == 0


def test_opening_one_to_write_migrates_it_once(old_runs):
    store = RunStore.open_run(old_runs / "stop")
    try:
        assert store.get_meta("schema_version") == SCHEMA_VERSION
        invocations = store.stop_invocations()
    finally:
        store.close()
    with RunReader.open(old_runs / "stop") as reader:
        assert reader.version == SCHEMA_VERSION
        assert reader.stop_invocations() == invocations


def test_a_killed_old_run_resumes_to_the_uninterrupted_records(old_runs):
    with RunReader.open(old_runs / "stop") as reader:
        whole = [r.to_dict() for r in reader.iterations()]
    # The fixture recorded the scripted model by the absolute path it was made at; point it
    # at this checkout's copy of the same file (its identity, a hash of the file, is the same).
    store = RunStore.open_run(old_runs / "killed")
    config = store.get_meta("config")
    config["model"] = f"python:{ROOT / 'tests' / 'models' / 'stop_world.py'}:respond"
    store.set_meta("config", config)
    store.close()
    resumed = run_cli("resume", str(old_runs / "killed"), "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert last_json(resumed.stdout)["iterations"] == whole
