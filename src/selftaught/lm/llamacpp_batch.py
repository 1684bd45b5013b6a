"""Batched decoding for the in-process llama.cpp model: the n samples of one request decoded as
sequences of one batch that share the prompt's KV cache (see docs/performance.md).

On a CPU one decode step of a small model is bound by reading the weights, so a step that
advances several sequences costs little more than a step that advances one. The prompt is
decoded once, on sequence 0, and copied to the other sequences; each step then feeds one token
per live sequence and samples each sequence from its own row of the batch's logits.

Same seed, same sample, at any batch size: every sequence has its own sampler chain seeded with
its own seed, and its own KV stream (`kv_unified=False`), so its attention reads the same cells
in the same layout whatever is decoded beside it; the prompt is always decoded the same way
(its last token again in each sequence, so that the first sampled token comes from the
sequence's own logits); and the weights are not repacked (`unrepacked_weights`), because
llama.cpp's repacked matrix kernels round a column differently when a batch holds 4 or more
sequences than when it holds fewer. `DECODING` names this procedure; it is part of the model
identity, because another procedure gives other samples for the same seeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

DECODING = "seqbatch1"  # the procedure's name in the model identity; change it when samples do
PROMPT_CHUNK = 512  # tokens per prompt decode (n_batch): fixed, because it changes the numerics
TOP_K, TOP_P, MIN_P = 40, 0.95, 0.05  # llama-cpp-python's create_chat_completion defaults


@contextmanager
def unrepacked_weights() -> Iterator[None]:
    """Models loaded by `llama_cpp.Llama` inside this block keep their weights as stored.

    `Llama` takes no option for llama.cpp's `use_extra_bufts`, so its default model parameters
    are swapped for the block; callers hold the lock that serialises model loading.
    """
    import llama_cpp.llama_cpp as native

    default = native.llama_model_default_params

    def unrepacked() -> Any:
        params = default()
        params.use_extra_bufts = False
        return params

    native.llama_model_default_params = unrepacked
    try:
        yield
    finally:
        native.llama_model_default_params = default


@dataclass(frozen=True)
class Decoded:
    """One sampled completion: its text, its token count, and why it ended."""

    text: str
    tokens: int
    finish: str  # "stop" (end of generation token or stop text) or "length"


class BatchDecoder:
    """Decodes up to `width` sequences at once on its own llama.cpp context over `llm`'s weights.

    `llm` is a loaded `llama_cpp.Llama` (its model is shared, its context is not used);
    `n_ctx` is the room of each sequence (prompt plus completion). Not thread-safe: the
    backend's per-model lock serialises callers.
    """

    def __init__(self, llm: Any, *, width: int, n_ctx: int, n_threads: int):
        import llama_cpp
        from llama_cpp import _internals

        self.llama_cpp = llama_cpp
        self.llm = llm
        self.width = int(width)
        self.n_ctx = int(n_ctx)
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = self.n_ctx * self.width
        params.n_batch = max(PROMPT_CHUNK, self.width)
        params.n_ubatch = params.n_batch
        params.n_seq_max = self.width
        params.kv_unified = False  # a stream per sequence: see the module docstring
        params.n_threads = params.n_threads_batch = int(n_threads)
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        params.no_perf = True
        self.context = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
        self.batch = _internals.LlamaBatch(
            n_tokens=params.n_batch, embd=0, n_seq_max=1, verbose=False
        )
        self.vocab = llm._model.vocab
        #: Called with ("prompt" or "step", tokens in the batch, seconds) after each decode, for
        #: the benchmarks' profiles.
        self.on_decode: Callable[[str, int, float], None] | None = None

    def close(self) -> None:
        self.batch.close()
        self.context.close()

    def generate(
        self,
        prompt: list[int],
        seeds: list[int],
        temperature: float,
        max_tokens: int,
        stop: list[str],
        width: int | None = None,
    ) -> list[Decoded]:
        """One completion of `prompt` (token ids) per seed, `width` sequences at a time (at
        most the decoder's width); the samples do not depend on `width`."""
        if len(prompt) + max_tokens > self.n_ctx:
            raise ValueError(f"{len(prompt)} prompt + {max_tokens} tokens exceed {self.n_ctx}")
        width = max(1, min(width or self.width, self.width))
        memory = self.context.memory
        self.llama_cpp.llama_memory_clear(memory, True)
        self._decode_prompt(prompt[:-1])
        out: list[Decoded] = []
        for start in range(0, len(seeds), width):
            group = seeds[start : start + width]
            for seq in range(1, len(group)):
                self.llama_cpp.llama_memory_seq_cp(memory, 0, seq, -1, -1)
            out.extend(self._group(prompt, group, temperature, max_tokens, stop))
            for seq in range(len(group)):  # back to the shared prefix for the next group
                self.llama_cpp.llama_memory_seq_rm(memory, seq, len(prompt) - 1, -1)
        return out

    def _decode_prompt(self, tokens: list[int]) -> None:
        for start in range(0, len(tokens), PROMPT_CHUNK):
            chunk = tokens[start : start + PROMPT_CHUNK]
            self._fill([(token, start + i, 0, False) for i, token in enumerate(chunk)])
            self._decode("prompt")

    def _group(
        self,
        prompt: list[int],
        seeds: list[int],
        temperature: float,
        max_tokens: int,
        stop: list[str],
    ) -> list[Decoded]:
        samplers = [self._sampler(seed, temperature) for seed in seeds]
        tokens: list[list[int]] = [[] for _ in seeds]
        texts = [b"" for _ in seeds]
        finish: list[str | None] = [None for _ in seeds]
        stops = [s.encode("utf-8") for s in stop if s]
        feed = {seq: prompt[-1] for seq in range(len(seeds))}
        position = len(prompt) - 1
        try:
            while feed:
                live = sorted(feed)
                self._fill([(feed[seq], position, seq, True) for seq in live])
                self._decode("step")
                feed = {}
                for row, seq in enumerate(live):
                    token = self.llama_cpp.llama_sampler_sample(
                        samplers[seq], self.context.ctx, row
                    )
                    if self.llama_cpp.llama_vocab_is_eog(self.vocab, token):
                        finish[seq] = "stop"
                        continue
                    tokens[seq].append(token)
                    texts[seq] += self.llm._model.token_to_piece(token).rstrip(b"\0")
                    cut = _stop_at(texts[seq], stops)
                    if cut is not None:
                        texts[seq] = texts[seq][:cut]
                        finish[seq] = "stop"
                    elif len(tokens[seq]) >= max_tokens:
                        finish[seq] = "length"
                    else:
                        feed[seq] = token
                position += 1
        finally:
            for sampler in samplers:
                self.llama_cpp.llama_sampler_free(sampler)
        return [
            Decoded(text.decode("utf-8", errors="ignore"), len(toks), end or "length")
            for text, toks, end in zip(texts, tokens, finish, strict=True)
        ]

    def _sampler(self, seed: int, temperature: float) -> Any:
        """create_chat_completion's chain: top-k, top-p, min-p, temperature, then a seeded draw;
        greedy at temperature 0."""
        lc = self.llama_cpp
        chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
        if temperature <= 0:
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_greedy())
            return chain
        for part in (
            lc.llama_sampler_init_top_k(TOP_K),
            lc.llama_sampler_init_top_p(TOP_P, 1),
            lc.llama_sampler_init_min_p(MIN_P, 1),
            lc.llama_sampler_init_temp(temperature),
            lc.llama_sampler_init_dist(seed & 0xFFFFFFFF),
        ):
            lc.llama_sampler_chain_add(chain, part)
        return chain

    def _fill(self, entries: list[tuple[int, int, int, bool]]) -> None:
        """Put (token, position, sequence, wants logits) entries into the batch."""
        batch = self.batch.batch
        batch.n_tokens = len(entries)
        for i, (token, position, seq, logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = position
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = logits

    def _decode(self, kind: str) -> None:
        tokens = self.batch.batch.n_tokens
        if tokens == 0:
            return
        began = time.perf_counter()
        code = self.llama_cpp.llama_decode(self.context.ctx, self.batch.batch)
        if code != 0:
            raise RuntimeError(f"llama_decode returned {code}")
        if self.on_decode is not None:
            self.on_decode(kind, tokens, time.perf_counter() - began)


def _stop_at(text: bytes, stops: list[bytes]) -> int | None:
    """Where the first stop text begins in `text`, or None."""
    found = [text.find(stop) for stop in stops]
    hits = [at for at in found if at >= 0]
    return min(hits) if hits else None


class ChatPrompt:
    """The model's own chat template (GGUF metadata), rendered and tokenised as
    create_chat_completion does; `None` from `ChatPrompt.of` when the file has no template."""

    def __init__(self, llm: Any, template: str):
        from llama_cpp import llama_chat_format

        model = llm._model
        eos, bos = llm.token_eos(), llm.token_bos()
        self.llm = llm
        self.formatter = llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(eos) if eos != -1 else "",
            bos_token=model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )

    @classmethod
    def of(cls, llm: Any) -> ChatPrompt | None:
        template = (getattr(llm, "metadata", None) or {}).get("tokenizer.chat_template")
        return cls(llm, template) if template else None

    def render(self, system: str, user: str) -> tuple[list[int], list[str]]:
        """(prompt token ids, stop texts) for a system line and a user message."""
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        result = self.formatter(messages=messages)
        tokens = self.llm.tokenize(
            result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
        )
        stop = result.stop if isinstance(result.stop, list) else [result.stop or ""]
        return tokens, [s for s in stop if s]
