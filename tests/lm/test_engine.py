"""Continuous batching on a real embedded model (the fast SmolLM2-135M): requests that share the
batch get the samples each gets alone, an abandoned or failing request leaves the others alone
(docs/performance.md, "Continuous batching")."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from selftaught.lm import LanguageModelError, open_backend
from selftaught.lm.engine import DECODING, Engine, EngineError, EngineRequest
from selftaught.lm.llamacpp import LlamaCppBackend
from selftaught.lm.llamacpp_batch import ChatPrompt

SYSTEM = "You are a concise assistant."
USERS = [
    "Write a Python function that adds two numbers.",
    "Explain recursion in one sentence.",
    "def f(x):\n    return x * 2\n# Improve this function.",
    "Write quicksort in Python.",
    "Name three sorting algorithms.",
]
TOKENS = 24


@pytest.fixture(scope="module")
def llm():
    return open_backend("llamacpp:smollm2-135m").model()


@pytest.fixture(scope="module")
def requests(llm) -> list[EngineRequest]:
    chat = ChatPrompt.of(llm)
    assert chat is not None, "the embedded GGUF carries a chat template"
    out = []
    for i, user in enumerate(USERS):
        prompt, stop = chat.render(SYSTEM, user)
        temperature = 0.0 if i == 4 else 0.8  # one greedy request among sampled ones
        out.append(EngineRequest(tuple(prompt), (7 + i, 300 + i), temperature, TOKENS, tuple(stop)))
    return out


@pytest.fixture
def engine(llm):
    engine = Engine(llm, width=4, n_ctx=512, n_threads=1)
    widths: list[int] = []
    engine.on_decode = lambda kind, tokens, seconds: widths.append(tokens if kind == "step" else 0)
    engine.widths = widths  # type: ignore[attr-defined]
    yield engine
    engine.close()


def texts(decoded) -> list[str]:
    return [d.text for d in decoded]


def test_requests_in_one_batch_get_the_samples_each_gets_alone(engine, requests) -> None:
    alone = [texts(engine.generate(r)) for r in requests]
    assert max(engine.widths) <= 2  # alone: at most the request's own two samples
    engine.widths.clear()
    futures = [engine.submit(r) for r in requests]
    together = [texts(f.result(timeout=600)) for f in futures]
    assert max(engine.widths) == 4  # the batch was full: requests joined each other's
    assert together == alone
    assert alone[0][0] != alone[0][1]  # distinct seeds, distinct samples: the seeds are used
    assert alone[4][0] == alone[4][1]  # greedy ignores the seed


def test_a_sample_that_hits_max_tokens_ends_with_length(engine, requests) -> None:
    decoded = engine.generate(requests[3])
    for d in decoded:
        assert 0 < d.tokens <= TOKENS and d.finish in ("stop", "length")
        assert (d.finish == "length") == (d.tokens == TOKENS)
    assert any(d.finish == "length" for d in decoded)  # quicksort takes more than 24 tokens


def test_an_abandoned_request_leaves_the_batch_and_the_others_go_on(engine, requests) -> None:
    expected = texts(engine.generate(requests[1]))
    long = EngineRequest(requests[3].prompt, (1, 2, 3), 0.8, 400, requests[3].stop)
    abandoned = engine.submit(long)
    kept = engine.submit(requests[1])
    while not engine.widths or max(engine.widths) < 2:
        threading.Event().wait(0.05)  # until the abandoned request is decoding
    assert abandoned.cancel()
    assert texts(kept.result(timeout=600)) == expected
    engine.widths.clear()
    assert texts(engine.generate(requests[1])) == expected  # its slots were freed and emptied
    assert max(engine.widths) == 2  # nothing of the abandoned request is decoded any more


def test_a_prompt_that_does_not_fit_is_refused_in_one_line(engine, requests) -> None:
    too_long = EngineRequest(requests[0].prompt * 40, (1,), 0.8, TOKENS)
    with pytest.raises(EngineError) as refused:
        engine.submit(too_long)
    assert "\n" not in str(refused.value) and "exceed the context of 512" in str(refused.value)
    assert texts(engine.generate(requests[0])) == texts(engine.generate(requests[0]))


def test_a_closed_engine_fails_its_waiting_requests(llm, requests) -> None:
    engine = Engine(llm, width=2, n_ctx=512, n_threads=1)
    futures = [engine.submit(r) for r in requests]
    engine.close()
    for future in futures:
        assert future.exception(timeout=60) is None or isinstance(future.exception(), EngineError)
    with pytest.raises(EngineError):
        engine.submit(requests[0])


def test_concurrent_callers_of_the_backend_get_the_samples_they_get_one_at_a_time() -> None:
    backend = open_backend("llamacpp:smollm2-135m")
    assert backend.identity.endswith("/" + DECODING) and backend.max_concurrency > 1
    alone = [texts_of(backend.generate(SYSTEM, user, 2, 0.8, 16, [5, 6])) for user in USERS[:3]]
    together: dict[int, list[str]] = {}

    def call(i: int) -> None:
        together[i] = texts_of(backend.generate(SYSTEM, USERS[i], 2, 0.8, 16, [5, 6]))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert [together[i] for i in range(3)] == alone


def texts_of(samples) -> list[str]:
    return [s.response for s in samples]


def test_a_model_file_that_fails_to_load_gives_every_request_one_line(tmp_path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 4096)
    backend = LlamaCppBackend(bad, n_ctx=512, n_threads=1)
    for _ in range(2):  # the second request gets the first one's error, not a second load
        with pytest.raises(LanguageModelError) as failed:
            backend.generate(SYSTEM, USERS[0], 1, 0.8, 8, [1])
        assert "\n" not in str(failed.value) and "cannot load" in str(failed.value)


def test_an_engine_of_one_slot_refuses_a_request_of_two_samples_instead_of_hanging(
    llm, requests
) -> None:
    engine = Engine(llm, width=1, n_ctx=512, n_threads=1)
    try:
        with pytest.raises(EngineError, match="2 samples need an engine of 2 slots"):
            engine.submit(requests[0])  # two seeds
        one = dataclasses.replace(requests[0], seeds=requests[0].seeds[:1])
        assert len(engine.generate(one)) == 1
    finally:
        engine.close()
