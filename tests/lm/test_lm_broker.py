"""The broker with a scripted `python:` model: batching, order, cache, scopes, replay, errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import MODELS

from selftaught.lm import LanguageModelError, open_language_model, request_key, sample_seed
from selftaught.store import RunStore

SCRIPTED = MODELS / "lm_echo.py"
SPEC = f"python:{SCRIPTED}:respond"


def scripted_calls(broker) -> list:
    """The CALLS list of the scripted module the broker's backend loaded."""
    return broker.backend.fn.__globals__["CALLS"]


@pytest.fixture
def run_dir(tmp_path) -> Path:
    return tmp_path / "run"


def open_broker(run_dir: Path, spec: str = SPEC, **kw):
    store = RunStore.open_run(run_dir, create=True)
    return open_language_model(spec, store=store, run_seed=kw.pop("run_seed", 7), max_tokens=64)


def test_identical_messages_go_out_as_one_request_in_order(run_dir):
    broker = open_broker(run_dir)
    calls = scripted_calls(broker)
    calls.clear()
    out = broker.sample("expert", ["a", "b", "a", "a"], 0.7, "t=1")
    assert calls == [("expert", "a", 3, 0.7), ("expert", "b", 1, 0.7)]
    assert out == ["a#1.0", "b#2.0", "a#1.1", "a#1.2"]
    assert broker.store.count("lm_calls") == 2
    usage = broker.usage.as_dict()
    assert (usage["batches"], usage["calls"], usage["uncached_calls"], usage["samples"]) == (
        1,
        2,
        2,
        4,
    )


def test_resume_reads_back_from_the_store_without_calling_the_model(run_dir):
    first = open_broker(run_dir)
    calls = scripted_calls(first)
    calls.clear()
    before = [first.sample("e", ["x", "y", "x"], 0.7, "t=1"), first.sample("e", ["x"], 0.7, "t=1")]
    # the second occurrence of "x" is a new sample (index 2), not the cached first one
    assert before[1] == ["x#3.0"]
    first.store.close()

    calls.clear()
    second = open_broker(run_dir)  # a new process after a kill: counters start again at 0
    after = [second.sample("e", ["x", "y", "x"], 0.7, "t=1"), second.sample("e", ["x"], 0.7, "t=1")]
    assert after == before
    assert calls == []
    assert second.usage.uncached_calls == 0 and second.usage.cached_samples == 4
    # every call is recorded, cached ones too
    calls = second.store.rows("lm_calls", "first_sample", "n", "cached")
    rows = [(c["first_sample"], c["n"], c["cached"]) for c in calls]
    assert rows[-3:] == [(0, 2, 2), (0, 1, 1), (2, 1, 1)]


def test_partial_hit_generates_only_the_missing_samples(run_dir):
    first = open_broker(run_dir)
    calls = scripted_calls(first)
    calls.clear()
    (cached,) = first.sample("e", ["m"], 0.7, "")
    second = open_broker(run_dir)
    out = second.sample("e", ["m", "m", "m"], 0.7, "")
    assert out[0] == cached
    assert calls[-1] == ("e", "m", 2, 0.7)
    assert second.usage.cached_samples == 1 and second.usage.uncached_calls == 1


def test_scope_and_settings_separate_requests(run_dir):
    broker = open_broker(run_dir)
    calls = scripted_calls(broker)
    calls.clear()
    broker.sample("e", ["q"], 0.7, "t=1")
    second_scope = broker.sample("e", ["q"], 0.7, "t=2")
    broker.sample("e", ["q"], 1.0, "t=2")
    assert len(calls) == 3
    again = open_broker(run_dir)
    calls.clear()
    # scope "t=2" counts from 0 on its own: a resume at iteration 2 hits its cache
    assert again.sample("e", ["q"], 0.7, "t=2") == second_scope
    assert calls == []
    # another run seed is another request
    other = open_broker(run_dir, run_seed=8)
    other.sample("e", ["q"], 0.7, "t=1")
    assert len(calls) == 1


def test_sampler_binds_a_scope(run_dir):
    broker = open_broker(run_dir)
    sample = broker.sampler("t=3")
    out = sample("e", ["s", "s"], 0.5)
    assert len(out) == 2 and out[0] != out[1]
    key = request_key(broker.identity, "e", "s", 0.5, 64, 7, "t=3")
    assert broker.store.get_sample(key, 1).response == out[1]


def test_keys_and_seeds_are_stable():
    key = request_key("m", "sys", "user", 0.7, 1024, 0, "t=1")
    assert key == request_key("m", "sys", "user", 0.7, 1024, 0, "t=1")
    assert key != request_key("m", "sys", "user", 0.7, 1024, 0, "t=2")
    seeds = {sample_seed(0, key, i) for i in range(100)}
    assert len(seeds) == 100 and all(0 <= s < 2**31 for s in seeds)
    assert sample_seed(0, key, 3) == sample_seed(0, key, 3) != sample_seed(1, key, 3)


def test_replay_serves_another_runs_cache(tmp_path):
    original = open_broker(tmp_path / "a")
    original.save_identity()
    recorded = original.sample("e", ["r", "r", "z"], 0.7, "t=1")
    original.store.close()

    replay = open_broker(tmp_path / "b", spec=f"replay:{tmp_path / 'a'}")
    assert replay.identity == original.identity
    assert replay.sample("e", ["r", "r", "z"], 0.7, "t=1") == recorded
    # copied into the replaying run, which records the same identity
    replay.save_identity()
    assert replay.store.get_meta("model_identity") == original.identity
    with pytest.raises(LanguageModelError) as caught:
        replay.sample("e", ["never asked"], 0.7, "t=1")
    message = str(caught.value)
    assert "no recorded response" in message and "never asked" in message and "\n" not in message


def test_replay_of_a_run_without_identity_is_refused(tmp_path):
    RunStore.open_run(tmp_path, create=True).close()
    with pytest.raises(LanguageModelError, match="records no 'model_identity'"):
        open_language_model(f"replay:{tmp_path}")


@pytest.mark.parametrize(
    ("function", "says"),
    [
        ("wrong_count", "must return a list of 2 strings, got 1 items"),
        ("not_strings", "must return strings; item 0 is int"),
        ("broken", "raised RuntimeError: the scripted model failed on purpose"),
    ],
)
def test_python_model_errors_are_one_line(function, says):
    broker = open_language_model(f"python:{SCRIPTED}:{function}")
    with pytest.raises(LanguageModelError) as caught:
        broker.sample("e", ["a", "a"], 0.7)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_python_model_missing_function_or_module(tmp_path):
    with pytest.raises(LanguageModelError, match="no function 'nope'"):
        open_language_model(f"python:{SCRIPTED}:nope")
    with pytest.raises(LanguageModelError, match="import failed with ModuleNotFoundError"):
        open_language_model("python:no_such_module_here:respond")
    bad = tmp_path / "bad.py"
    bad.write_text("raise ValueError('broken\\nmodel')\n")
    with pytest.raises(LanguageModelError, match="import failed with ValueError: broken model"):
        open_language_model(f"python:{bad}:respond")


def test_python_model_from_a_dotted_module(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTED.parent))
    broker = open_language_model("python:lm_echo:respond")
    assert broker.sample("e", ["d"], 0.7)[0].startswith("d#")
    sys.modules.pop("lm_echo", None)


def test_no_store_still_counts_occurrences():
    broker = open_language_model(SPEC)
    calls = scripted_calls(broker)
    calls.clear()
    broker.sample("e", ["n"], 0.7)
    broker.sample("e", ["n"], 0.7)
    assert len(calls) == 2 and broker.usage.samples == 2
