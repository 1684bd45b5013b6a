"""`describe_models()`: every kind of language model, how to configure it, and whether it works
here; `describe_embedded()`: the embedded models and whether they are installed. Read by
`selftaught models` and `selftaught doctor`; it loads no model, hashes no file, sends nothing.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from selftaught.lm.embedded import (
    DEFAULT_MODEL,
    MODELS,
    MODELS_ENV,
    EmbeddedModel,
    EmbeddedModelError,
    cached,
    installed_parts,
    models_dir,
)
from selftaught.lm.pricing import PRICES_ENV

# Model options every remote kind takes (ModelOptions fields), for the "configure" column.
REMOTE_OPTIONS = (
    "options: temperature, max_tokens, timeout (s), retries, backoff (s), send_seed,"
    " extra_body (JSON), concurrency"
)
CAPS_NOTE = f"prices: built-in table, or a TOML/JSON file in {PRICES_ENV}"


def describe_models() -> list[dict[str, Any]]:
    """One entry per model kind: kind, example spec, what it is, whether it works here and why,
    and how to configure it (environment variables, options)."""
    llama = importlib.util.find_spec("llama_cpp") is not None
    default = MODELS[DEFAULT_MODEL]
    installed = _installed(default)
    return [
        {
            "kind": "llamacpp",
            "example": "llamacpp",
            "what": f"{default.title}, shipped split over PyPI packages, run in-process by"
            " llama.cpp; the default, offline. llamacpp:NAME for the others (table above)",
            "available": llama and not installed.startswith("no"),
            "detail": (
                f"{installed}; cache {models_dir()}"
                if llama
                else "no: llama-cpp-python is not installed"
            ),  # fmt: skip
            "configure": f"SELFTAUGHT_LLAMA_THREADS (default 2), {MODELS_ENV} (the cache);"
            " options: temperature, max_tokens; free",
        },
        {
            "kind": "llamacpp",
            "example": "llamacpp:models/qwen2.5-coder-7b-instruct-q4_k_m.gguf",
            "what": "any GGUF chat model file, run in-process by llama.cpp",
            "available": llama,
            "detail": "yes" if llama else "no: pip install llama-cpp-python",
            "configure": "SELFTAUGHT_LLAMA_THREADS; options: temperature, max_tokens; free",
        },
        _openai(),
        _anthropic(),
        {
            "kind": "python",
            "example": "python:my_model.py:respond",
            "what": "your function respond(system, user, n, temperature) -> list[str], run in the"
            " host; for scripted models and other APIs",
            "available": True,
            "detail": "yes",
            "configure": "options: temperature, max_tokens; free unless priced in " + PRICES_ENV,
        },
        {
            "kind": "replay",
            "example": "replay:runs/2024-05-01-lpn",
            "what": "every response read from another run's cache; reproduces that run offline",
            "available": True,
            "detail": "yes, for runs that recorded their model identity",
            "configure": "nothing: same seed, max tokens and improvers as the replayed run",
        },
    ]


def describe_embedded() -> list[dict[str, str]]:
    """One entry per embedded model: spec, model, size, speed, licence, whether installed."""
    return [
        {
            "spec": f"llamacpp:{model.name}",
            "model": model.title + (" (default)" if model.name == DEFAULT_MODEL else ""),
            "size": f"{model.size / 2**20:.0f} MiB",
            "speed here": model.speed,
            "licence": model.licence,
            "installed": _installed(model),
        }
        for model in MODELS.values()
    ]


def _installed(model: EmbeddedModel) -> str:
    """Whether the model can be used here, without hashing anything."""
    if cached(model) is not None:
        return "yes (verified, in the cache)"
    try:
        installed_parts(model)
    except EmbeddedModelError:
        return f"no: {model.install}"
    return "yes (assembled and verified on first use)"


def _openai() -> dict[str, Any]:
    installed = importlib.util.find_spec("openai") is not None
    base_url = os.environ.get("OPENAI_BASE_URL")
    key = bool(os.environ.get("OPENAI_API_KEY"))
    if not installed:
        detail = "no: pip install openai"
    elif key:
        detail = "yes: OPENAI_API_KEY is set" + (f", base URL {base_url}" if base_url else "")
    elif base_url:
        detail = f"yes: local server at OPENAI_BASE_URL={base_url}"
    else:
        detail = "needs OPENAI_API_KEY, or --base-url for a local server"
    return {
        "kind": "openai",
        "example": "openai:gpt-4o-mini",
        "what": "an OpenAI-compatible chat-completions API: OpenAI, or a local server"
        " (vLLM, llama.cpp, Ollama) with --base-url",
        "available": installed and (key or bool(base_url)),
        "detail": detail,
        "configure": f"OPENAI_API_KEY, OPENAI_BASE_URL or --base-url; {REMOTE_OPTIONS};"
        f" {CAPS_NOTE}",
    }


def _anthropic() -> dict[str, Any]:
    installed = importlib.util.find_spec("anthropic") is not None
    key = bool(os.environ.get("ANTHROPIC_API_KEY"))
    base_url = os.environ.get("ANTHROPIC_BASE_URL")
    if not installed:
        detail = "no: pip install anthropic"
    elif key:
        detail = "yes: ANTHROPIC_API_KEY is set" + (f", base URL {base_url}" if base_url else "")
    elif base_url:
        detail = f"yes: proxy at ANTHROPIC_BASE_URL={base_url}"
    else:
        detail = "needs ANTHROPIC_API_KEY"
    return {
        "kind": "anthropic",
        "example": "anthropic:claude-3-5-haiku-latest",
        "what": "Anthropic's Messages API (no n and no seed: one request per sample, sent"
        " concurrently; temperature capped at 1)",
        "available": installed and (key or bool(base_url)),
        "detail": detail,
        "configure": f"ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL or --base-url; {REMOTE_OPTIONS};"
        f" {CAPS_NOTE}",
    }
