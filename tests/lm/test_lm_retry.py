"""Retries of transient failures, injected by a loopback server the tests own: each call
completes, its retries are counted, and nothing is charged or recorded twice. The API key
never reaches the run store, the error messages or the logs."""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import pytest
from lm_servers import FaultServer, llama_server  # noqa: E402

from selftaught.lm import LanguageModelError, ModelOptions, open_language_model  # noqa: E402
from selftaught.lm.retry import (  # noqa: E402
    RetryPolicy,
    backoff,
    call_with_retries,
    parse_retry_after,
)
from selftaught.store import RunStore  # noqa: E402

FAKE_KEY = "sk-test-NOT-A-REAL-KEY-0123456789"
FAST = ModelOptions(timeout=0.5, retries=3, backoff=0.01)


@pytest.fixture(autouse=True)
def fake_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def open_broker(run_dir: Path, url: str, options: ModelOptions = FAST, model: str = "gpt-4o-mini"):
    store = RunStore.open_run(run_dir, create=True)
    return open_language_model(
        f"openai:{model}", base_url=url + "/v1", store=store, run_seed=3, max_tokens=8,
        options=options,
    )  # fmt: skip


@pytest.mark.parametrize(
    "fault", ["429", "500", "503", "hang:1.5", "reset", "malformed", "429:ms:10"]
)
def test_a_transient_failure_is_retried_and_charged_once(tmp_path, fault):
    with FaultServer([fault]) as server:
        broker = open_broker(tmp_path, server.url)
        out = broker.sample("sys", ["hello", "hello"], 0.7, "t=1")
        assert len(server.requests) == 2 and server.answered == 1
    assert out[0].startswith("hello|seed=") and out[1].startswith("hello|seed=")
    assert broker.usage.retries == 1
    assert (broker.usage.calls, broker.usage.uncached_calls, broker.usage.samples) == (1, 1, 2)
    # one request's worth of tokens: 10 prompt, 3 per choice
    assert (broker.usage.prompt_tokens, broker.usage.completion_tokens) == (10, 6)
    db = broker.store.db
    assert db.execute("SELECT COUNT(*) FROM lm_calls").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM lm_samples").fetchone()[0] == 2
    (request,) = db.execute("SELECT json_extract(request, '$.retries') FROM lm_calls").fetchone()
    assert request == 1


def test_retry_after_is_honoured(tmp_path):
    with FaultServer(["429:1", "429:ms:300"]) as server:
        broker = open_broker(tmp_path, server.url)
        start = time.monotonic()
        broker.sample("sys", ["wait"], 0.7)
        waited = time.monotonic() - start
    assert broker.usage.retries == 2
    assert 1.3 <= waited < 5  # 1 s + 0.3 s asked by the server; the backoff alone is 0.01 s


def test_out_of_retries_is_one_line_and_records_nothing(tmp_path):
    with FaultServer(["500"] * 3) as server:
        broker = open_broker(tmp_path, server.url, ModelOptions(retries=2, backoff=0.01))
        with pytest.raises(LanguageModelError) as caught:
            broker.sample("sys", ["doomed"], 0.7)
        assert len(server.requests) == 3
    message = str(caught.value)
    assert "InternalServerError" in message and "\n" not in message
    assert broker.usage.retries == 2 and broker.usage.uncached_calls == 0
    assert broker.store.count("lm_calls") == 0


def test_permanent_errors_are_not_retried_and_the_key_stays_secret(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with FaultServer(["429", "echo-key:401"]) as server:
        broker = open_broker(tmp_path, server.url)
        with pytest.raises(LanguageModelError) as caught:
            broker.sample("sys", ["who am i"], 0.7)
        assert len(server.requests) == 2  # one retry of the 429, none of the 401
        # the server did get the key, and echoed it back in its error body
        assert FAKE_KEY in server.requests[-1][1]["Authorization"]
        broker.sample("sys", ["after"], 0.7)  # a successful call, recorded
    assert "AuthenticationError" in str(caught.value)
    assert FAKE_KEY not in str(caught.value) and "***" in str(caught.value)
    assert FAKE_KEY not in caplog.text
    assert "retry 1" in caplog.text  # our log line about the retry is there, without the key
    broker.close()
    broker.store.close()
    for path in tmp_path.glob("run.db*"):
        assert FAKE_KEY.encode() not in path.read_bytes()


def test_the_base_url_credentials_stay_out_of_the_name():
    from selftaught.lm.base import strip_userinfo

    assert strip_userinfo("https://user:pw@host:1/v1") == "https://host:1/v1"
    assert strip_userinfo("http://host/v1?a=b@c") == "http://host/v1?a=b@c"


def test_backoff_is_exponential_with_jitter_and_capped():
    policy = RetryPolicy(attempts=10, base=1.0, cap=8.0, max_wait=30)
    rng = random.Random(0)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (9, 8)]:
        waits = [backoff(policy, attempt, None, rng) for _ in range(50)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 1
    assert 5 <= backoff(policy, 1, 5.0, rng) <= 5.1
    assert 30 <= backoff(policy, 1, 3600.0, rng) <= 30.1  # a huge Retry-After is cut


def test_retry_after_parsing():
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_call_with_retries_counts_through_the_hook():
    from selftaught.lm.retry import Verdict

    seen, attempts = [], iter([ConnectionError(), ConnectionError(), "ok"])

    def call():
        got = next(attempts)
        if isinstance(got, Exception):
            raise got
        return got

    result = call_with_retries(
        call,
        lambda exc: Verdict(isinstance(exc, ConnectionError), None, "conn"),
        RetryPolicy(attempts=3, base=0.0),
        name="t",
        on_retry=seen.append,
        sleep=lambda s: None,
    )
    assert result == "ok" and [i.attempt for i in seen] == [1, 2]


def test_faults_in_front_of_a_real_llama_cpp_server(tmp_path):
    """The fault proxy forwards to llama.cpp's server on the embedded model after the faults."""
    with llama_server(tmp_path / "server.log") as base:
        upstream = base.removesuffix("/v1")
        with FaultServer(["429", "reset", "500"], upstream=upstream + "/v1") as proxy:
            options = ModelOptions(timeout=60, retries=4, backoff=0.01)
            broker = open_broker(tmp_path / "run", proxy.url, options, model="smollm2")
            (text,) = broker.sample("You are concise.", ["Name one colour."], 0.7, "t=1")
            assert len(proxy.requests) == 4 and proxy.answered == 1
    assert text.strip()
    assert broker.usage.retries == 3 and broker.usage.uncached_calls == 1
    assert broker.usage.completion_tokens > 0
    assert broker.store.count("lm_calls") == 1
