"""The run database: the one owner of SQL in selftaught.

- `RunStore` (store/run_store.py) writes a run and reads it back for resume: programs, LM
  samples and calls, evaluations, invocations, safety events, meta-utility and iteration
  records. Only the host writes, and only through it.
- `RunReader` (store/reader.py) opens a run read-only for the report, the run listing,
  `doctor` and replays; a run written by an older selftaught is migrated in memory.
- Both read through `RunQueries` (store/queries.py); the tables and their migration are in
  store/schema.py. See docs/architecture.md, "The store".
"""

from __future__ import annotations

from selftaught.store.connection import QueryError, Sample, StoreError, sha256
from selftaught.store.reader import RunReader
from selftaught.store.run_store import RunStore
from selftaught.store.schema import SCHEMA_VERSION, TABLES

__all__ = [
    "SCHEMA_VERSION",
    "TABLES",
    "QueryError",
    "RunReader",
    "RunStore",
    "Sample",
    "StoreError",
    "sha256",
]
