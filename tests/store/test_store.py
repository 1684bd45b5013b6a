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


def test_the_read_methods_return_the_typed_records(tmp_path):
    import shutil
    from pathlib import Path

    from selftaught.records import (
        RECORD_PURPOSE,
        InvocationOutcome,
        IterationRecord,
        MetaScore,
        RepetitionScore,
    )

    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "replay" / "stop" / "run.db"
    shutil.copy(fixture, tmp_path / "run.db")
    with RunReader.open(tmp_path) as reader:
        iterations = reader.iterations()
        assert [type(r) for r in iterations] == [IterationRecord, IterationRecord]
        assert [r.t for r in iterations] == [0, 1] and iterations[1].adopted is True
        scores = reader.record_meta_utilities()
        assert set(scores) == {r.improver_sha256 for r in iterations}
        for improver, score in scores.items():
            assert isinstance(score, MetaScore) and len(score.runs) == 2
            assert all(isinstance(run, RepetitionScore) for run in score.runs)
            assert reader.get_meta_utility(improver, RECORD_PURPOSE) == score
        (stop,) = reader.stop_invocations()
        assert stop == InvocationOutcome(1, iterations[0].improver_sha256, "ok",
                                         result=iterations[1].candidate_sha256)  # fmt: skip
        downstream = reader.downstream_runs()
        runs = downstream[iterations[0].improver_sha256]
        assert {(r.task, r.repetition) for r in runs} == {("lpn", 0), ("lpn", 1)}
        assert all(isinstance(r.val, float) and r.result for r in runs)


def test_an_altered_meta_utility_reads_as_its_scores_and_refuses_a_resume(tmp_path):
    from selftaught.records import MetaScore

    store = RunStore.open_run(tmp_path, create=True)
    store.put_meta_utility("a" * 64, "record", 0.5, 0.25, {"runs": [{"task": 5}]})
    store.close()
    with RunReader.open(tmp_path) as reader:
        assert reader.record_meta_utilities() == {"a" * 64: MetaScore(0.5, 0.25)}
        with pytest.raises(StoreError, match="altered"):
            reader.get_meta_utility("a" * 64, "record")


def test_evaluations_events_and_zero_scores_read_back_as_records(tmp_path):
    from selftaught.records import Invocation, StoredEvaluation, StoredEvent, ZeroScoreCount

    store = RunStore.open_run(tmp_path, create=True)
    instances = [{"score": 0.0, "status": "error", "seconds": 0.1, "reason": "no", "metric": 3}]
    failed = {"score": 0.0, "instances": instances, "seconds": 0.2, "layers": ["zygote"],
              "failure": "no", "node": "local"}  # fmt: skip
    seed, wrote = "s" * 64, "w" * 64
    run = {"status": "ok", "seconds": 0.1, "layers": []}
    store.record_invocation("i" * 64, seed, Invocation.meta_utility("lpn", 0), run)
    store.put_evaluation(seed, "lpn", "val", 1, failed | {"score": 0.5, "failure": None})
    store.put_evaluation(wrote, "lpn", "val", 1, failed)
    store.record_event("audit", "i" * 64, {"solution": wrote, "t": 1})
    store.close()
    with RunReader.open(tmp_path) as reader:
        got = reader.get_evaluation(wrote, "lpn", "val", 1)
        assert got == StoredEvaluation(0.0, instances, 0.2, ["zygote"], "no", "local", None)
        assert reader.get_evaluation(wrote, "lpn", "test", 1) is None
        detail = {"solution": wrote, "t": 1}
        assert reader.events() == [StoredEvent("audit", "i" * 64, detail)]
        assert reader.events("exec") == []
        # the seed solution, which the improver started from, is not the model's
        assert reader.zero_scores() == [ZeroScoreCount("lpn", 1, 1, "no", 1)]
