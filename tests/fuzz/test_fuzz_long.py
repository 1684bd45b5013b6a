"""The fuzz property over thousands of hostile programs: `pytest -m fuzz tests/fuzz -s`.

FUZZ_BATCHES (default 40) batches of FUZZ_BATCH (default 50) solutions, and a tenth as many
batches of 10 improvers; the count and the time are printed at the end."""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fuzz.harness import METRIC_TASK, check_improvers, check_solutions
from fuzz.programs import improvers, metric_solutions, solutions

BATCHES = int(os.environ.get("FUZZ_BATCHES", "40"))
BATCH = int(os.environ.get("FUZZ_BATCH", "50"))
COUNTS = {"solutions": 0, "improvers": 0, "metrics": 0}


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def report():
    started = time.monotonic()
    yield
    seconds = time.monotonic() - started
    print(f"\nfuzz: {COUNTS['solutions']} solutions, {COUNTS['improvers']} improvers and "
          f"{COUNTS['metrics']} metric sets in {seconds:.0f} s")  # fmt: skip


@pytest.mark.fuzz
@_settings(BATCHES)
@given(
    batch=st.lists(solutions(rare_stop=True), min_size=BATCH, max_size=BATCH),
)
def test_many_hostile_solutions(tmp_path_factory, batch):
    check_solutions(tmp_path_factory.mktemp("fuzz"), [source for _, source in batch])
    COUNTS["solutions"] += len(batch)


@pytest.mark.fuzz
@_settings(max(1, BATCHES // 10))
@given(batch=st.lists(improvers(), min_size=10, max_size=10))
def test_many_hostile_improvers(tmp_path_factory, batch):
    check_improvers(tmp_path_factory.mktemp("fuzz"), [source for _, source in batch])
    COUNTS["improvers"] += len(batch)


@pytest.mark.fuzz
@_settings(max(1, BATCHES // 4))
@given(batch=st.lists(metric_solutions(), min_size=BATCH // 2, max_size=BATCH // 2))
def test_many_hostile_metrics(tmp_path_factory, batch):
    check_solutions(tmp_path_factory.mktemp("fuzz"), batch, task=METRIC_TASK)
    COUNTS["metrics"] += len(batch)
