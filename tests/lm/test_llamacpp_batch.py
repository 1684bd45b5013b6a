"""Batched decoding on the real embedded model: a seed gives the same sample at any batch size,
through the decoder and through the backend (docs/performance.md, "Batched decoding")."""

from __future__ import annotations

import pytest

from selftaught.lm import open_backend
from selftaught.lm.engine import DECODING
from selftaught.lm.llamacpp_batch import BatchDecoder, ChatPrompt

SYSTEM = "You are a concise assistant."
USER = "Write a Python function that adds two numbers."
SEEDS = [3, 141, 59, 26, 535]


@pytest.fixture(scope="module")
def backend():
    return open_backend("llamacpp")


def test_a_seed_gives_the_same_sample_at_any_batch_size(backend) -> None:
    llm = backend.model()
    chat = ChatPrompt.of(llm)
    assert chat is not None, "the embedded GGUF carries a chat template"
    prompt, stop = chat.render(SYSTEM, USER)
    decoder = BatchDecoder(llm, width=5, n_ctx=512, n_threads=1)
    try:
        by_width = {w: decoder.generate(prompt, SEEDS, 0.8, 12, stop, width=w) for w in (1, 4, 5)}
        alone = decoder.generate(prompt, SEEDS[3:4], 0.8, 12, stop)
    finally:
        decoder.close()
    texts = {w: [d.text for d in out] for w, out in by_width.items()}
    assert texts[1] == texts[4] == texts[5]
    assert [d.text for d in alone] == texts[1][3:4]
    assert len(set(texts[1])) > 1  # distinct seeds, distinct samples: the seeds are used
    for d in by_width[5]:
        assert 0 < d.tokens <= 12 and d.finish in ("stop", "length")
        assert (d.finish == "length") == (d.tokens == 12)


def test_the_backend_batches_a_call_and_records_the_decoding_mode(backend) -> None:
    assert backend.identity.endswith("/" + DECODING)
    together = backend.generate(SYSTEM, USER, 4, 0.8, 10, SEEDS[:4])
    apart = [backend.generate(SYSTEM, USER, 1, 0.8, 10, [seed])[0] for seed in SEEDS[:4]]
    assert [s.response for s in together] == [s.response for s in apart]
    assert all(s.prompt_tokens > 0 and 0 < s.completion_tokens <= 10 for s in together)
    assert all(s.response.strip() for s in together)


def test_greedy_decoding_ignores_the_seed(backend) -> None:
    first, second = backend.generate(SYSTEM, USER, 2, 0.0, 8, [1, 2])
    assert first.response == second.response
