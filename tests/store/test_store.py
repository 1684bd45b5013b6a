import pytest

from selftaught.store import RunReader, RunStore, Sample, StoreError


def test_wal_mode_programs_once_and_cache(tmp_path):
    store = RunStore.open_run(tmp_path, create=True)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    a = store.put_program("x = 1\n", "solution")
    assert store.put_program("x = 1\n", "solution") == a and store.count("programs") == 1
    store.put_sample("key", 0, Sample("hello", 3, 1, 0.1))
    store.close()
    # A second process (here: a second connection) reads everything back.
    again = RunStore.open_run(tmp_path)
    assert again.get_program(a) == "x = 1\n"
    assert again.get_sample("key", 0) == Sample("hello", 3, 1, 0.1)
    assert again.get_sample("key", 1) is None


def test_missing_and_corrupted_databases_are_clear_errors(tmp_path):
    with pytest.raises(StoreError, match="no run database"):
        RunStore.open_run(tmp_path / "absent")
    (tmp_path / "run.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable run database"):
        RunStore.open_run(tmp_path)


def test_newer_schema_is_refused(tmp_path):
    RunStore.open_run(tmp_path, create=True).set_meta("schema_version", 99)
    with pytest.raises(StoreError, match="schema 99"):
        RunStore.open_run(tmp_path)
    with RunReader.open(tmp_path) as reader:  # the refusal left the file as it was
        assert reader.integrity() == "ok" and reader.get_meta("schema_version") == 99
