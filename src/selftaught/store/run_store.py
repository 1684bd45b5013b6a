"""The run database: one SQLite file per run, `RUN_DIR/run.db`, written only by the host.

WAL mode, so that a report can read while a run writes; every write is its own transaction,
so that a run killed with SIGKILL loses at most the write in flight. Programs are stored once,
by the SHA-256 of their source. LM samples double as the response cache (keyed by the full
request and a sample index), evaluations as the evaluation cache, which is what makes `resume`
cheap: a resumed run replays its iteration, and every finished step is read back.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from selftaught.records import Invocation, Scope
from selftaught.store.connection import Connection, QueryError, Sample, StoreError, sha256
from selftaught.store.queries import RunQueries
from selftaught.store.schema import SCHEMA, SCHEMA_VERSION, migrate


class RunStore(RunQueries):
    """The writer of one run's database (and its reads, from `RunQueries`); safe to use from
    several threads."""

    def __init__(self, path: Path, *, create: bool):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise StoreError(f"no run database at {self.path}; is this a run directory?")
        if not create and self.path.stat().st_size == 0:  # never write a schema into it
            raise StoreError(f"{self.path} is empty (0 bytes), not a run database")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = Connection(_connect(self.path), str(self.path))
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            version = self.get_meta("schema_version") if self._has_meta() else None
            if version is not None and version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has schema {version}; this selftaught reads {SCHEMA_VERSION}"
                    " and older: upgrade selftaught to open it"
                )
            self.db.executescript(SCHEMA)
            if version is None:
                self.set_meta("schema_version", SCHEMA_VERSION)
            elif version < SCHEMA_VERSION:
                migrate(self.db.raw())  # a run written by an older selftaught (store.schema)
        except (sqlite3.DatabaseError, QueryError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else getattr(exc, "reason", exc)
            raise StoreError(f"{self.path} is not a usable run database ({reason})") from None

    def _has_meta(self) -> bool:
        rows = self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
        return bool(rows)

    @classmethod
    def open_run(cls, run_dir: Path, *, create: bool = False) -> RunStore:
        return cls(Path(run_dir) / "run.db", create=create)

    def close(self) -> None:
        # A reader left open (a dashboard watching, a report) keeps SQLite from folding the WAL
        # into run.db when this last writer closes: fold it in here, so that run.db alone holds
        # the whole run (a copy of it, a read as immutable). Readers between queries allow it.
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except QueryError:
            pass  # a damaged or full disk: the WAL keeps what was committed, as before
        self.db.close()

    # ---------------------------------------------------------------- meta (config, status)
    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
        )

    # ------------------------------------------------------------------------- programs
    def put_program(self, source: str, kind: str) -> str:
        digest = sha256(source)
        self.db.execute(
            "INSERT OR IGNORE INTO programs (sha256, kind, source, created) VALUES (?, ?, ?, ?)",
            (digest, kind, source, time.time()),
        )
        return digest

    # ----------------------------------------------------------------- LM samples and calls
    def put_sample(self, request_key: str, index: int, sample: Sample) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO lm_samples VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                request_key,
                index,
                sample.response,
                sample.prompt_tokens,
                sample.completion_tokens,
                sample.seconds,
                time.time(),
            ),
        )

    def record_lm_call(
        self,
        request_key: str,
        request: dict[str, Any],
        first: int,
        samples: list[Sample],
        cached: int,
        scope: Scope | None = None,
    ) -> None:
        scope = scope or Scope("")
        self.db.execute(
            "INSERT INTO lm_calls (request_key, request, first_sample, n, cached, prompt_tokens,"
            " completion_tokens, seconds, created, level, scope)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                request_key,
                json.dumps(request),
                first,
                len(samples),
                cached,
                sum(s.prompt_tokens or 0 for s in samples),
                sum(s.completion_tokens or 0 for s in samples),
                sum(s.seconds or 0.0 for s in samples),
                time.time(),
                scope.call_level,
                scope.group,
            ),
        )

    # ---------------------------------------------------------------------- evaluations
    def put_evaluation(
        self, program: str, task: str, split: str, seed: int, result: dict[str, Any]
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO evaluations (program, task, split, seed, score, instances,"
            " seconds, layers, failure, created, node, spliced)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                program,
                task,
                split,
                seed,
                result["score"],
                json.dumps(result["instances"]),
                result["seconds"],
                json.dumps(result["layers"]),
                result.get("failure"),
                time.time(),
                result.get("node"),  # where it ran (schema version 3)
                result.get("spliced"),  # how a whole-program rewrite was read (version 5)
            ),
        )

    # ---------------------------------------------------------------------- invocations
    def record_invocation(
        self, improver: str, initial: str, invocation: Invocation, run: dict[str, Any]
    ) -> None:
        self.db.execute(
            "INSERT INTO invocations (improver, initial, purpose, status, result, error, seconds,"
            " layers, created, level, t, task, repetition, wall_seconds)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                improver,
                initial,
                invocation.purpose,
                run["status"],
                run.get("result"),
                run.get("error"),
                run["seconds"],
                json.dumps(run["layers"]),
                time.time(),
                invocation.level,
                invocation.t,
                invocation.task,
                invocation.repetition,
                run.get("wall_seconds"),  # schema version 4
            ),
        )

    # --------------------------------------------------------------------------- events
    def record_event(self, kind: str, program: str | None, detail: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO events (kind, program, detail, created) VALUES (?, ?, ?, ?)",
            (kind, program, json.dumps(detail), time.time()),
        )

    # ------------------------------------------------------------ meta-utility records
    def put_meta_utility(
        self, improver: str, purpose: str, val: float, test: float, detail: dict[str, Any]
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO meta_utilities VALUES (?, ?, ?, ?, ?, ?)",
            (improver, purpose, val, test, json.dumps(detail), time.time()),
        )

    # ------------------------------------------------------------------------ iterations
    def put_iteration(self, t: int, record: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO iterations (t, record, created) VALUES (?, ?, ?)",
            (t, json.dumps(record), time.time()),
        )


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
