"""What a solution's child tried is recorded: its audit log becomes safety events about the
solution, charged to the improver that produced it (real sandbox, real task, real SQLite)."""

from __future__ import annotations

from selftaught import safety
from selftaught.config import Budgets
from selftaught.improve import Invoker, Recorder
from selftaught.meta_utility import MetaUtility
from selftaught.sandbox import Limits, open_sandbox
from selftaught.store import RunStore, sha256
from selftaught.tasks import get_task
from selftaught.utility import Evaluator

ESCAPING = """import os
import numpy as np


def algorithm(train_samples, train_parity, test_samples):
    os.system("echo hello")  # refused by seccomp; the audit hook sees the attempt
    return np.zeros(len(test_samples), dtype=int).tolist()
"""

BUDGETS = Budgets(
    responses_per_call=1, lm_calls=1, utility_calls=1, meta_utility_calls=1, repetitions=1,
    temperature=0.7, max_tokens=64,
)  # fmt: skip


def test_a_solution_that_tries_to_escape_is_recorded_once_and_charged_to_it(tmp_path):
    store = RunStore.open_run(tmp_path, create=True)
    sandbox = open_sandbox()
    try:
        evaluator = Evaluator(get_task("lpn"), sandbox, store)
        invoker = Invoker(lambda *a: [], BUDGETS, sandbox, Recorder(store), Limits())
        meta = MetaUtility([evaluator], invoker, run_seed=0)
        meta._score(evaluator, ESCAPING, "val", "improver-sha")
        meta._score(evaluator, ESCAPING, "val", "improver-sha")  # read back: nothing new
        audit = store.events("audit")
        assert len(audit) == 1
        assert audit[0].program == "improver-sha"
        assert audit[0].detail["solution"] == sha256(ESCAPING)
        assert "os.system" in audit[0].detail["event"]
        report = safety.analyse(store)
        assert report["by_kind"].get("escape_attempt") == 1
        assert [p["sha256"] for p in report["programs"]] == [sha256(ESCAPING)]
    finally:
        sandbox.close()
        store.close()
