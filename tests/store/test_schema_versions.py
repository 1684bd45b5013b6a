"""A run written at schema version 2 (before evaluations recorded their node) reads and resumes:
read-only it is migrated in memory, opened for writing it is migrated in place, once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from selftaught.store import SCHEMA_VERSION, RunReader, RunStore

RESULT = {"score": 0.5, "instances": [{"score": 0.5, "status": "ok", "seconds": 0.1}],
          "seconds": 0.2, "layers": ["zygote"], "failure": None}  # fmt: skip


@pytest.fixture
def version_2_run(tmp_path: Path) -> Path:
    """A run database as version 2 wrote it: no evaluations.node column."""
    store = RunStore.open_run(tmp_path, create=True)
    store.put_evaluation("p" * 64, "lpn", "val", 7, RESULT)
    store.close()
    db = sqlite3.connect(tmp_path / "run.db")  # raw: version 2's schema, which no one writes
    db.execute("ALTER TABLE evaluations DROP COLUMN node")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    return tmp_path


def test_schema_version_3_records_the_node(tmp_path: Path) -> None:
    assert SCHEMA_VERSION == 3
    store = RunStore.open_run(tmp_path, create=True)
    store.put_evaluation("a" * 64, "lpn", "val", 1, RESULT | {"node": "10.0.0.2/ab12cd34"})
    store.put_evaluation("b" * 64, "lpn", "val", 1, RESULT | {"node": "local"})
    assert store.get_evaluation("a" * 64, "lpn", "val", 1)["node"] == "10.0.0.2/ab12cd34"
    assert store.evaluation_nodes() == {"10.0.0.2/ab12cd34": 1, "local": 1}
    assert [row["node"] for row in store.rows("evaluations")] == ["10.0.0.2/ab12cd34", "local"]
    store.close()


def test_a_version_2_run_reads_without_being_written(version_2_run: Path) -> None:
    before = (version_2_run / "run.db").read_bytes()
    with RunReader.open(version_2_run) as reader:
        assert reader.version == 2
        assert reader.get_evaluation("p" * 64, "lpn", "val", 7)["node"] is None
        assert reader.evaluation_nodes() == {"": 1}  # ran before nodes were recorded
    assert (version_2_run / "run.db").read_bytes() == before


def test_opening_a_version_2_run_to_write_migrates_it(version_2_run: Path) -> None:
    store = RunStore.open_run(version_2_run)
    try:
        assert store.get_meta("schema_version") == SCHEMA_VERSION
        assert store.get_evaluation("p" * 64, "lpn", "val", 7)["score"] == 0.5
        store.put_evaluation("q" * 64, "lpn", "val", 7, RESULT | {"node": "local"})
    finally:
        store.close()
    with RunReader.open(version_2_run) as reader:
        assert reader.version == SCHEMA_VERSION
        assert reader.evaluation_nodes() == {"": 1, "local": 1}
