"""`Stop` and `MetaUtility` built directly (no command line), with the scripted world of
tests/models/stop_world.py, the real sandbox and a real run store, which they are read back
from through the store."""

from __future__ import annotations

import pytest
from conftest import SCRIPTED

from selftaught.config import Budgets, RunConfig
from selftaught.improve import Invoker, Recorder
from selftaught.improvers import builtin_source
from selftaught.lm import open_language_model
from selftaught.meta_utility import MetaUtility
from selftaught.records import IterationRecord
from selftaught.sandbox import Limits, open_sandbox
from selftaught.stop import Stop
from selftaught.store import RunReader, RunStore
from selftaught.tasks import get_task
from selftaught.utility import Evaluator

BUDGETS = Budgets(
    responses_per_call=2,
    lm_calls=2,
    utility_calls=3,
    meta_utility_calls=3,
    repetitions=2,
    temperature=0.7,
    max_tokens=256,
)


@pytest.fixture
def world(tmp_path):
    store = RunStore.open_run(tmp_path, create=True)
    sandbox = open_sandbox()
    broker = open_language_model(SCRIPTED, store=store, run_seed=7)
    invoker = Invoker(broker.sample, BUDGETS, sandbox, Recorder(store), Limits(60, 60))
    meta = MetaUtility([Evaluator(get_task("lpn"), sandbox, store)], invoker, run_seed=7)
    yield store, meta
    broker.close()
    sandbox.close()
    store.close()


def test_the_meta_utility_scores_each_repetition_and_records_it_once(world, tmp_path):
    store, meta = world
    score = meta.score_once(builtin_source("seed"), "t=0", "record")
    assert [(r.task, r.repetition) for r in score.runs] == [("lpn", 0), ("lpn", 1)]
    assert score.val == pytest.approx(sum(r.val for r in score.runs) / 2)
    assert all(0.0 <= r.test <= 1.0 for r in score.runs)  # type: ignore[operator]
    paid = store.paid_lm_calls()
    assert meta.score_once(builtin_source("seed"), "t=0", "record") == score  # read back
    assert store.paid_lm_calls() == paid
    with RunReader.open(tmp_path) as reader:
        improvers = reader.meta_utility_improvers()
        assert len(improvers) == 2 and len(set(improvers)) == 1
        assert {row.level for row in reader.lm_report()[2]} == {"task"}
        assert {row.scope for row in reader.lm_report()[3]} == {"t=0"}


def test_the_loop_adopts_the_better_improver_and_stores_typed_records(world, tmp_path):
    store, meta = world
    config = RunConfig(model=SCRIPTED, iterations=1, seed=7, budgets=BUDGETS)
    records = Stop(config, store, meta).run(builtin_source("seed"))
    assert [type(r) for r in records] == [IterationRecord, IterationRecord]
    first, second = records
    assert first.adopted is None and second.adopted is True
    assert second.meta_utility_val > first.meta_utility_val
    assert second.improver_sha256 == second.candidate_sha256 != first.improver_sha256
    with RunReader.open(tmp_path) as reader:
        assert reader.iterations() == records
        (stop_call,) = reader.stop_invocations()
        assert stop_call.t == 1 and stop_call.result == second.candidate_sha256
        levels = {row.level for row in reader.lm_report()[2]}
        assert levels == {"meta", "task"}
        counts = {row.level: row.count for row in reader.invocation_counts()}
        assert counts["self-improvement"] == 1 and counts["meta-utility"] >= 4
