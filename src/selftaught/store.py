"""The run database: one SQLite file per run, `RUN_DIR/run.db`, written only by the host.

WAL mode, so that a report can read while a run writes; every write is its own transaction,
so that a run killed with SIGKILL loses at most the write in flight. Programs are stored once,
by the SHA-256 of their source. LM samples double as the response cache (keyed by the full
request and a sample index), evaluations as the evaluation cache, which is what makes `resume`
cheap: a resumed run replays its iteration, and every finished step is read back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS programs (
    sha256 TEXT PRIMARY KEY, kind TEXT NOT NULL, source TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS lm_samples (
    request_key TEXT NOT NULL, sample_index INTEGER NOT NULL, response TEXT NOT NULL,
    prompt_tokens INTEGER, completion_tokens INTEGER, seconds REAL, created REAL NOT NULL,
    PRIMARY KEY (request_key, sample_index));
CREATE TABLE IF NOT EXISTS lm_calls (
    id INTEGER PRIMARY KEY, request_key TEXT NOT NULL, request TEXT NOT NULL,
    first_sample INTEGER NOT NULL, n INTEGER NOT NULL, cached INTEGER NOT NULL,
    prompt_tokens INTEGER, completion_tokens INTEGER, seconds REAL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY, program TEXT NOT NULL, task TEXT NOT NULL, split TEXT NOT NULL,
    seed INTEGER NOT NULL, score REAL NOT NULL, instances TEXT NOT NULL, seconds REAL NOT NULL,
    layers TEXT NOT NULL, failure TEXT, created REAL NOT NULL,
    UNIQUE (program, task, split, seed));
CREATE TABLE IF NOT EXISTS invocations (
    id INTEGER PRIMARY KEY, improver TEXT NOT NULL, initial TEXT NOT NULL, purpose TEXT NOT NULL,
    status TEXT NOT NULL, result TEXT, error TEXT, seconds REAL NOT NULL, layers TEXT NOT NULL,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, program TEXT, detail TEXT NOT NULL,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS iterations (
    t INTEGER PRIMARY KEY, record TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta_utilities (
    improver TEXT NOT NULL, purpose TEXT NOT NULL, val REAL NOT NULL, test REAL NOT NULL,
    detail TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (improver, purpose));
"""


class StoreError(Exception):
    """The run directory or its database is missing or unusable."""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Sample:
    response: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    seconds: float | None = None


class _Rows(list):
    """The rows of one statement, fetched while it held the connection."""

    def fetchone(self) -> Any:
        return self[0] if self else None

    def fetchall(self) -> list[Any]:
        return list(self)


