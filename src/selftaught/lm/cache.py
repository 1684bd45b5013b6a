"""Where the broker looks samples up and keeps them, safely from several threads.

A sample is looked up, in order, in this run's store, in another run's store (`cache_from`,
same request key), and in the backend's own records (replay). One found elsewhere is copied
into this run's store, so that the run later resumes and replays on its own.

The run store is safe to share between threads; the lock here makes a lookup and the copy it
triggers one step, so that two threads never copy the same sample at once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from selftaught.lm.base import Backend, LanguageModelError
from selftaught.lm.caps import Spent, spent_in_store
from selftaught.records import Scope
from selftaught.store import RunReader, RunStore, Sample, StoreError

SOURCES = ("store", "cache_from", "backend")


class SampleCache:
    """Lookups and writes of samples and call records for one broker (`store` may be None)."""

    def __init__(self, store: RunStore | None, backend: Backend, cache_from: Path | None = None):
        self.backend = backend
        self.store = store
        self.other: RunReader | None = None
        self.cache_from = Path(cache_from) if cache_from is not None else None
        if self.cache_from is not None:
            try:
                self.other = RunReader.open(self.cache_from)
            except StoreError as exc:
                raise LanguageModelError(f"--cache-from {cache_from}: {exc}") from None
        self.lock = threading.RLock()

    def get(self, key: str, index: int) -> tuple[Sample | None, str]:
        """The sample and where it came from ("store", "cache_from", "backend"), or (None, "")."""
        with self.lock:
            if self.store is not None:
                hit = self.store.get_sample(key, index)
                if hit is not None:
                    return hit, "store"
            if self.other is not None:
                hit = self.other.get_sample(key, index)
                if hit is not None:
                    self.put(key, index, hit)
                    return hit, "cache_from"
            hit = self.backend.lookup(key, index)
            if hit is not None:
                self.put(key, index, hit)
                return hit, "backend"
        return None, ""

    def put(self, key: str, index: int, sample: Sample) -> None:
        if self.store is not None:
            self.store.put_sample(key, index, sample)

    def record_call(
        self,
        key: str,
        request: dict[str, Any],
        first: int,
        samples: list[Sample],
        cached: int,
        scope: Scope,
    ) -> None:
        if self.store is not None:
            self.store.record_lm_call(key, request, first, samples, cached, scope)

    def spent(self) -> Spent:
        return spent_in_store(self.store)

    def set_meta(self, key: str, value: Any) -> None:
        if self.store is not None:
            self.store.set_meta(key, value)

    def close(self) -> None:
        if self.other is not None:
            self.other.close()
