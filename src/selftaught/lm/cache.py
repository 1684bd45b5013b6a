"""Where the broker looks samples up and keeps them, safely from several threads.

A sample is looked up, in order, in this run's store, in another run's store (`cache_from`,
same request key), and in the backend's own records (replay). One found elsewhere is copied
into this run's store, so that the run later resumes and replays on its own.

SQLite connections may only be used by the thread that opened them, so each thread other than
the one that made the cache gets its own connection to the same database files (WAL allows
that), and a lock serialises the writes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from selftaught.lm.base import Backend, LanguageModelError
from selftaught.lm.caps import Spent, spent_in_store
from selftaught.store import RunStore, Sample, StoreError

SOURCES = ("store", "cache_from", "backend")


class _PerThread:
    """`get()`: the store for the calling thread: `owner` in its own thread, else a new
    connection to the same file, made once per thread."""

    def __init__(self, owner: RunStore):
        self.owner = owner
        self.owner_thread = threading.get_ident()
        self.local = threading.local()
        self.opened: list[RunStore] = []
        self.lock = threading.Lock()

    def get(self) -> RunStore:
        if threading.get_ident() == self.owner_thread:
            return self.owner
        store = getattr(self.local, "store", None)
        if store is None:
            store = RunStore(self.owner.path, create=False)
            self.local.store = store
            with self.lock:
                self.opened.append(store)
        return store

    def close_extra(self) -> None:
        with self.lock:
            for store in self.opened:
                try:
                    store.close()
                except Exception:  # another thread's connection: sqlite may refuse; GC frees it
                    pass
            self.opened.clear()


class SampleCache:
    """Lookups and writes of samples and call records for one broker (`store` may be None)."""

    def __init__(self, store: RunStore | None, backend: Backend, cache_from: Path | None = None):
        self.backend = backend
        self._mine = _PerThread(store) if store is not None else None
        self._other: _PerThread | None = None
        self.cache_from = Path(cache_from) if cache_from is not None else None
        if self.cache_from is not None:
            try:
                self._other = _PerThread(RunStore.open_run(self.cache_from, create=False))
            except StoreError as exc:
                raise LanguageModelError(f"--cache-from {cache_from}: {exc}") from None
        self.lock = threading.RLock()

    @property
    def store(self) -> RunStore | None:
        return self._mine.get() if self._mine is not None else None

    def get(self, key: str, index: int) -> tuple[Sample | None, str]:
        """The sample and where it came from ("store", "cache_from", "backend"), or (None, "")."""
        with self.lock:
            if self._mine is not None:
                hit = self._mine.get().get_sample(key, index)
                if hit is not None:
                    return hit, "store"
            if self._other is not None:
                hit = self._other.get().get_sample(key, index)
                if hit is not None:
                    self.put(key, index, hit)
                    return hit, "cache_from"
            hit = self.backend.lookup(key, index)
            if hit is not None:
                self.put(key, index, hit)
                return hit, "backend"
        return None, ""

    def put(self, key: str, index: int, sample: Sample) -> None:
        if self._mine is not None:
            with self.lock:
                self._mine.get().put_sample(key, index, sample)

    def record_call(
        self, key: str, request: dict[str, Any], first: int, samples: list[Sample], cached: int
    ) -> None:
        if self._mine is not None:
            with self.lock:
                self._mine.get().record_lm_call(key, request, first, samples, cached)

    def spent(self) -> Spent:
        with self.lock:
            return spent_in_store(self.store)

    def set_meta(self, key: str, value: Any) -> None:
        if self._mine is not None:
            with self.lock:
                self._mine.get().set_meta(key, value)

    def close(self) -> None:
        if self._mine is not None:
            self._mine.close_extra()
        if self._other is not None:
            self._other.close_extra()
            try:
                self._other.owner.close()
            except Exception:  # made in another thread: nothing to free beyond what GC does
                pass
