"""`llamacpp` / `llamacpp:PATH.gguf`: a GGUF model run in this process by llama-cpp-python.

Every request, from every thread, joins one continuous batch (`engine.Engine`: a decoder thread
per model that owns the llama.cpp context); the n samples of a request share its prompt, each
with its own seed, so that every sample can be reproduced on its own, at any concurrency and
whatever else is decoded beside it (a cache miss on sample 3 regenerates exactly sample 3). The
model is loaded lazily, once per process and file, and shared by every backend on that file; a
lock per model serialises loading and tokenising, because a `Llama` object is not thread-safe.

A prompt too long for the context is cut, never refused: the system line keeps its beginning
(at most a quarter of the room), and the user message keeps its first quarter and its last three
quarters around a "[... N tokens cut ...]" marker, because a STOP prompt opens with what to
improve and closes with the instruction, and the middle (the body of a long program) is what the
model can best do without. The completion budget is capped so that a prompt always has room.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from selftaught.lm.base import Backend, LanguageModelError, one_line
from selftaught.lm.engine import DECODING, WIDTH, Engine, EngineError, EngineRequest
from selftaught.lm.llamacpp_batch import ChatPrompt, unrepacked_weights
from selftaught.store import Sample

log = logging.getLogger(__name__)

DEFAULT_N_CTX = 4096
DEFAULT_THREADS = 2
THREADS_ENV = "SELFTAUGHT_LLAMA_THREADS"
MIN_PROMPT_ROOM = 512  # tokens a prompt keeps however large max_tokens is (half of a small n_ctx)
TEMPLATE_MARGIN = 64  # tokens for the chat template's role markers and re-tokenisation drift

# One Llama (and one lock serialising its use) per (file, n_ctx, n_threads) in this process.
_models: dict[tuple[str, int, int], tuple[Any, threading.Lock]] = {}
_models_lock = threading.Lock()
_digests: dict[tuple[str, int, float], str] = {}
_failures: dict[tuple[str, int, int], str] = {}  # models that failed to load: not tried again
# The engine of each model, made on first use under the model's lock (None: no chat template).
_engines: dict[tuple[str, int, int], tuple[Engine, ChatPrompt] | None] = {}
# Requests the broker sends at once: with 2 samples a request (the quick preset) they fill the
# engine's WIDTH sequences (benchmarks/engine.json: 1.55x the model phase's tokens/s).
CONCURRENCY = WIDTH // 2


class LlamaCppBackend(Backend):
    """A GGUF chat model via llama.cpp; `identity` is the file name plus a hash of its content."""

    def __init__(self, path: Path, *, n_ctx: int = DEFAULT_N_CTX, n_threads: int = DEFAULT_THREADS):
        self.path = Path(path)
        if not self.path.is_file():
            raise LanguageModelError(f"llamacpp: model file {self.path} not found")
        self.n_ctx = int(n_ctx)
        self.n_threads = int(n_threads)
        self.name = f"llamacpp:{self.path.name}"
        # The content hash, not the path, names the model: the same file elsewhere (another
        # virtualenv, another machine) gives the same cache keys.
        self.identity = f"llamacpp:{self.path.name}@{_file_digest(self.path)}"
        self.identity += f"/{DECODING}"  # how samples are drawn: another procedure, other samples
        self.truncated = 0  # prompts cut to fit the context, for the progress display
        self.max_concurrency = CONCURRENCY

    def model(self) -> Any:
        """The loaded `llama_cpp.Llama`, loading it on first use (once per process and file)."""
        return self._loaded()[0]

    def _loaded(self) -> tuple[Any, threading.Lock]:
        key = (str(self.path.resolve()), self.n_ctx, self.n_threads)
        with _models_lock:
            if key in _failures:  # one failed load is enough: every request gets its error
                raise LanguageModelError(_failures[key])
            if key not in _models:
                if not _models:
                    atexit.register(_close_all)
                try:
                    llm = load_llama(self.path, self.n_ctx, self.n_threads)
                except LanguageModelError as exc:
                    _failures[key] = str(exc)
                    raise
                _models[key] = (llm, threading.Lock())
            return _models[key]

    def generate(
        self,
        system: str,
        user: str,
        n: int,
        temperature: float,
        max_tokens: int,
        seeds: list[int],
    ) -> list[Sample]:
        llm, lock = self._loaded()
        start = time.perf_counter()
        prompt_floor = min(MIN_PROMPT_ROOM, self.n_ctx // 2)
        completion_room = max(1, min(max_tokens, self.n_ctx - prompt_floor))
        try:
            with lock:  # tokenising and the fallback share the Llama object
                system, user = self._fit(llm, system, user, self.n_ctx - completion_room)
                engine = self._engine(llm)
                if engine is None:
                    return _one_by_one(llm, system, user, temperature, completion_room, seeds)
                prompt, stop = engine[1].render(system, user)
            request = EngineRequest(
                tuple(prompt), tuple(seeds), float(temperature), completion_room, tuple(stop)
            )
            decoded = engine[0].generate(request)
        except (EngineError, ValueError, RuntimeError) as exc:  # llama.cpp's failures
            raise LanguageModelError(
                f"{self.name}: generation failed with {type(exc).__name__}: {one_line(exc)}"
            ) from exc
        seconds = (time.perf_counter() - start) / len(seeds)  # their sum is the call's wall time
        return [Sample(d.text, len(prompt), d.tokens, seconds) for d in decoded]

    def _engine(self, llm: Any) -> tuple[Engine, ChatPrompt] | None:
        """The model's engine and chat prompt, made on first use; None for a GGUF file without
        a chat template (create_chat_completion's named formats then apply, one at a time)."""
        key = (str(self.path.resolve()), self.n_ctx, self.n_threads)
        if key not in _engines:
            chat = ChatPrompt.of(llm)
            _engines[key] = None
            if chat is not None:
                engine = Engine(llm, width=WIDTH, n_ctx=self.n_ctx, n_threads=self.n_threads)
                _engines[key] = (engine, chat)
        return _engines[key]

    def _fit(self, llm: Any, system: str, user: str, room: int) -> tuple[str, str]:
        """Cut system and user so that both, in the chat template, fit in `room` tokens."""
        room -= TEMPLATE_MARGIN
        system_tokens = _tokens(llm, system)
        user_tokens = _tokens(llm, user)
        if len(system_tokens) + len(user_tokens) <= room:
            return system, user
        self.truncated += 1
        if self.truncated == 1:
            log.warning(
                "%s: prompt of %d tokens cut to fit the %d-token context (the middle of the user"
                " message goes first)",
                self.name,
                len(system_tokens) + len(user_tokens),
                self.n_ctx,
            )
        if len(system_tokens) > room // 4:
            system_tokens = system_tokens[: room // 4]
            system = _text(llm, system_tokens)
        marker_room = 16  # the marker's own tokens
        user_room = max(room - len(system_tokens) - marker_room, 2)
        head = user_room // 4
        tail = user_room - head
        cut = len(user_tokens) - head - tail
        user = (
            _text(llm, user_tokens[:head])
            + f"\n[... {cut} tokens cut ...]\n"
            + _text(llm, user_tokens[-tail:])
        )
        return system, user


def load_llama(path: Path, n_ctx: int, n_threads: int, *, vocab_only: bool = False) -> Any:
    """A `llama_cpp.Llama` on `path` with its weights unrepacked: the one place the project
    constructs one (tests/test_architecture.py), because llama.cpp's repacked kernels change
    samples with the batch width and segfault on some AVX-512/AMX CPUs (docs/performance.md).
    `vocab_only` loads the tokenizer and metadata without the weights."""
    try:
        import llama_cpp
        import llama_cpp._logger as llama_logger
    except ImportError as exc:
        raise LanguageModelError(
            f"llamacpp needs llama-cpp-python: pip install 'llama-cpp-python>=0.3.16' ({exc})"
        ) from None
    # verbose=False silences model loading; the log level silences llama.cpp's per-call chatter
    # (context and sampler notices) that its C logger would otherwise print to stderr.
    llama_logger.logger.setLevel(logging.CRITICAL)
    try:
        with unrepacked_weights():  # same samples at any batch size (llamacpp_batch)
            return llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                vocab_only=vocab_only,
                verbose=False,
            )
    except Exception as exc:
        raise LanguageModelError(
            f"llamacpp: cannot load {path} ({type(exc).__name__}: {one_line(exc)}); is it a GGUF"
            " chat model that this llama.cpp supports?"
        ) from None


def _one_by_one(
    llm: Any, system: str, user: str, temperature: float, max_tokens: int, seeds: list[int]
) -> list[Sample]:
    """One create_chat_completion per seed, for models without a chat template in the file."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    samples = []
    for seed in seeds:
        start = time.perf_counter()
        result = llm.create_chat_completion(
            messages=messages, temperature=temperature, max_tokens=max_tokens, seed=seed
        )
        usage = result.get("usage") or {}
        samples.append(
            Sample(
                response=result["choices"][0]["message"].get("content") or "",
                prompt_tokens=usage.get("prompt_tokens"),
                completion_tokens=usage.get("completion_tokens"),
                seconds=time.perf_counter() - start,
            )
        )
    return samples


def threads_from_env() -> int:
    """llama.cpp threads: SELFTAUGHT_LLAMA_THREADS, else 2.

    Worth lowering on a busy machine: llama.cpp's threads wait for each other at every step, so
    two threads sharing two cores with other work ran 10x slower than one thread here. The thread
    count does not change what is sampled, so it is not part of the model identity.
    """
    text = os.environ.get(THREADS_ENV, "").strip()
    if not text:
        return DEFAULT_THREADS
    if not text.isdigit() or int(text) < 1:
        raise LanguageModelError(f"{THREADS_ENV}={text!r} must be a positive whole number")
    return int(text)


def _close_all() -> None:
    """Free the models before interpreter teardown: `Llama.__del__` fails noisily after it."""
    with _models_lock:
        for engine in _engines.values():
            if engine is not None:
                engine[0].close()
        _engines.clear()
        for llm, _ in _models.values():
            llm.close()
        _models.clear()


def _tokens(llm: Any, text: str) -> list[int]:
    return llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)


def _text(llm: Any, tokens: list[int]) -> str:
    # A cut can split a multi-byte character; dropping the fragment is harmless.
    return llm.detokenize(tokens).decode("utf-8", errors="ignore")


def _file_digest(path: Path) -> str:
    """sha256 (first 16 hex digits) of a file, memoised per (path, size, mtime) in this process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime)
    if key not in _digests:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
        _digests[key] = digest.hexdigest()[:16]
    return _digests[key]
