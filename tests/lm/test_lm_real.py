"""Real models: the embedded SmolLM2 and Qwen in-process, and SmolLM2 behind llama.cpp's
OpenAI-compatible server."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig

import lm_servers  # noqa: E402
import pytest
from lm_servers import free_port  # noqa: E402

from selftaught.lm import (
    LanguageModelError,
    embedded_gguf,
    llamacpp_server,
    open_language_model,
    request_key,
    sample_seed,
)
from selftaught.lm.llamacpp import LlamaCppBackend, load_llama
from selftaught.lm.openai_backend import OpenAIBackend
from selftaught.store import RunStore

SYSTEM = "You are a concise assistant."
USER = "Name one colour."


def test_embedded_smollm2_samples_are_real_and_reproducible(tmp_path, capfd):
    store = RunStore.open_run(tmp_path, create=True)
    broker = open_language_model("llamacpp:smollm2-135m", store=store, run_seed=0, max_tokens=16)
    out = broker.sample(SYSTEM, [USER, USER], 0.7, "t=1")
    assert len(out) == 2 and all(text.strip() for text in out)
    key = request_key(broker.identity, SYSTEM, USER, 0.7, 16, 0, "t=1")
    for index in range(2):
        sample = store.get_sample(key, index)
        assert sample.response == out[index]
        assert sample.prompt_tokens > 0 and 0 < sample.completion_tokens <= 16
    # the same seed gives the same text, sample by sample
    seeds = [sample_seed(0, key, i) for i in range(2)]
    again = broker.backend.generate(SYSTEM, USER, 2, 0.7, 16, list(reversed(seeds)))
    assert [s.response for s in again] == list(reversed(out))
    # llama.cpp's C-level logging stays off the terminal
    assert "llama" not in capfd.readouterr().err


@pytest.mark.slow
def test_the_default_embedded_model_writes_code(tmp_path):
    """Qwen2.5-Coder-0.5B, assembled from its packages and verified, writes a Python function."""
    broker = open_language_model("llamacpp", run_seed=0, max_tokens=40)
    assert "qwen2.5-coder-0.5b" in broker.identity and "1d9614638d18024d" in broker.identity
    (reply,) = broker.sample(
        "You are a Python programmer. Answer with code only.",
        ["Write a Python function add(a, b) that returns a + b."],
        0.0,
        "t=1",
    )
    assert "def add(" in reply, reply


def test_a_prompt_too_long_for_the_context_is_cut_not_refused():
    # a small context keeps this quick: prompt evaluation runs at ~150 tokens/s on 2 cores
    backend = LlamaCppBackend(embedded_gguf(), n_ctx=384)
    long_user = "Improve this.\n" + "x = x + 1\n" * 1500 + "Return the improved code."
    (sample,) = backend.generate(SYSTEM, long_user, 1, 0.0, 8, [1])
    assert backend.truncated == 1
    assert 0 < sample.prompt_tokens <= 384 - 8 and sample.completion_tokens > 0


def test_a_vocab_only_load_tokenises_as_the_full_model():
    """benchmarks/ngram_share.py tokenises cached replies without loading the weights."""
    vocab = load_llama(embedded_gguf(), 512, 1, vocab_only=True)
    full = LlamaCppBackend(embedded_gguf()).model()
    text = b"def algorithm(t: str, dist: int):\n    return t\n"
    assert vocab.tokenize(text, add_bos=False) == full.tokenize(text, add_bos=False)
    assert len(vocab.tokenize(text, add_bos=False)) > 5


@pytest.fixture
def llama_server(tmp_path):
    """llama.cpp's OpenAI-compatible server on the embedded model; yields its base URL."""
    with lm_servers.llama_server(tmp_path / "server.log") as base:
        yield base


def test_openai_backend_against_a_local_server(tmp_path, llama_server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    store = RunStore.open_run(tmp_path, create=True)
    broker = open_language_model(
        "openai:smollm2", base_url=llama_server, store=store, run_seed=0, max_tokens=16
    )
    requests = []
    create = broker.backend._create
    monkeypatch.setattr(broker.backend, "_create", lambda *a: requests.append(a[1]) or create(*a))
    out = broker.sample(SYSTEM, [USER, "Name one animal.", USER], 0.7, "t=1")
    assert len(out) == 3 and all(text.strip() for text in out)
    # llama.cpp's server ignores n: the second "colour" sample comes from a top-up call (the
    # two messages are sent concurrently, so the animal's request may come first)
    assert sorted(requests) == [1, 1, 2]
    assert broker.usage.completion_tokens > 0 and broker.usage.prompt_tokens > 0
    key = request_key(broker.identity, SYSTEM, USER, 0.7, 16, 0, "t=1")
    assert [store.get_sample(key, i).response for i in range(2)] == [out[0], out[2]]


# In a Python that has llama.cpp but not selftaught (benchmarks/peers' server venv), run the
# way the server file runs there: by path, taking the swap from the llamacpp_batch.py beside it.
BY_PATH = """
import importlib.util, sys
import llama_cpp.llama_cpp as native
assert importlib.util.find_spec("selftaught") is None
spec = importlib.util.spec_from_file_location("server", sys.argv[1])
server = importlib.util.module_from_spec(spec)
spec.loader.exec_module(server)
with server.unrepacked_weights():
    inside = native.llama_model_default_params().use_extra_bufts
print(inside, native.llama_model_default_params().use_extra_bufts)
"""


def test_the_server_keeps_weights_unrepacked_without_selftaught_installed():
    # -S skips site's .pth files, so the editable selftaught is not importable; llama.cpp is
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    argv = [sys.executable, "-S", "-c", BY_PATH, llamacpp_server.__file__]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]  # swapped inside the block, restored after


def test_openai_errors_are_one_line(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(LanguageModelError, match="needs OPENAI_API_KEY"):
        OpenAIBackend("gpt-4o-mini")
    backend = OpenAIBackend("m", base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=0)
    with pytest.raises(LanguageModelError) as caught:
        backend.generate(SYSTEM, USER, 1, 0.7, 8, [0])
    assert "APIConnectionError" in str(caught.value) and "\n" not in str(caught.value)


def test_stop_t1_prompt_fits_the_embedded_context_uncut():
    """At t = 1 the quick preset's improver (repair) is shown its own source and the
    meta-utility's description; with 2048 tokens of prompt room the middle was cut away."""
    from selftaught.config import build_config
    from selftaught.improvers import builtin_source
    from selftaught.lm import open_backend
    from selftaught.meta_utility import describe

    config = build_config("quick", iterations=1)
    backend = open_backend("llamacpp", max_tokens=config.budgets.max_tokens)
    source = builtin_source(config.improver)
    namespace: dict = {}
    exec(source.replace("from helpers import extract_code", ""), namespace)  # noqa: S102
    must, _ = namespace["_must"](source)
    prompt = namespace["EXPERTISE"] + namespace["IMPROVE"].format(
        description=describe(config.budgets), score="0.450", program=source, must=must,
        shortfall="",
    )  # fmt: skip
    vocab = load_llama(embedded_gguf(), 512, 1, vocab_only=True)
    tokens = len(vocab.tokenize(prompt.encode(), add_bos=False))
    assert tokens > 2048  # the prompt that was cut
    assert tokens + 64 <= backend.n_ctx - config.budgets.max_tokens  # 64: the chat template
