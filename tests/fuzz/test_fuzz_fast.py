"""The fuzz property over a small slice of hostile programs, in the default suite."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fuzz.harness import METRIC_TASK, check_improvers, check_solutions
from fuzz.programs import improvers, metric_solutions, solutions

FAST = settings(
    max_examples=1, deadline=None, derandomize=True, database=None,
    phases=[Phase.generate], suppress_health_check=list(HealthCheck),
)  # fmt: skip


@FAST
@given(batch=st.lists(solutions(), min_size=12, max_size=12, unique_by=lambda p: p[1]))
def test_hostile_solutions(tmp_path_factory, batch):
    check_solutions(tmp_path_factory.mktemp("fuzz"), [source for _, source in batch])


@FAST
@given(batch=st.lists(improvers(), min_size=5, max_size=5, unique_by=lambda p: p[1]))
def test_hostile_improvers(tmp_path_factory, batch):
    check_improvers(tmp_path_factory.mktemp("fuzz"), [source for _, source in batch])


@FAST
@given(batch=st.lists(metric_solutions(), min_size=8, max_size=8, unique_by=lambda p: p))
def test_hostile_metrics(tmp_path_factory, batch):
    check_solutions(tmp_path_factory.mktemp("fuzz"), batch, task=METRIC_TASK)
