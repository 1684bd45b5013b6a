"""`selftaught.compare`: improvers under identical budgets on the real LPN task, with a scripted
`python:` model in which only a "from scratch" prompt yields the brute-force solver (so the
hints improver should beat the seed improver on every run), plus the statistics on their own."""

from __future__ import annotations

import pytest
from conftest import ROOT

from selftaught.compare import compare
from selftaught.config import Budgets
from selftaught.improve import Invoker, Recorder
from selftaught.improvers import ImproverError, builtin_source
from selftaught.lm import open_language_model
from selftaught.sandbox import Limits, open_sandbox
from selftaught.stats import bootstrap_interval, paired_comparison, sign_test
from selftaught.tasks import get_task
from selftaught.utility import Evaluator

MODEL = f"python:{ROOT / 'tests' / 'models' / 'improver_worlds.py'}:respond_lpn"
BUDGETS = Budgets(
    responses_per_call=3,
    lm_calls=2,
    utility_calls=7,
    meta_utility_calls=1,
    repetitions=2,
    temperature=0.7,
    max_tokens=256,
)
REPEATS = 2
RUNS = REPEATS * BUDGETS.repetitions


@pytest.fixture(scope="module")
def world():
    sandbox = open_sandbox()
    broker = open_language_model(MODEL, store=None)
    yield sandbox, broker
    broker.close()
    sandbox.close()


def run(world, improvers, **options):
    sandbox, broker = world
    limits = Limits(wall_seconds=60, cpu_seconds=60)
    return compare(
        improvers,
        [Evaluator(get_task("lpn"), sandbox, None)],
        Invoker(broker.sample, BUDGETS, sandbox, Recorder(None), limits),
        repeats=REPEATS,
        seed=11,
        usage=lambda: broker.usage.as_dict(),
        **options,
    )


def test_hints_beat_the_seed_on_every_paired_run(world, tmp_path):
    copy = tmp_path / "seed_copy.py"
    copy.write_text(builtin_source("seed"))
    rows = run(world, ["hints", str(copy), "seed"])
    assert [r.improver for r in rows][0] == "hints"
    by_name = {r.improver: r for r in rows}
    hints, seed = by_name["hints"], by_name["seed"]
    assert all(r.task == "lpn" and r.runs == RUNS for r in rows)
    assert hints.mean > 0.9 and seed.mean < 0.7
    assert hints.ci95[0] <= hints.mean <= hints.ci95[1]
    assert seed.vs_baseline is None
    versus = hints.vs_baseline
    assert (versus["wins"], versus["losses"], versus["ties"]) == (RUNS, 0, 0)
    assert versus["sign_test_p"] == pytest.approx(2 / 2**RUNS)
    assert versus["ci95"][0] > 0.2
    # Same source, same seeds, same budgets: the copy's every run equals the seed's.
    assert by_name[str(copy)].scores == seed.scores
    assert by_name[str(copy)].vs_baseline["ties"] == RUNS
    # What each used, from the broker: never past the budgets, hints used all of its calls.
    for row in rows:
        assert 0 < row.lm_budget_units <= RUNS * BUDGETS.lm_calls
        assert row.lm_requests >= row.lm_budget_units
        assert row.tokens == 0  # the python: backend reports no tokens
        assert row.seconds > 0 and row.lm_seconds >= 0
    assert hints.lm_budget_units == RUNS * BUDGETS.lm_calls
    assert seed.lm_budget_units == RUNS  # one batch per run


def test_the_baseline_is_run_even_when_not_listed(world):
    rows = run(world, ["temperature_sweep"], baseline="seed")
    assert sorted(r.improver for r in rows) == ["seed", "temperature_sweep"]


def test_an_unusable_improver_fails_before_any_run(world, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def improve_algorithm(:\n")
    sandbox, broker = world
    calls = broker.usage.batches
    with pytest.raises(ImproverError):
        run(world, ["seed", str(broken)])
    with pytest.raises(ImproverError):
        run(world, ["no_such_improver"])
    assert broker.usage.batches == calls


def test_sign_test_is_exact_and_two_sided():
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 0) == pytest.approx(2 / 32)
    assert sign_test(0, 5) == sign_test(5, 0)
    assert sign_test(3, 3) == 1.0
    assert sign_test(9, 1) == pytest.approx(2 * 11 / 1024)


def test_bootstrap_intervals_bracket_the_mean_and_pair_by_slot():
    assert bootstrap_interval([0.4], resamples=100) == (0.4, 0.4)
    low, high = bootstrap_interval([0.1, 0.5, 0.9, 0.3])
    assert 0.1 <= low < 0.45 < high <= 0.9
    paired = paired_comparison([0.6, 0.7, 0.5], [0.5, 0.5, 0.5], "seed", 500, 0)
    assert (paired["wins"], paired["losses"], paired["ties"]) == (2, 0, 1)
    assert paired["mean_diff"] == pytest.approx(0.1)
    assert paired["ci95"][0] >= 0.0


def test_repeats_must_be_positive(world):
    with pytest.raises(ValueError):
        compare([], [], None, repeats=0, seed=0)  # type: ignore[arg-type]


def test_progress_names_each_row_as_it_starts(world):
    said: list[str] = []
    rows = run(world, ["hints"], progress=said.append)
    assert len(said) == len(rows) == 2  # hints and the seed baseline, on lpn
    assert said == ["hints on lpn (row 1 of 2)", "seed on lpn (row 2 of 2)"]


def test_the_summary_is_one_typed_result_per_improver_and_reads_back_from_its_json():
    from selftaught.compare import summarize
    from selftaught.records import CompareRow, ImproverResult

    def row(improver, task, scores, versus=None):
        mean = sum(scores) / len(scores)
        return CompareRow(improver, task, tuple(scores), mean, (mean, mean), 1.0,
                          vs_baseline=versus, lm_requests=2, tokens=10)  # fmt: skip

    versus = {"wins": 2, "losses": 0, "ties": 0}
    rows = [
        row("seed", "lpn", [0.2, 0.4]),
        row("hints", "lpn", [0.9, 1.0], versus),
        row("seed", "maxcut", [0.6, 0.6]),
        row("hints", "maxcut", [0.7, 0.9], versus),
    ]
    hints, seed = summarize(rows)
    assert (hints.name, seed.name) == ("hints", "seed")  # best mean first
    assert hints.tasks == {"lpn": 0.95, "maxcut": 0.8} and hints.mean == pytest.approx(0.875)
    assert hints.task_ci == {"lpn": (0.95, 0.95), "maxcut": (0.8, 0.8)}
    assert (hints.lm_calls, hints.tokens, hints.seconds) == (4, 20, 2.0)
    assert hints.vs_seed == pytest.approx(2 / 2**4) and seed.vs_seed is None
    assert rows[0].runs == 2
    for result in (hints, seed):
        entry = result.to_json()
        assert entry["tasks"]["lpn"]["ci"] == list(result.task_ci["lpn"])
        assert ImproverResult.from_entry(entry) == result
