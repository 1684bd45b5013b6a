"""The broker between the run and a backend: batching, the response cache, seeds and usage.

Contract of `LMBroker.sample(expertise, messages, temperature, scope)`:

- one response per message, in message order; identical messages in one batch go to the backend
  as ONE request with n = their count;
- a request is identified by `request_key` = sha256 of the canonical JSON of (backend identity,
  system, user, temperature, max_tokens, run_seed, scope);
- the broker counts, per request key, how many samples it has handed out in this process (the
  occurrence counter), so the k-th sample of a request in a run is sample index k. A sample
  already in the store under (key, k) is read back without calling the backend; a missing one is
  generated with a seed derived from (run_seed, key, k) and stored before the call returns.

That is what lets a killed run resume without paying twice: the resumed process replays from a
checkpoint, its counters start again at 0, and every sample it asks for again is a cache hit.
`scope` (e.g. "t=1") is the caller's way to restart counting per STOP iteration, so that a
resume from iteration t does not depend on how many calls iterations before t made.

Beyond that contract the broker:

- looks a sample up in this run's store, then in `cache_from` (another run's store), then in
  the backend's records (replay), before paying for it (`cache.SampleCache`);
- refuses to send a paid request once a run-wide cap is reached (`caps.RunCapReached`), counting
  what earlier sessions of the run paid for;
- prices each call (`pricing.PriceTable`) and records its cost, paid tokens and retries in the
  `lm_calls` request JSON ("cost", "paid_tokens", "retries");
- is safe to call from several threads (concurrent improver invocations), and sends the
  requests of one batch concurrently; at most `Backend.max_concurrency` requests are at the
  backend at once over all threads. Sample indices and seeds are assigned before anything is
  sent, so results do not depend on the order in which requests complete. Callers that run
  concurrently use distinct scopes (`MetaUtility` scopes each invocation), so that the
  occurrence counter of a scope is only ever advanced by one thread.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from selftaught import sizes
from selftaught.lm.base import Backend, LanguageModelError, one_line
from selftaught.lm.cache import SampleCache
from selftaught.lm.caps import (
    ELAPSED_KEY,
    RunCapReached,
    SpendingCaps,
    Spent,
    passes_dollars,
    worst_case,
)
from selftaught.lm.options import ModelOptions
from selftaught.lm.pricing import PriceTable
from selftaught.lm.replay import IDENTITY_KEY
from selftaught.lm.retry import RetryInfo
from selftaught.records import Scope
from selftaught.seeds import sample_seed
from selftaught.store import RunStore, Sample


@dataclass
class Usage:
    """Counters for a live progress display; "calls" are backend requests, as in `lm_calls`.

    All counts are of this process (a resumed run starts them at 0); the caps count the whole
    run (`LMBroker.spent`).
    """

    batches: int = 0  # sample() calls
    calls: int = 0  # requests, one per distinct message per batch (a row of lm_calls)
    uncached_calls: int = 0  # requests that needed the backend for at least one sample
    samples: int = 0  # responses handed out
    cached_samples: int = 0  # of which read back from a cache (this run's, another's, replay)
    cache_from_samples: int = 0  # of which copied from the --cache-from run
    prompt_tokens: int = 0  # of generated samples only: what was paid for in this process
    completion_tokens: int = 0
    seconds: float = 0.0  # backend wall time
    retries: int = 0  # HTTP requests retried after a transient failure (not charged)
    dollars: float = 0.0  # cost of the generated samples, by the price table (0 if unpriced)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "tokens": self.tokens}


def request_key(
    identity: str,
    system: str,
    user: str,
    temperature: float,
    max_tokens: int,
    run_seed: int,
    scope: str,
) -> str:
    """The cache key of one request: stable across processes, machines and Python versions."""
    canonical = json.dumps(
        {
            "identity": identity,
            "system": system,
            "user": user,
            "temperature": float(temperature),
            "max_tokens": int(max_tokens),
            "run_seed": int(run_seed),
            "scope": scope,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _storable(sample: Sample) -> Sample:
    """A reply as UTF-8 can hold it, and no longer than `sizes.REPLY_CHARS` (a reply past it
    is cut there, before it is stored or handed to anyone: docs/reliability.md, "Size caps").
    A lone surrogate (a backend's broken decoding) would make the store, the request hash and
    the child's pipe raise; it becomes U+FFFD."""
    text = sample.response
    if not isinstance(text, str):
        raise LanguageModelError(f"the backend returned a {type(text).__name__}, not text")
    fixed = text[: sizes.REPLY_CHARS].encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return sample if fixed == text else replace(sample, response=fixed)


@dataclass
class _Plan:
    """One request of a batch: its key, its reserved sample indices and what the caches held."""

    system: str
    user: str
    temperature: float
    scope: Scope
    key: str
    first: int
    count: int
    found: dict[int, Sample] = field(default_factory=dict)
    from_other_run: int = 0
    fresh: list[Sample] = field(default_factory=list)
    retries: int = 0

    @property
    def indices(self) -> range:
        return range(self.first, self.first + self.count)

    @property
    def missing(self) -> list[int]:
        return [i for i in self.indices if i not in self.found]


class LMBroker:
    """Turns batches of messages into cached, reproducible, counted backend requests.

    `store` may be None (no cache, nothing recorded; seeds still follow the occurrence counter).
    `caps` limit the run's spending (RunCapReached), `cache_from` is another run's directory
    whose samples are used before paying, `options` are the model options (temperature and
    max-token overrides, extra body, timeout, retries, concurrency), `prices` the price table
    (default: built-in plus SELFTAUGHT_PRICES). A dollars cap needs a price for the model.
    """

    def __init__(
        self,
        backend: Backend,
        store: RunStore | None,
        *,
        run_seed: int,
        max_tokens: int,
        caps: SpendingCaps | None = None,
        cache_from: Path | None = None,
        options: ModelOptions | None = None,
        prices: PriceTable | None = None,
    ):
        self.backend = backend
        self.store = store
        self.options = options or ModelOptions()
        self.run_seed = int(run_seed)
        self.max_tokens = int(self.options.max_tokens or max_tokens)
        self.caps = caps or SpendingCaps()
        self.prices = prices or PriceTable.load()
        self.price = self.prices.price(backend.identity)
        if self.caps.dollars is not None and self.price is None:
            raise LanguageModelError(
                f"a dollars cap needs the price of {backend.identity}; add it to a price file"
                " (SELFTAUGHT_PRICES=prices.toml with input and output $ per 1M tokens)"
            )
        self.cache = SampleCache(store, backend, cache_from)
        self.usage = Usage()
        self._counters: dict[str, int] = {}
        self._lock = threading.RLock()
        self._in_flight = 0  # paid requests reserved and not yet recorded (`_reserve`)
        self._in_flight_dollars = 0.0  # their worst cases (`caps.worst_case`)
        # Requests at the backend at once, over every thread of the run: a local model serves
        # one at a time; a server takes `concurrency` (a model option).
        self._slots = threading.BoundedSemaphore(max(1, backend.max_concurrency))
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._spent = self.cache.spent()  # earlier sessions of this run
        self._elapsed_before = self._spent.seconds
        self._started = time.monotonic()
        backend.on_retry = self._count_retry

    @property
    def identity(self) -> str:
        """The model identity that goes into every request key (the replayed run's, for replay);
        options that change answers (extra_body) are part of it."""
        if not self.backend.generates:
            return self.backend.identity
        return self.backend.identity + self.options.key_part()

    def save_identity(self, store: RunStore | None = None) -> None:
        """Record the identity in the run's meta, so that `replay:RUN_DIR` can match its keys.

        Call once at run start; it writes `model_identity` into `store` (default: the broker's).
        """
        if store is not None:
            store.set_meta(IDENTITY_KEY, self.identity)
        else:
            self.cache.set_meta(IDENTITY_KEY, self.identity)

    def spent(self) -> Spent:
        """What the run has paid for, earlier sessions included: what the caps are checked on."""
        with self._lock:
            return Spent(
                calls=self._spent.calls,
                tokens=self._spent.tokens,
                dollars=self._spent.dollars,
                seconds=self._elapsed_before + time.monotonic() - self._started,
            )

    def sampler(self, scope: str) -> Callable[[str, list[str], float], list[str]]:
        """`sample` bound to one scope: the `sample` a LanguageModelHandle takes."""

        def sample(expertise: str, messages: list[str], temperature: float) -> list[str]:
            return self.sample(expertise, messages, temperature, scope)

        return sample

    def sample(
        self, expertise: str, messages: list[str], temperature: float, scope: Scope | str = ""
    ) -> list[str]:
        """One response per message, in order (see the module docstring for the caching rules).
        `scope.name` is part of the request key; its level and group are recorded with the
        call."""
        scope = Scope.of(scope)
        groups: dict[str, list[int]] = {}
        for position, message in enumerate(messages):
            groups.setdefault(message, []).append(position)
        if self.options.temperature is not None:
            temperature = self.options.temperature
        with self._lock:
            self.usage.batches += 1
        # Indices are reserved and caches read in message order, before anything is sent.
        plans = [
            self._plan(expertise, message, len(positions), float(temperature), scope)
            for message, positions in groups.items()
        ]
        paid = [plan for plan in plans if plan.missing]
        worst = self._worst_case(paid)
        self._reserve(len(paid), worst)
        try:
            if paid:
                self._generate(paid)
            responses: list[str] = [""] * len(messages)
            for plan, positions in zip(plans, groups.values(), strict=True):
                samples = self._finish(plan)
                for position, got in zip(positions, samples, strict=True):
                    responses[position] = got.response
        finally:
            self._release(len(paid), worst)
        self.cache.set_meta(ELAPSED_KEY, self.spent().seconds)
        return responses

    def _plan(self, system: str, user: str, count: int, temperature: float, scope: Scope) -> _Plan:
        key = request_key(
            self.identity, system, user, temperature, self.max_tokens, self.run_seed, scope.name
        )
        with self._lock:
            first = self._counters.get(key, 0)
            self._counters[key] = first + count
        plan = _Plan(system, user, temperature, scope, key, first, count)
        for index in plan.indices:
            hit, source = self.cache.get(key, index)
            if hit is not None:
                plan.found[index] = hit
                plan.from_other_run += source == "cache_from"
        if plan.missing and not self.backend.generates:
            raise LanguageModelError(
                f"{self.backend.name}: no recorded response for request {key[:12]} sample"
                f" {plan.missing[0]} (system {one_line(system, 40)!r}, user"
                f" {one_line(user, 60)!r}, temperature {temperature}, scope {scope.name!r});"
                " replay needs the same seed, max tokens and improvers as the replayed run"
            )
        return plan

    def _worst_case(self, paid: list[_Plan]) -> float:
        """The most `paid` may cost (`caps.worst_case`); 0 without a dollars cap."""
        if self.caps.dollars is None or self.price is None:
            return 0.0
        total = 0.0
        for plan in paid:
            # A backend that splits samples pays for the prompt once per sample.
            prompts = len(plan.missing) if self.backend.splits_samples else 1
            chars = prompts * (len(plan.system) + len(plan.user))
            total += worst_case(self.price, chars, len(plan.missing), self.max_tokens)
        return total

    def _reserve(self, calls: int, worst: float = 0.0) -> None:
        """Count `calls` paid requests, whose cost is at most `worst` dollars, as in flight, or
        raise RunCapReached if the caps forbid them. In-flight requests count against the calls
        cap and their worst cases against the dollars cap, so that concurrent invocations cannot
        pass them together; tokens are known only once a request returns."""
        if not calls:
            return
        with self._lock:
            if self.caps.any:
                spent = self.spent()
                spent.calls += self._in_flight
                reason = spent.reached(self.caps, calls_wanted=calls) or passes_dollars(
                    self.caps, spent.dollars, self._in_flight_dollars, worst
                )
                if reason is not None:
                    raise RunCapReached(reason)
            self._in_flight += calls
            self._in_flight_dollars += worst

    def _release(self, calls: int, worst: float = 0.0) -> None:
        if not calls:
            return
        with self._lock:
            self._in_flight -= calls
            self._in_flight_dollars -= worst

    def _generate(self, paid: list[_Plan]) -> None:
        """Ask the backend for every missing sample; store what came back even if a job failed.

        A job is one request, or one sample of it when the backend `splits_samples`; jobs run
        concurrently up to the backend's `max_concurrency`.
        """
        jobs: list[tuple[_Plan, list[int]]] = []
        for plan in paid:
            if self.backend.splits_samples:
                jobs.extend((plan, [index]) for index in plan.missing)
            else:
                jobs.append((plan, plan.missing))
        limit = max(1, self.backend.max_concurrency)
        if len(jobs) == 1 or limit == 1:
            outcomes = []
            for job in jobs:
                outcomes.append(self._outcome(job))
                if isinstance(outcomes[-1][0], BaseException):
                    break  # a sequential backend that failed once: do not pay for more
        else:
            outcomes = list(self._executor(limit).map(self._outcome, jobs))
        failure: BaseException | None = None
        for (plan, indices), (result, retries) in zip(jobs, outcomes, strict=False):
            plan.retries += retries
            if isinstance(result, BaseException):
                failure = failure or result
                continue
            for index, got in zip(indices, result, strict=True):
                # Stored before returning: a kill after this point loses nothing paid for.
                self.cache.put(plan.key, index, got)
                plan.found[index] = got
                plan.fresh.append(got)
            self._count_fresh(result)
        if failure is not None:
            # Requests that did complete are paid for: record them before giving up the batch.
            for plan in paid:
                if not plan.missing:
                    self._finish(plan)
            raise failure

    def _outcome(self, job: tuple[_Plan, list[int]]) -> tuple[Any, int]:
        """(samples or the exception, retries) of one job; runs in a pool thread or inline."""
        plan, indices = job
        self._local.retries = 0
        try:
            seeds = [sample_seed(self.run_seed, plan.key, i) for i in indices]
            with self._slots:
                fresh = self.backend.generate(
                    plan.system, plan.user, len(indices), plan.temperature, self.max_tokens, seeds
                )
            if len(fresh) != len(indices):
                raise LanguageModelError(
                    f"{self.backend.name} returned {len(fresh)} samples for {len(indices)}"
                )
            return [_storable(got) for got in fresh], self._local.retries
        except Exception as exc:
            return exc, self._local.retries

    def _executor(self, limit: int) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(limit, thread_name_prefix="selftaught-lm")
            return self._pool

    def _finish(self, plan: _Plan) -> list[Sample]:
        """Record the request's lm_calls row and count it; returns its samples in index order."""
        samples = [plan.found[i] for i in plan.indices]
        cached = plan.count - len(plan.fresh)
        prompt = sum(s.prompt_tokens or 0 for s in plan.fresh)
        completion = sum(s.completion_tokens or 0 for s in plan.fresh)
        cost = None if self.price is None else self.price.cost(prompt, completion)
        request = {
            "model": self.identity,
            "system": plan.system,
            "user": plan.user,
            "temperature": plan.temperature,
            "max_tokens": self.max_tokens,
            "run_seed": self.run_seed,
            "scope": plan.scope.name,
            "paid_tokens": prompt + completion,
            "cost": cost,
            "retries": plan.retries,
            "cache_from": plan.from_other_run,
        }
        self.cache.record_call(plan.key, request, plan.first, samples, cached, plan.scope)
        with self._lock:
            self.usage.calls += 1
            self.usage.uncached_calls += bool(plan.fresh)
            self.usage.samples += plan.count
            self.usage.cached_samples += cached
            self.usage.cache_from_samples += plan.from_other_run
            self.usage.dollars += cost or 0.0
            self._spent.calls += bool(plan.fresh)
            self._spent.tokens += prompt + completion
            self._spent.dollars += cost or 0.0
        return samples

    def _count_fresh(self, fresh: list[Sample]) -> None:
        with self._lock:
            for got in fresh:
                self.usage.prompt_tokens += got.prompt_tokens or 0
                self.usage.completion_tokens += got.completion_tokens or 0
                self.usage.seconds += got.seconds or 0.0

    def _count_retry(self, info: RetryInfo) -> None:
        # Called in the thread that runs the request: the thread-local count goes to its call.
        self._local.retries = getattr(self._local, "retries", 0) + 1
        with self._lock:
            self.usage.retries += 1

    def close(self) -> None:
        try:
            self.cache.set_meta(ELAPSED_KEY, self.spent().seconds)
        except Exception:  # a store already closed by its owner: the last batch wrote it
            pass
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self.cache.close()
        self.backend.close()
