"""A run database opened for reading only: the report, the run listing, `doctor`, replays.

`RunReader.open(run_dir)` never writes to the run, not even the schema, so a live run can be
read while it writes and a finished one is left as it was. Without a -wal file no connection
is open on the database (SQLite removes it when the last writer closes): it is read as
immutable, which creates no -wal/-shm files beside it. With one, a writer may be live: it is
read through the WAL, as a reader among writers. A run written by an older selftaught is
copied into memory and migrated there (`store.schema`), so that every query sees one schema.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from selftaught.store.connection import Connection, StoreError
from selftaught.store.queries import RunQueries
from selftaught.store.schema import SCHEMA_VERSION, migrate, stored_version


class RunReader(RunQueries):
    """Reads of one run database; `StoreError` if the file is missing or not SQLite."""

    def __init__(self, db_path: Path):
        self.path = Path(db_path)
        if not self.path.is_file():
            raise StoreError(f"no run database at {self.path}; is this a run directory?")
        db = _connect_readonly(self.path)
        try:
            version = stored_version(db)
            if version is not None and version < SCHEMA_VERSION:
                db = _migrated_copy(db)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StoreError(
                f"{self.path} is not a usable run database ({exc}); the file is damaged"
            ) from None
        self.version = version
        self.db = Connection(db, str(self.path))

    @classmethod
    def open(cls, run_dir: Path) -> RunReader:
        return cls(Path(run_dir) / "run.db")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> RunReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _connect_readonly(path: Path) -> sqlite3.Connection:
    live = Path(f"{path}-wal").exists()
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("" if live else "&immutable=1")
    try:
        db = sqlite3.connect(uri, uri=True, timeout=5, check_same_thread=False)
        # Reading the schema is the first access to the file's header: garbage fails here.
        db.execute("SELECT name FROM sqlite_master").fetchall()
    except sqlite3.OperationalError:
        # mode=ro cannot open a WAL database whose -shm file is gone and whose directory
        # is read-only to us; a plain connection with query_only still never writes rows.
        try:
            db = sqlite3.connect(path, timeout=5, check_same_thread=False)
            db.execute("PRAGMA query_only = ON")
            db.execute("SELECT name FROM sqlite_master").fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a usable run database ({exc})") from None
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a usable run database ({exc})") from None
    db.execute("PRAGMA query_only = ON")
    return db


def _migrated_copy(db: sqlite3.Connection) -> sqlite3.Connection:
    """An in-memory copy of `db` at the current schema (`db` is closed)."""
    memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    try:
        db.backup(memory)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"the run database cannot be read ({exc})") from None
    finally:
        db.close()
    migrate(memory)
    memory.execute("PRAGMA query_only = ON")
    return memory