class _Connection:
    """One sqlite3 connection shared by the run's threads (concurrent improver invocations
    record from several): a lock serialises statements, and rows are fetched inside it, so that
    no cursor outlives its turn. Writes are autocommitted, so each is its own transaction."""

    def __init__(self, path: Path, *, readonly: bool = False):
        self.path = path
        target, uri = (_readonly_uri(Path(path)), True) if readonly else (path, False)
        self._db = sqlite3.connect(
            target, isolation_level=None, timeout=30, check_same_thread=False, uri=uri
        )
        self._lock = threading.RLock()

    def execute(self, sql: str, parameters: tuple | list = ()) -> _Rows:
        with self._lock, self._errors():
            return _Rows(self._db.execute(sql, parameters).fetchall())

    def executescript(self, script: str) -> None:
        with self._lock, self._errors():
            self._db.executescript(script)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """A database that fails under us (a full or read-only disk, overwritten pages) is one
        line that says what to do; every write before it is committed, so a resume goes on."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if "full" in text:
                hint = "free some space, then `selftaught resume` the run"
            elif "readonly" in text or "read-only" in text:
                hint = "the run directory must be writable"
            else:
                hint = "the file is damaged or not a run database"
            raise StoreError(f"{self.path}: {text}; {hint}") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _readonly_uri(path: Path) -> str:
    """Read-only; with no -wal file beside it (no writer is live) as immutable, so that reading
    creates no -wal/-shm files and works on a read-only disk."""
    live = Path(f"{path}-wal").exists()
    return f"{path.resolve().as_uri()}?mode=ro" + ("" if live else "&immutable=1")


class RunStore:
    """Typed access to one run's database; safe to use from several threads."""

    def __init__(self, path: Path, *, create: bool, readonly: bool = False):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise StoreError(f"no run database at {self.path}; is this a run directory?")
        if not create and self.path.stat().st_size == 0:  # never write a schema into it
            raise StoreError(f"{self.path} is empty (0 bytes), not a run database")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = _Connection(self.path, readonly=readonly)
            if not readonly:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.executescript(_SCHEMA)
            version = self.get_meta("schema_version")
        except (sqlite3.DatabaseError, StoreError, OSError) as exc:
            text = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise StoreError(f"{self.path} is not a usable run database ({text})") from None
        if version is None and readonly:
            raise StoreError(f"{self.path} records no schema version; is this a run database?")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema {version}; this selftaught reads {SCHEMA_VERSION}"
            )

    @classmethod
    def open_run(cls, run_dir: Path, *, create: bool = False) -> RunStore:
        return cls(Path(run_dir) / "run.db", create=create)

    @classmethod
    def open_readonly(cls, run_dir: Path) -> RunStore:
        """The run's store for reading only (`safety`, `report`): it writes nothing, not even
        a schema, so it also reads a run on a read-only disk."""
        return cls(Path(run_dir) / "run.db", create=False, readonly=True)

    def close(self) -> None:
        self.db.close()

    # ---------------------------------------------------------------- meta (config, status)
    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
        )

    def get_meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except (TypeError, ValueError):
            raise StoreError(
                f"{self.path}: meta {key!r} is not JSON; the file was altered"
            ) from None

    # ------------------------------------------------------------------------- programs
    def put_program(self, source: str, kind: str) -> str:
        digest = sha256(source)
        self.db.execute(
            "INSERT OR IGNORE INTO programs (sha256, kind, source, created) VALUES (?, ?, ?, ?)",
            (digest, kind, source, time.time()),
        )
        return digest

    def get_program(self, digest: str) -> str | None:
        row = self.db.execute("SELECT source FROM programs WHERE sha256 = ?", (digest,)).fetchone()
        return None if row is None else row[0]

    # ----------------------------------------------------------------- LM samples and calls
    def get_sample(self, request_key: str, index: int) -> Sample | None:
        row = self.db.execute(
            "SELECT response, prompt_tokens, completion_tokens, seconds FROM lm_samples "
            "WHERE request_key = ? AND sample_index = ?",
            (request_key, index),
        ).fetchone()
        return None if row is None else Sample(*row)

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
    ) -> None:
        self.db.execute(
            "INSERT INTO lm_calls (request_key, request, first_sample, n, cached, prompt_tokens,"
            " completion_tokens, seconds, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            ),
        )

    def lm_usage(self) -> dict[str, int]:
        calls, paid, tokens = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(cached = 0), 0),"
            " COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM lm_calls"
        ).fetchone()
        samples = self.db.execute("SELECT COUNT(*) FROM lm_samples").fetchone()[0]
        return {"calls": calls, "uncached_calls": paid, "tokens": tokens, "samples": samples}

    # ---------------------------------------------------------------------- evaluations
    def get_evaluation(self, program: str, task: str, split: str, seed: int) -> dict | None:
        row = self.db.execute(
            "SELECT score, instances, seconds, layers, failure FROM evaluations "
            "WHERE program = ? AND task = ? AND split = ? AND seed = ?",
            (program, task, split, seed),
        ).fetchone()
        if row is None:
            return None
        score, instances, seconds, layers, failure = row
        return {
            "score": score,
            "instances": json.loads(instances),
            "seconds": seconds,
            "layers": json.loads(layers),
            "failure": failure,
        }

    def put_evaluation(
        self, program: str, task: str, split: str, seed: int, result: dict[str, Any]
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO evaluations (program, task, split, seed, score, instances,"
            " seconds, layers, failure, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            ),
        )

    def count(self, table: str) -> int:
        assert table in {"evaluations", "lm_calls", "invocations", "events", "programs"}
        return self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    # ---------------------------------------------------------------------- invocations
    def record_invocation(
        self, improver: str, initial: str, purpose: str, run: dict[str, Any]
    ) -> None:
        self.db.execute(
            "INSERT INTO invocations (improver, initial, purpose, status, result, error, seconds,"
            " layers, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                improver,
                initial,
                purpose,
                run["status"],
                run.get("result"),
                run.get("error"),
                run["seconds"],
                json.dumps(run["layers"]),
                time.time(),
            ),
        )

    def invocations(self) -> list[tuple[str, str, str, str | None]]:
        """(improver, purpose, status, error) of every invocation, in the order they ended."""
        rows = self.db.execute(
            "SELECT improver, purpose, status, error FROM invocations ORDER BY id"
        )
        return [tuple(row) for row in rows]

    # --------------------------------------------------------------------------- events
    def record_event(self, kind: str, program: str | None, detail: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO events (kind, program, detail, created) VALUES (?, ?, ?, ?)",
            (kind, program, json.dumps(detail), time.time()),
        )

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT kind, program, detail FROM events"
        rows = self.db.execute(query + (" WHERE kind = ?" if kind else ""), (kind,) if kind else ())
        return [{"kind": k, "program": p, "detail": json.loads(d)} for k, p, d in rows]

    # ------------------------------------------------------------ meta-utility records
    def get_meta_utility(self, improver: str, purpose: str) -> dict | None:
        row = self.db.execute(
            "SELECT val, test, detail FROM meta_utilities WHERE improver = ? AND purpose = ?",
            (improver, purpose),
        ).fetchone()
        return None if row is None else {"val": row[0], "test": row[1], **json.loads(row[2])}

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

    def iterations(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT record FROM iterations ORDER BY t")
        return [json.loads(r[0]) for r in rows]
