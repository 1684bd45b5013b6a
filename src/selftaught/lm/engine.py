"""Continuous batching for the in-process llama.cpp model: one decoder thread owns the context,
and every request from every thread joins its running batch at a token boundary.

On a CPU one decode step of a small model is bound by reading the weights, so a step that
advances several sequences costs little more than a step that advances one. The engine keeps
`width` sequence slots; a request (one prompt, n seeds) waits in a queue until a slot is free,
has its prompt decoded once in that slot (in its own decode calls, between two steps of the
others), and its samples then run as sequences of the shared batch: each in a slot of its own,
copied from the prompt's slot, the last in the prompt's slot itself. A sequence leaves the batch
when it finishes, and its slot goes to the next waiting sample at once.

Same seed, same sample, whatever runs beside it: every sequence has its own sampler chain seeded
with its own seed (no shared random state), and its own KV stream (`kv_unified=False`), emptied
before it is reused, so its attention reads the same cells in the same layout whatever else is in
the batch; a prompt is always decoded alone, in chunks of PROMPT_CHUNK tokens, and its last token
again in each sample's sequence; the weights are not repacked (`unrepacked_weights`).
`benchmarks/engine.py` measures at which widths samples stay the same (`WIDTH` is the widest), and
`tests/lm/test_engine.py` checks it on the real model. `DECODING` names the procedure in the
model identity.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

from selftaught.lm.llamacpp_batch import MIN_P, PROMPT_CHUNK, TOP_K, TOP_P, Decoded

DECODING = "cbatch1"  # the procedure's name in the model identity; change it when samples do
# Sequences decoded at once: the widest at which the 0.5B's samples were measured identical to
# its samples decoded alone (1, 2, 4 yes; 8 and 16 no: benchmarks/engine.json, docs/performance.md).
WIDTH = 4


class EngineError(Exception):
    """A request the engine could not serve; the message is one line."""


@dataclass(frozen=True)
class EngineRequest:
    """One prompt (token ids) to complete once per seed; `stop` texts end a completion."""

    prompt: tuple[int, ...]
    seeds: tuple[int, ...]
    temperature: float
    max_tokens: int
    stop: tuple[str, ...] = ()


@dataclass
class _Ticket:
    """A request in the engine: its future, its prompt's slot, its samples as they finish."""

    request: EngineRequest
    future: Future[list[Decoded]]
    submitted: float
    next_sample: int = 0
    prompt_slot: int | None = None
    results: dict[int, Decoded] = field(default_factory=dict)
    first_token: float | None = None
    stops: list[bytes] = field(default_factory=list)

    def settle(self, result: list[Decoded] | None = None, error: Exception | None = None) -> None:
        """Give the caller its samples or its error, unless it has abandoned the request."""
        try:
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(result or [])
        except InvalidStateError:  # cancelled by its caller meanwhile: nobody is waiting
            pass

    @property
    def pending(self) -> int:
        return len(self.request.seeds) - self.next_sample


@dataclass
class _Sequence:
    """One sample being decoded in a slot."""

    ticket: _Ticket
    index: int
    sampler: Any
    feed: int
    position: int
    tokens: list[int] = field(default_factory=list)
    text: bytes = b""


