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
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass

from selftaught.lm.base import Backend, LanguageModelError, one_line
from selftaught.lm.replay import IDENTITY_KEY
from selftaught.store import RunStore, Sample


@dataclass
class Usage:
    """Counters for a live progress display; "calls" are backend requests, as in `lm_calls`."""

    batches: int = 0  # sample() calls
    calls: int = 0  # requests, one per distinct message per batch (a row of lm_calls)
    uncached_calls: int = 0  # requests that needed the backend for at least one sample
    samples: int = 0  # responses handed out
    cached_samples: int = 0  # of which read back from the cache
    prompt_tokens: int = 0  # of generated samples only: what was paid for in this process
    completion_tokens: int = 0
    seconds: float = 0.0  # backend wall time

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


def sample_seed(run_seed: int, key: str, index: int) -> int:
    """The seed of sample `index` of a request: 31 bits, which every server accepts."""
    digest = hashlib.sha256(f"{run_seed}:{key}:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class LMBroker:
    """Turns batches of messages into cached, reproducible, counted backend requests.

    `store` may be None (no cache, nothing recorded; seeds still follow the occurrence counter).
    The counters are guarded by a lock so that concurrent callers get distinct sample indices;
    the store itself is used from the caller's thread.
    """

    def __init__(self, backend: Backend, store: RunStore | None, *, run_seed: int, max_tokens: int):
        self.backend = backend
        self.store = store
        self.run_seed = int(run_seed)
        self.max_tokens = int(max_tokens)
        self.usage = Usage()
        self._counters: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        """The model identity that goes into every request key (the replayed run's, for replay)."""
        return self.backend.identity

    def save_identity(self, store: RunStore | None = None) -> None:
        """Record the identity in the run's meta, so that `replay:RUN_DIR` can match its keys.

        Call once at run start; it writes `model_identity` into `store` (default: the broker's).
        """
        target = store if store is not None else self.store
        if target is not None:
            target.set_meta(IDENTITY_KEY, self.identity)

    def sampler(self, scope: str) -> Callable[[str, list[str], float], list[str]]:
        """`sample` bound to one scope: the `sample` a LanguageModelHandle takes."""

        def sample(expertise: str, messages: list[str], temperature: float) -> list[str]:
            return self.sample(expertise, messages, temperature, scope)

        return sample

    def sample(
        self, expertise: str, messages: list[str], temperature: float, scope: str = ""
    ) -> list[str]:
        """One response per message, in order (see the module docstring for the caching rules)."""
        groups: dict[str, list[int]] = {}
        for position, message in enumerate(messages):
            groups.setdefault(message, []).append(position)
        responses: list[str] = [""] * len(messages)
        with self._lock:
            self.usage.batches += 1
        for message, positions in groups.items():
            samples = self._request(expertise, message, len(positions), float(temperature), scope)
            for position, got in zip(positions, samples, strict=True):
                responses[position] = got.response
        return responses

    def _request(
        self, system: str, user: str, count: int, temperature: float, scope: str
    ) -> list[Sample]:
        key = request_key(
            self.identity, system, user, temperature, self.max_tokens, self.run_seed, scope
        )
        with self._lock:
            first = self._counters.get(key, 0)
            self._counters[key] = first + count
        indices = range(first, first + count)
        found: dict[int, Sample] = {}
        for index in indices:
            hit = self._lookup(key, index)
            if hit is not None:
                found[index] = hit
        missing = [i for i in indices if i not in found]
        cached = count - len(missing)
        if missing:
            if not self.backend.generates:
                raise LanguageModelError(
                    f"{self.backend.name}: no recorded response for request {key[:12]} sample"
                    f" {missing[0]} (system {one_line(system, 40)!r}, user"
                    f" {one_line(user, 60)!r}, temperature {temperature}, scope {scope!r});"
                    " replay needs the same seed, max tokens and improvers as the replayed run"
                )
            seeds = [sample_seed(self.run_seed, key, i) for i in missing]
            fresh = self.backend.generate(
                system, user, len(missing), temperature, self.max_tokens, seeds
            )
            if len(fresh) != len(missing):
                raise LanguageModelError(
                    f"{self.backend.name} returned {len(fresh)} samples for {len(missing)}"
                )
            for index, got in zip(missing, fresh, strict=True):
                # Stored before returning: a kill after this point loses nothing paid for.
                if self.store is not None:
                    self.store.put_sample(key, index, got)
                found[index] = got
            self._count_fresh(fresh)
        samples = [found[i] for i in indices]
        if self.store is not None:
            request = {
                "model": self.identity,
                "system": system,
                "user": user,
                "temperature": temperature,
                "max_tokens": self.max_tokens,
                "run_seed": self.run_seed,
                "scope": scope,
            }
            self.store.record_lm_call(key, request, first, samples, cached)
        with self._lock:
            self.usage.calls += 1
            self.usage.uncached_calls += bool(missing)
            self.usage.samples += count
            self.usage.cached_samples += cached
        return samples

    def _lookup(self, key: str, index: int) -> Sample | None:
        hit = self.store.get_sample(key, index) if self.store is not None else None
        if hit is None:
            hit = self.backend.lookup(key, index)
            # A replayed sample is copied into this run's store, so this run replays on its own.
            if hit is not None and self.store is not None:
                self.store.put_sample(key, index, hit)
        return hit

    def _count_fresh(self, fresh: list[Sample]) -> None:
        with self._lock:
            for got in fresh:
                self.usage.prompt_tokens += got.prompt_tokens or 0
                self.usage.completion_tokens += got.completion_tokens or 0
                self.usage.seconds += got.seconds or 0.0

    def close(self) -> None:
        self.backend.close()
