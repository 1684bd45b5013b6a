"""Cost and limits: the price table, run-wide caps across sessions, --cache-from, model options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import MODELS
from lm_servers import FaultServer  # noqa: E402

from selftaught.lm import (  # noqa: E402
    LanguageModelError,
    ModelOptions,
    PriceTable,
    RunCapReached,
    SpendingCaps,
    open_language_model,
    request_key,
)
from selftaught.lm.caps import ELAPSED_KEY  # noqa: E402
from selftaught.store import RunStore  # noqa: E402

SCRIPTED = MODELS / "lm_echo.py"
SPEC = f"python:{SCRIPTED}:respond"


def scripted(run_dir: Path | None, **kw):
    store = RunStore.open_run(run_dir, create=True) if run_dir else None
    broker = open_language_model(SPEC, store=store, run_seed=7, max_tokens=64, **kw)
    broker.backend.fn.__globals__["CALLS"].clear()
    return broker


def calls_of(broker) -> list:
    return broker.backend.fn.__globals__["CALLS"]


@pytest.fixture
def no_keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fake")
    for name in ("OPENAI_BASE_URL", "SELFTAUGHT_PRICES"):
        monkeypatch.delenv(name, raising=False)


def fake_openai(run_dir: Path, url: str, model: str = "gpt-4o-mini", **kw):
    store = RunStore.open_run(run_dir, create=True)
    return open_language_model(
        f"openai:{model}", base_url=url + "/v1", store=store, run_seed=0, max_tokens=16, **kw
    )


# ------------------------------------------------------------------------------- prices
def test_price_lookup(no_keys):
    table = PriceTable.load()
    assert table.price("openai:gpt-4o-mini").input == 0.15
    assert table.price("openai:gpt-4o-mini-2024-07-18").output == 0.60  # a dated version
    assert table.price("openai:gpt-4o-2024-08-06").input == 2.50  # not gpt-4's price
    assert table.price("anthropic:claude-3-5-haiku-latest").output == 4.0
    assert table.price("openai:smollm2") is None
    assert table.price("llamacpp:x.gguf@abc").input == 0.0  # local: free
    assert table.cost("openai:gpt-4o", 1_000_000, 100_000) == pytest.approx(3.5)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_user_prices_extend_and_override(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"prices{suffix}"
    entries = {"openai:smollm2": {"input": 1, "output": 2}, "gpt-4o": {"input": 9, "output": 9}}
    if suffix == ".json":
        path.write_text(json.dumps(entries))
    else:
        path.write_text(
            '["openai:smollm2"]\ninput = 1\noutput = 2\n\n["gpt-4o"]\ninput = 9\noutput = 9\n'
        )
    for table in (PriceTable.load(path), _from_env(monkeypatch, path)):
        assert table.cost("openai:smollm2", 1_000_000, 1_000_000) == 3.0
        assert table.price("openai:gpt-4o").input == 9
        assert table.price("openai:gpt-4o-mini").input == 0.15  # built-ins stay


def _from_env(monkeypatch, path: Path) -> PriceTable:
    monkeypatch.setenv("SELFTAUGHT_PRICES", str(path))
    return PriceTable.load()


def test_bad_price_files_are_one_line(tmp_path):
    bad = tmp_path / "p.toml"
    bad.write_text('["m"]\ninput = 1\n')
    with pytest.raises(LanguageModelError, match="'m' needs input and output"):
        PriceTable.load(bad)
    bad.write_text("not = [toml")
    with pytest.raises(LanguageModelError, match="is not valid"):
        PriceTable.load(bad)
    with pytest.raises(LanguageModelError, match="price file"):
        PriceTable.load(tmp_path / "missing.toml")


def test_cost_is_recorded_per_call(tmp_path, no_keys):
    with FaultServer() as server:
        broker = fake_openai(tmp_path, server.url)
        broker.sample("s", ["a", "a", "b"], 0.7)
        broker.sample("s", ["b"], 0.7)  # index 1 of "b": a new paid request
    requests = [json.loads(row["request"]) for row in broker.store.rows("lm_calls", "request")]
    # 10 prompt tokens per request, 3 per choice; gpt-4o-mini $0.15 / $0.60 per 1M
    assert [request["paid_tokens"] for request in requests] == [16, 13, 13]
    assert [request["cost"] for request in requests] == pytest.approx(
        [(10 * 0.15 + 6 * 0.6) / 1e6, (10 * 0.15 + 3 * 0.6) / 1e6, (10 * 0.15 + 3 * 0.6) / 1e6]
    )
    assert broker.usage.dollars == pytest.approx(sum(r["cost"] for r in requests))


# --------------------------------------------------------------------------------- caps
def test_calls_cap_stops_before_paying_and_holds_across_sessions(tmp_path):
    broker = scripted(tmp_path, caps=SpendingCaps(calls=2))
    broker.sample("e", ["a"], 0.7)
    broker.sample("e", ["b", "b"], 0.7)
    with pytest.raises(RunCapReached) as caught:
        broker.sample("e", ["c"], 0.7)
    assert "calls cap 2" in str(caught.value) and "\n" not in str(caught.value)
    assert isinstance(caught.value, LanguageModelError)
    assert [c[1] for c in calls_of(broker)] == ["a", "b"]  # "c" was never sent
    broker.store.close()

    # a resumed session under the same cap: cached samples are served, new ones refused
    again = scripted(tmp_path, caps=SpendingCaps(calls=2))
    assert again.spent().calls == 2
    again.sample("e", ["a"], 0.7)
    again.sample("e", ["b", "b"], 0.7)
    with pytest.raises(RunCapReached):
        again.sample("e", ["c"], 0.7)
    assert calls_of(again) == []
    again.store.close()

    # a larger cap lets the run go on
    larger = scripted(tmp_path, caps=SpendingCaps(calls=3))
    larger.sample("e", ["c"], 0.7)
    assert [c[1] for c in calls_of(larger)] == ["c"]
    with pytest.raises(RunCapReached):
        larger.sample("e", ["d"], 0.7)


def test_a_batch_that_would_pass_the_calls_cap_sends_nothing(tmp_path):
    broker = scripted(tmp_path, caps=SpendingCaps(calls=2))
    broker.sample("e", ["a"], 0.7)
    with pytest.raises(RunCapReached, match="2 more wanted"):
        broker.sample("e", ["x", "y"], 0.7)
    assert len(calls_of(broker)) == 1


def test_token_and_dollar_caps(tmp_path, no_keys):
    with FaultServer() as server:
        broker = fake_openai(tmp_path / "t", server.url, caps=SpendingCaps(tokens=20))
        broker.sample("s", ["a"], 0.7)  # 13 tokens
        broker.sample("s", ["b"], 0.7)  # 26: the cap is crossed by the call in flight
        with pytest.raises(RunCapReached, match="26 tokens spent of the tokens cap 20"):
            broker.sample("s", ["c"], 0.7)
        assert len(server.requests) == 2
        one_call = (10 * 0.15 + 3 * 0.6) / 1e6
        # A request counts its worst case before it is sent (1 prompt token, 16 max tokens):
        # two calls fit, the third could pass the cap (tests/test_reliability_sizes.py).
        worst = (1 * 0.15 + 16 * 0.6) / 1e6
        broker = fake_openai(
            tmp_path / "d", server.url, caps=SpendingCaps(dollars=one_call + worst)
        )
        broker.sample("s", ["a"], 0.7)
        broker.sample("s", ["b"], 0.7)
        with pytest.raises(RunCapReached, match="dollars cap"):
            broker.sample("s", ["c"], 0.7)
        # a dollars cap on a model without a price is refused up front
        with pytest.raises(LanguageModelError, match="needs the price of openai:mystery"):
            fake_openai(tmp_path / "u", server.url, model="mystery", caps=SpendingCaps(dollars=1))


def test_seconds_cap_counts_earlier_sessions(tmp_path):
    broker = scripted(tmp_path)
    broker.sample("e", ["a"], 0.7)
    broker.close()
    broker.store.set_meta(ELAPSED_KEY, 100.0)  # as if the first session had run 100 s
    broker.store.close()
    again = scripted(tmp_path, caps=SpendingCaps(seconds=100))
    assert again.spent().seconds >= 100
    assert again.sample("e", ["a"], 0.7)  # cached: served
    with pytest.raises(RunCapReached, match="seconds of wall time"):
        again.sample("e", ["new"], 0.7)
    again.close()
    assert again.store.get_meta(ELAPSED_KEY) >= 100


# --------------------------------------------------------------------------- cache-from
def test_cache_from_another_run_pays_nothing_and_copies(tmp_path):
    first = scripted(tmp_path / "a")
    recorded = first.sample("e", ["p", "q", "p"], 0.7, "t=1")
    first.close()
    first.store.close()

    second = scripted(tmp_path / "b", cache_from=tmp_path / "a")
    assert second.sample("e", ["p", "q", "p", "p"], 0.7, "t=1")[:3] == recorded
    assert [c[2] for c in calls_of(second)] == [1]  # only the 3rd "p" was generated
    assert second.usage.cache_from_samples == 3 and second.usage.uncached_calls == 1
    second.close()
    second.store.close()

    # copied: the second run now resumes on its own, without the first
    alone = scripted(tmp_path / "b")
    assert alone.sample("e", ["p", "q", "p", "p"], 0.7, "t=1")[:3] == recorded
    assert calls_of(alone) == []
    with pytest.raises(LanguageModelError, match="cache-from"):
        scripted(tmp_path / "c", cache_from=tmp_path / "nowhere")


# ------------------------------------------------------------------------------ options
def test_options_reach_the_request_and_the_key(tmp_path, no_keys):
    options = ModelOptions(
        temperature=1.0, max_tokens=5, send_seed=False, extra_body={"reasoning_effort": "low"}
    )
    with FaultServer() as server:
        broker = fake_openai(tmp_path, server.url, options=options)
        broker.sample("s", ["a"], 0.3, "t=1")
        (_, _, body) = server.requests[0]
    assert body["temperature"] == 1.0 and body["max_tokens"] == 5
    assert body["reasoning_effort"] == "low" and "seed" not in body
    assert broker.identity == 'openai:gpt-4o-mini|extra_body={"reasoning_effort":"low"}'
    key = request_key(broker.identity, "s", "a", 1.0, 5, 0, "t=1")
    assert broker.store.get_sample(key, 0) is not None


def test_options_from_cli_pairs():
    options = ModelOptions.from_pairs(
        ["temperature=1", "timeout=30", 'extra_body={"top_k": 4}', "send_seed=false"]
    )
    assert (options.temperature, options.timeout, options.send_seed) == (1.0, 30.0, False)
    assert options.extra_body == {"top_k": 4}
    with pytest.raises(LanguageModelError, match="unknown model option 'colour'"):
        ModelOptions.from_pairs(["colour=red"])
    with pytest.raises(LanguageModelError, match="is not KEY=VALUE"):
        ModelOptions.from_pairs(["temperature"])
    with pytest.raises(LanguageModelError, match="must be a number"):
        ModelOptions.from_pairs(["timeout=soon"])
    with pytest.raises(LanguageModelError, match=r"must be in \[0, 2\]"):
        ModelOptions(temperature=3)
