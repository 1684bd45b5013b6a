"""The language model `L`: spec parsing, backends, and the broker that caches and counts.

    broker = open_language_model(
        "llamacpp", store=store, run_seed=0, max_tokens=1024, caps=SpendingCaps(dollars=5.0),
        cache_from=Path("runs/old"), options=ModelOptions(timeout=120),
    )
    broker.save_identity()                      # once at run start, so replay:RUN_DIR can match
    handle = LanguageModelHandle(broker.sampler("t=1"), budget, 6, events)

`describe_models()` lists the kinds for `selftaught models`. Backends load lazily: opening a
llamacpp broker hashes the GGUF file (assembling an embedded model's file first, once per machine)
but loads the model only at the first cache miss.
"""

from __future__ import annotations

from pathlib import Path

from selftaught.lm.base import Backend, LanguageModelError
from selftaught.lm.broker import LMBroker, Usage, request_key, sample_seed
from selftaught.lm.caps import RunCapReached, SpendingCaps, Spent
from selftaught.lm.catalog import describe_models
from selftaught.lm.embedded import EmbeddedModelError, model_path
from selftaught.lm.llamacpp import DEFAULT_N_CTX
from selftaught.lm.options import ModelOptions
from selftaught.lm.pricing import PriceTable
from selftaught.lm.retry import RetryPolicy
from selftaught.lm.spec import ModelSpec, ModelSpecError, embedded_gguf, parse_model_spec
from selftaught.store import RunStore

PROMPT_ROOM = 4096  # tokens of prompt an embedded model's context keeps beyond max_tokens

__all__ = [
    "Backend",
    "SpendingCaps",
    "EmbeddedModelError",
    "LMBroker",
    "LanguageModelError",
    "ModelOptions",
    "ModelSpec",
    "ModelSpecError",
    "PriceTable",
    "RetryPolicy",
    "RunCapReached",
    "Spent",
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
    spec: str | ModelSpec,
    *,
    base_url: str | None = None,
    max_tokens: int = 1024,
    options: ModelOptions | None = None,
) -> Backend:
    """The backend a spec names. Raises ModelSpecError or LanguageModelError (one line each)."""
    parsed = parse_model_spec(spec) if isinstance(spec, str) else spec
    options = options or ModelOptions()
    if parsed.kind == "llamacpp":
        from selftaught.lm.llamacpp import LlamaCppBackend, threads_from_env

        # The context holds the prompt and the completion. STOP's t = 1 prompt (the repair
        # improver's source and the meta-utility's description) is about 3,700 tokens: with
        # 2048 tokens of prompt room its middle was cut away, so keep 4096.
        n_ctx = max(DEFAULT_N_CTX, (options.max_tokens or max_tokens) + PROMPT_ROOM)
        n_ctx = -(-n_ctx // 256) * 256  # llama.cpp pads the context to 256 and says so on stderr
        path = parsed.path or model_path(parsed.model)
        return LlamaCppBackend(path, n_ctx=n_ctx, n_threads=threads_from_env())
    if parsed.kind == "openai":
        from selftaught.lm.openai_backend import OpenAIBackend

        return OpenAIBackend(parsed.model, base_url=base_url, options=options)
    if parsed.kind == "anthropic":
        from selftaught.lm.anthropic_backend import AnthropicBackend

        return AnthropicBackend(parsed.model, base_url=base_url, options=options)
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
    caps: SpendingCaps | None = None,
    cache_from: Path | None = None,
    options: ModelOptions | None = None,
    prices: PriceTable | None = None,
) -> LMBroker:
    """A broker over the backend `spec` names, caching into `store` (None: no cache).

    `caps`: run-wide limits (RunCapReached past them); `cache_from`: another run's directory
    whose cached samples are used before paying; `options`: ModelOptions; `prices`: a price
    table (default: built-in plus the file in SELFTAUGHT_PRICES).
    """
    backend = open_backend(spec, base_url=base_url, max_tokens=max_tokens, options=options)
    try:
        return LMBroker(
            backend,
            store,
            run_seed=run_seed,
            max_tokens=max_tokens,
            caps=caps,
            cache_from=cache_from,
            options=options,
            prices=prices,
        )
    except Exception:
        backend.close()
        raise
