"""One SQLite connection shared by a run's threads, and the store's small value types."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class StoreError(Exception):
    """The run directory or its database is missing or unusable."""


class QueryError(StoreError):
    """A statement failed: a damaged file, a full disk, a database another process holds."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason  # SQLite's own words


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Sample:
    response: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    seconds: float | None = None


class Rows(list):
    """The rows of one statement, fetched while it held the connection."""

    def fetchone(self) -> Any:
        return self[0] if self else None

    def fetchall(self) -> list[Any]:
        return list(self)


class Connection:
    """One sqlite3 connection shared by the run's threads (concurrent improver invocations
    record from several): a lock serialises statements, and rows are fetched inside it, so that
    no cursor outlives its turn. Writes are autocommitted, so each is its own transaction.
    A statement that fails (a damaged file, a full disk) raises `QueryError`."""

    def __init__(self, db: sqlite3.Connection, name: str):
        self._db = db
        self._name = name  # for error messages: the database's path
        self._lock = threading.RLock()

    def execute(self, sql: str, parameters: tuple | list = ()) -> Rows:
        with self._lock, self._errors():
            return Rows(self._db.execute(sql, parameters).fetchall())

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
            elif "disk I/O error" in text:  # SQLite's word for a write refused, e.g. EFBIG
                hint = "the disk may be full or failing: free some space, then resume the run"
            elif "readonly" in text or "read-only" in text:
                hint = "the run directory must be writable"
            else:
                hint = "the file is damaged or not a run database"
            raise QueryError(f"{self._name}: {text}; {hint}", text) from None

    def raw(self) -> sqlite3.Connection:
        """The sqlite3 connection itself, for the store's own schema work."""
        return self._db

    def close(self) -> None:
        with self._lock:
            self._db.close()