class Engine:
    """The decoder thread over `llm`'s weights (a loaded `llama_cpp.Llama`, whose own context
    is not used). `n_ctx` is the room of each sequence (prompt plus completion). Thread-safe:
    `generate` and `submit` may be called from any thread."""

    def __init__(self, llm: Any, *, width: int = WIDTH, n_ctx: int, n_threads: int):
        import llama_cpp
        from llama_cpp import _internals

        self.lc = llama_cpp
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
        self.slots: list[_Sequence | None] = [None] * self.width
        self.queue: deque[_Ticket] = deque()
        self.admitted: list[_Ticket] = []  # prompt decoded, samples still to start
        self.cond = threading.Condition()
        self.closing = False
        #: Called with ("prompt" or "step", tokens in the batch, seconds) after each decode, for
        #: the benchmarks' profiles; and with a request's seconds from submission to first token.
        self.on_decode: Callable[[str, int, float], None] | None = None
        self.on_first_token: Callable[[float], None] | None = None
        self.thread = threading.Thread(target=self._run, name="selftaught-engine", daemon=True)
        self.thread.start()

    # -- the callers' side -------------------------------------------------------------------

    def submit(self, request: EngineRequest) -> Future[list[Decoded]]:
        """Queue `request`; its future holds one Decoded per seed, in seed order."""
        if not request.prompt or not request.seeds:
            raise EngineError("a request needs a prompt and at least one seed")
        if len(request.seeds) > 1 and self.width < 2:
            # every sample but the last needs a slot beside the prompt's: it would wait forever
            raise EngineError(f"{len(request.seeds)} samples need an engine of 2 slots or more")
        if len(request.prompt) + request.max_tokens > self.n_ctx:
            raise EngineError(
                f"{len(request.prompt)} prompt tokens + {request.max_tokens} completion tokens"
                f" exceed the context of {self.n_ctx}; shorten the prompt or lower max_tokens"
            )
        future: Future[list[Decoded]] = Future()
        with self.cond:
            if self.closing:
                raise EngineError("the engine is closed")
            ticket = _Ticket(request, future, time.perf_counter())
            ticket.stops = [s.encode("utf-8") for s in request.stop if s]
            self.queue.append(ticket)
            self.cond.notify()
        return future

    def generate(self, request: EngineRequest) -> list[Decoded]:
        """Submit and wait; a caller interrupted while waiting abandons the request, whose
        sequences leave the batch at the next token boundary."""
        future = self.submit(request)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def close(self) -> None:
        """Fail what is waiting, stop the thread, free the context."""
        with self.cond:
            self.closing = True
            self.cond.notify()
        self.thread.join()
        self.batch.close()
        self.context.close()

    # -- the decoder thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # a bug here must not leave callers waiting forever
            self._fail_all(EngineError(f"the engine stopped: {type(exc).__name__}: {exc}"))
            with self.cond:
                self.closing = True
            raise

    def _loop(self) -> None:
        while True:
            with self.cond:
                while not self.closing and not self._has_work():
                    self.cond.wait()
                if self.closing:
                    break
            self._drop_abandoned()
            self._start_samples()
            self._admit()
            if any(self.slots):
                self._step()
        self._fail_all(EngineError("the engine was closed before the request finished"))

    def _has_work(self) -> bool:
        return bool(self.queue) or bool(self.admitted) or any(self.slots)

    def _drop_abandoned(self) -> None:
        """Free the slots of requests whose caller stopped waiting (a cancelled future)."""
        for slot, seq in enumerate(self.slots):
            if seq is not None and seq.ticket.future.cancelled():
                self._free(slot)
        for ticket in [t for t in self.admitted if t.future.cancelled()]:
            self._retire(ticket)

    def _start_samples(self) -> None:
        """Give free slots to the admitted requests' waiting samples, oldest request first."""
        for ticket in list(self.admitted):
            while ticket.pending:
                if ticket.pending == 1:
                    slot = ticket.prompt_slot  # the last sample decodes in the prompt's slot
                else:
                    slot = self._free_slot(exclude=ticket.prompt_slot)
                    if slot is None:
                        break
                    self.lc.llama_memory_seq_cp(
                        self.context.memory, ticket.prompt_slot, slot, -1, -1
                    )
                assert slot is not None
                self._begin(ticket, slot)
            if not ticket.pending:
                self.admitted.remove(ticket)

    def _admit(self) -> None:
        """Decode the prompts of queued requests while a slot is free for each."""
        while True:
            with self.cond:
                slot = self._free_slot()
                if slot is None or not self.queue:
                    return
                ticket = self.queue.popleft()
            if ticket.future.cancelled():
                continue  # abandoned before it started: nothing was decoded for it
            try:
                self._decode_prompt(slot, ticket.request.prompt[:-1])
            except Exception as exc:
                self._clear(slot)
                ticket.settle(error=EngineError(f"prompt decoding failed: {exc}"))
                continue
            ticket.prompt_slot = slot
            self.admitted.append(ticket)
            self._start_samples()

    def _free_slot(self, exclude: int | None = None) -> int | None:
        reserved = {t.prompt_slot for t in self.admitted} | {exclude}
        for slot, seq in enumerate(self.slots):
            if seq is None and slot not in reserved:
                return slot
        return None

    def _begin(self, ticket: _Ticket, slot: int) -> None:
        request = ticket.request
        index = ticket.next_sample
        ticket.next_sample += 1
        sampler = self._sampler(request.seeds[index], request.temperature)
        position = len(request.prompt) - 1
        self.slots[slot] = _Sequence(ticket, index, sampler, request.prompt[-1], position)

    def _decode_prompt(self, slot: int, tokens: tuple[int, ...]) -> None:
        for start in range(0, len(tokens), PROMPT_CHUNK):
            chunk = tokens[start : start + PROMPT_CHUNK]
            self._fill([(token, start + i, slot, False) for i, token in enumerate(chunk)])
            self._decode("prompt")

    def _step(self) -> None:
        """One token for every live sequence; finished ones leave the batch."""
        live = [slot for slot, seq in enumerate(self.slots) if seq is not None]
        entries = []
        for slot in live:
            seq = self.slots[slot]
            assert seq is not None
            entries.append((seq.feed, seq.position, slot, True))
        self._fill(entries)
        try:
            self._decode("step")
        except Exception as exc:
            for slot in live:
                seq = self.slots[slot]
                if seq is not None:
                    seq.ticket.settle(error=EngineError(f"decoding failed: {exc}"))
                    if seq.ticket in self.admitted:
                        self._retire(seq.ticket)
                self._free(slot)
            return
        now = time.perf_counter()
        for row, slot in enumerate(live):
            seq = self.slots[slot]
            assert seq is not None
            token = self.lc.llama_sampler_sample(seq.sampler, self.context.ctx, row)
            self._first_token(seq.ticket, now)
            finish = self._advance(seq, token)
            if finish is not None:
                self._finish(slot, seq, finish)

    def _advance(self, seq: _Sequence, token: int) -> str | None:
        """Take `token` into `seq`; "stop" or "length" when the sample is complete."""
        if self.lc.llama_vocab_is_eog(self.vocab, token):
            return "stop"
        seq.tokens.append(token)
        seq.text += self.llm._model.token_to_piece(token).rstrip(b"\0")
        cut = _stop_at(seq.text, seq.ticket.stops)
        if cut is not None:
            seq.text = seq.text[:cut]
            return "stop"
        if len(seq.tokens) >= seq.ticket.request.max_tokens:
            return "length"
        seq.feed = token
        seq.position += 1
        return None

    def _finish(self, slot: int, seq: _Sequence, finish: str) -> None:
        ticket = seq.ticket
        text = seq.text.decode("utf-8", errors="ignore")
        ticket.results[seq.index] = Decoded(text, len(seq.tokens), finish)
        self._free(slot)
        if len(ticket.results) == len(ticket.request.seeds):
            ticket.settle([ticket.results[i] for i in range(len(ticket.results))])

    def _first_token(self, ticket: _Ticket, now: float) -> None:
        if ticket.first_token is None:
            ticket.first_token = now
            if self.on_first_token is not None:
                self.on_first_token(now - ticket.submitted)

    def _free(self, slot: int) -> None:
        seq = self.slots[slot]
        if seq is not None:
            self.lc.llama_sampler_free(seq.sampler)
        self._clear(slot)

    def _clear(self, slot: int) -> None:
        """Empty a slot and its KV stream, so that its next sequence finds it as new."""
        self.slots[slot] = None
        self.lc.llama_memory_seq_rm(self.context.memory, slot, -1, -1)

    def _retire(self, ticket: _Ticket) -> None:
        """An admitted request that starts no more samples: its prompt's slot is free again."""
        self.admitted.remove(ticket)
        if ticket.prompt_slot is not None and self.slots[ticket.prompt_slot] is None:
            self._clear(ticket.prompt_slot)

    def _fail_all(self, error: Exception) -> None:
        for slot in range(self.width):
            seq = self.slots[slot]
            if seq is not None:
                seq.ticket.settle(error=error)
            self._free(slot)
        for ticket in [*self.admitted, *self.queue]:
            ticket.settle(error=error)
        self.admitted.clear()
        self.queue.clear()

    def _sampler(self, seed: int, temperature: float) -> Any:
        """create_chat_completion's chain: top-k, top-p, min-p, temperature, then a seeded draw;
        greedy at temperature 0. One chain per sequence: no random state is shared."""
        lc = self.lc
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
        code = self.lc.llama_decode(self.context.ctx, self.batch.batch)
        if code != 0:
            raise RuntimeError(f"llama_decode returned {code}")
        if self.on_decode is not None:
            self.on_decode(kind, tokens, time.perf_counter() - began)


def _stop_at(text: bytes, stops: list[bytes]) -> int | None:
    """Where the first stop text begins in `text`, or None."""
    hits = [at for at in (text.find(stop) for stop in stops) if at >= 0]
    return min(hits) if hits else None
