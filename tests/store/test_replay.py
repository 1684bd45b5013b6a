"""Runs recorded before the invocation vocabulary moved to one place (tests/fixtures/replay/,
made by tests/fixtures/replay/record.sh with commit 4d6402c) replay from their cache: the same
command, with `cache_from` naming the old run, pays for no model call and records the same
requests (their cache keys hold the scope strings byte for byte), seeds, invocations, scores
and iterations."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from selftaught.store import RunReader

REPLAY = ROOT / "tests" / "fixtures" / "replay"
MODEL = "python:tests/fixtures/replay/world.py:respond"
IMPROVER = "tests/fixtures/replay/improver.py"
SEED = ("--seed", "7", "--model", MODEL)
COMMANDS = {
    "stop": ("run", "--improver", IMPROVER, "--iterations", "1", "--repetitions", "2"),
    "compare": ("compare", "--improvers", IMPROVER, "--repeats", "1", "--repetitions", "2"),
    "transfer": ("transfer", "--improver", IMPROVER, "--tasks", "lpn", "--repeats", "1"),
}
# What must come back identical, per table; sorted, since repetitions run concurrently.
SAME = {
    "lm_calls": ("request_key", "first_sample", "n", "level", "scope"),
    "evaluations": ("program", "task", "split", "seed", "score", "instances"),
    "invocations": ("improver", "initial", "purpose", "level", "t", "task", "repetition"),
    "meta_utilities": ("improver", "purpose", "val", "test", "detail"),
    "iterations": ("t", "record"),
    "programs": ("sha256", "kind"),
}


def _recorded(run_dir: Path) -> dict[str, list[tuple]]:
    with RunReader.open(run_dir) as reader:
        return {
            table: sorted(tuple(_timeless(row).values()) for row in reader.rows(table, *columns))
            for table, columns in SAME.items()
        }


def _timeless(row: dict) -> dict:
    """The row without the per-instance times, which no two runs share."""
    if "instances" in row:
        outcomes = json.loads(row["instances"])
        row["instances"] = json.dumps([{**o, "seconds": None} for o in outcomes])
    return row


@pytest.mark.parametrize("kind", sorted(COMMANDS))
def test_an_old_run_replays_from_its_cache_without_a_paid_call(tmp_path, kind):
    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(REPLAY / kind / "run.db", old / "run.db")
    an_hour_ago = time.time() - 3600  # not a live run
    os.utime(old / "run.db", (an_hour_ago, an_hour_ago))
    config = tmp_path / "replay.toml"
    config.write_text(f'cache_from = "{old}"\n')
    paid = tmp_path / "paid.calls"
    new = tmp_path / "new"
    done = run_cli(
        *COMMANDS[kind], *SEED, "--config", str(config), "--run-dir", str(new), "--json",
        env={"SCRIPTED_COUNT_FILE": str(paid)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not paid.exists(), paid.read_text()  # the scripted model was never called
    with RunReader.open(new) as reader:
        assert reader.lm_usage()["uncached_calls"] == 0
    got, expected = _recorded(new), _recorded(old)
    assert expected["lm_calls"] and expected["invocations"]  # the fixture holds a real run
    for table in SAME:
        assert got[table] == expected[table], table
