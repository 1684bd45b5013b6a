"""`anthropic:MODEL` through the official SDK, against a loopback fake of the Messages API
(there is no real Anthropic server here): splitting, options, retries, cost, and the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lm_servers import FaultServer  # noqa: E402

from selftaught.lm import LanguageModelError, ModelOptions, open_language_model  # noqa: E402
from selftaught.lm.anthropic_backend import AnthropicBackend  # noqa: E402
from selftaught.store import RunStore  # noqa: E402

FAKE_KEY = "sk-ant-test-NOT-A-REAL-KEY-987654"
MODEL = "claude-3-5-haiku-latest"


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    # nothing of this machine's own configuration may reach the fake server
    for name in ("ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def open_broker(run_dir: Path, url: str, **options):
    store = RunStore.open_run(run_dir, create=True)
    opts = ModelOptions(**{"timeout": 0.5, "retries": 3, "backoff": 0.01, **options})
    return open_language_model(
        f"anthropic:{MODEL}", base_url=url, store=store, run_seed=1, max_tokens=32, options=opts
    )


def test_samples_are_split_into_requests_and_priced(tmp_path):
    with FaultServer() as server:
        broker = open_broker(tmp_path, server.url, extra_body={"top_k": 5})
        out = broker.sample("be brief", ["a", "b", "a"], 1.5, "t=1")
        bodies = [body for _, _, body in server.requests]
    assert out == ["a|t=1.0", "b|t=1.0", "a|t=1.0"]  # temperature capped to Anthropic's 1
    assert len(bodies) == 3  # no n in the API: one request per sample
    for body in bodies:
        assert body["system"] == "be brief" and body["max_tokens"] == 32
        assert body["model"] == MODEL and body["top_k"] == 5 and "seed" not in body
    assert broker.usage.calls == 2 and broker.store.count("lm_calls") == 2
    assert (broker.usage.prompt_tokens, broker.usage.completion_tokens) == (36, 12)
    # claude-3-5-haiku: $0.80 / $4 per 1M tokens
    assert broker.usage.dollars == pytest.approx((36 * 0.8 + 12 * 4.0) / 1e6)
    costs = [json.loads(row["request"])["cost"] for row in broker.store.rows("lm_calls")]
    assert costs == pytest.approx([(24 * 0.8 + 8 * 4) / 1e6, (12 * 0.8 + 16) / 1e6])


def test_overloaded_and_rate_limited_are_retried(tmp_path):
    with FaultServer(["529", "429", "reset"]) as server:
        broker = open_broker(tmp_path, server.url)
        assert broker.sample("s", ["x"], 0.2) == ["x|t=0.2"]
        assert len(server.requests) == 4
        headers = server.requests[-1][1]
        # the SDK sends the key as x-api-key (older) or as a bearer token (newer)
        assert FAKE_KEY in headers.get("x-api-key", "") + headers.get("Authorization", "")
    assert broker.usage.retries == 3 and broker.store.count("lm_calls") == 1
    broker.close()
    broker.store.close()
    for path in tmp_path.glob("run.db*"):
        assert FAKE_KEY.encode() not in path.read_bytes()


def test_errors_are_one_line_without_the_key(tmp_path, monkeypatch):
    with FaultServer(["echo-key:401"]) as server:
        broker = open_broker(tmp_path, server.url)
        with pytest.raises(LanguageModelError) as caught:
            broker.sample("s", ["x"], 0.2)
    message = str(caught.value)
    assert "AuthenticationError" in message and FAKE_KEY not in message and "\n" not in message
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(LanguageModelError, match="needs ANTHROPIC_API_KEY"):
        AnthropicBackend(MODEL)
