"""A run written at schema version 2 (before evaluations recorded their node and whether they
were spliced, and invocations their wall time) reads and resumes: read-only it is migrated in
memory, opened for writing it is migrated in place, once. Version 4's wall time is also checked
through a real run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, stored

from selftaught.records import Invocation
from selftaught.store import SCHEMA_VERSION, RunReader, RunStore

RESULT = {"score": 0.5, "instances": [{"score": 0.5, "status": "ok", "seconds": 0.1}],
          "seconds": 0.2, "layers": ["zygote"], "failure": None}  # fmt: skip


@pytest.fixture
def version_2_run(tmp_path: Path) -> Path:
    """A run database as version 2 wrote it: no evaluations.node, no invocations.wall_seconds."""
    store = RunStore.open_run(tmp_path, create=True)
    store.put_evaluation("p" * 64, "lpn", "val", 7, RESULT)
    store.close()
    db = sqlite3.connect(tmp_path / "run.db")  # raw: version 2's schema, which no one writes
    db.execute("ALTER TABLE evaluations DROP COLUMN node")
    db.execute("ALTER TABLE invocations DROP COLUMN wall_seconds")
    db.execute("ALTER TABLE evaluations DROP COLUMN spliced")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    return tmp_path


def test_schema_version_3_records_the_node(tmp_path: Path) -> None:
    store = RunStore.open_run(tmp_path, create=True)
    store.put_evaluation("a" * 64, "lpn", "val", 1, RESULT | {"node": "10.0.0.2/ab12cd34"})
    store.put_evaluation("b" * 64, "lpn", "val", 1, RESULT | {"node": "local"})
    assert store.get_evaluation("a" * 64, "lpn", "val", 1).node == "10.0.0.2/ab12cd34"
    assert store.evaluation_nodes() == {"10.0.0.2/ab12cd34": 1, "local": 1}
    assert [row["node"] for row in store.rows("evaluations")] == ["10.0.0.2/ab12cd34", "local"]
    store.close()


def test_a_version_2_run_reads_without_being_written(version_2_run: Path) -> None:
    before = (version_2_run / "run.db").read_bytes()
    with RunReader.open(version_2_run) as reader:
        assert reader.version == 2
        assert reader.get_evaluation("p" * 64, "lpn", "val", 7).node is None
        assert reader.get_evaluation("p" * 64, "lpn", "val", 7).spliced is None  # version 5
        assert reader.evaluation_nodes() == {"": 1}  # ran before nodes were recorded
    assert (version_2_run / "run.db").read_bytes() == before


def test_opening_a_version_2_run_to_write_migrates_it(version_2_run: Path) -> None:
    store = RunStore.open_run(version_2_run)
    try:
        assert store.get_meta("schema_version") == SCHEMA_VERSION
        assert store.get_evaluation("p" * 64, "lpn", "val", 7).score == 0.5
        store.put_evaluation("q" * 64, "lpn", "val", 7, RESULT | {"node": "local"})
        store.put_evaluation("r" * 64, "lpn", "val", 7, RESULT | {"spliced": "spliced: f"})
        assert store.get_evaluation("r" * 64, "lpn", "val", 7).spliced == "spliced: f"
        run = {"status": "ok", "seconds": 0.1, "wall_seconds": 2.5, "layers": []}
        store.record_invocation("i" * 64, "s" * 64, Invocation.stop(1), run)
    finally:
        store.close()
    with RunReader.open(version_2_run) as reader:
        assert reader.version == SCHEMA_VERSION
        assert reader.evaluation_nodes() == {"": 2, "local": 1}
        assert reader.rows("invocations", "seconds", "wall_seconds") == [
            {"seconds": 0.1, "wall_seconds": 2.5}
        ]


def test_version_4_records_each_invocations_wall_time_beside_its_own(tmp_path: Path) -> None:
    # Each model call takes a second in the host; the improver's own clock stops meanwhile.
    assert SCHEMA_VERSION >= 4
    slow = f"python:{ROOT / 'tests' / 'models' / 'lm_echo.py'}:slow"
    done = run_cli(
        "run", "--iterations", "0", "--repetitions", "1", "--model", slow,
        "--run-dir", str(tmp_path / "run"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (row,) = stored(tmp_path / "run", "invocations", "seconds", "wall_seconds")
    assert row["wall_seconds"] >= 1.0 > row["seconds"]
