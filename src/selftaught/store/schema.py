"""The run database's tables, its schema version, and the migration of older runs.

Version 1 (runs written before docs/architecture.md, "The store") packed what an invocation
was for into a string (`purpose`: "stop:t=1", "meta_utility:lpn:0") and left an LM call's level
to be guessed from its prompt. Version 2 stores them as columns, written when they are known:
invocations get `level`, `t`, `task` and `repetition`; LM calls get `level` ("meta": the
improver of improvers asked it; "task": an improver improving a task's solution) and `scope`
(the STOP iteration or study row they were made for). `migrate` fills them for a version-1
run once, from the strings; nothing else parses them.

Version 3 records where each evaluation ran: `evaluations.node` ("local" for the local zygote
pool, a Ray node's name for the cluster executor; NULL for evaluations older runs recorded,
which all ran locally). Migrating from 1 or 2 adds the column and leaves it NULL.

Version 4 records an invocation's wall-clock time, `invocations.wall_seconds`, beside
`seconds`, the improver's own time (its clock stops while the host serves its budgeted calls:
what its time limit counts, so an invocation whose model calls took minutes reads 0.01 s).
Migrating adds the column and leaves it NULL for invocations recorded before.

Version 5 records, for an evaluator-form task, how a whole-program rewrite was read into the
initial program's EVOLVE-BLOCKs: `evaluations.spliced`, a note saying what was taken (NULL when
the candidate ran as written, and in older runs).
"""

from __future__ import annotations

import json
import sqlite3

from selftaught.records import Invocation

SCHEMA_VERSION = 5

SCHEMA = """
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
    prompt_tokens INTEGER, completion_tokens INTEGER, seconds REAL, created REAL NOT NULL,
    level TEXT, scope TEXT);
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY, program TEXT NOT NULL, task TEXT NOT NULL, split TEXT NOT NULL,
    seed INTEGER NOT NULL, score REAL NOT NULL, instances TEXT NOT NULL, seconds REAL NOT NULL,
    layers TEXT NOT NULL, failure TEXT, created REAL NOT NULL, node TEXT, spliced TEXT,
    UNIQUE (program, task, split, seed));
CREATE TABLE IF NOT EXISTS invocations (
    id INTEGER PRIMARY KEY, improver TEXT NOT NULL, initial TEXT NOT NULL, purpose TEXT NOT NULL,
    status TEXT NOT NULL, result TEXT, error TEXT, seconds REAL NOT NULL, layers TEXT NOT NULL,
    created REAL NOT NULL, level TEXT, t INTEGER, task TEXT, repetition INTEGER,
    wall_seconds REAL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, program TEXT, detail TEXT NOT NULL,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS iterations (
    t INTEGER PRIMARY KEY, record TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta_utilities (
    improver TEXT NOT NULL, purpose TEXT NOT NULL, val REAL NOT NULL, test REAL NOT NULL,
    detail TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (improver, purpose));
"""

TABLES = (
    "meta",
    "programs",
    "lm_samples",
    "lm_calls",
    "evaluations",
    "invocations",
    "events",
    "iterations",
    "meta_utilities",
)

# Columns added since version 1: table -> (column, type). Version 2 added those of lm_calls
# and invocations, version 3 evaluations.node, version 4 invocations.wall_seconds, version 5
# evaluations.spliced.
ADDED = {
    "lm_calls": (("level", "TEXT"), ("scope", "TEXT")),
    "invocations": (
        ("level", "TEXT"),
        ("t", "INTEGER"),
        ("task", "TEXT"),
        ("repetition", "INTEGER"),
        ("wall_seconds", "REAL"),
    ),
    "evaluations": (("node", "TEXT"), ("spliced", "TEXT")),
}

# How version 1 showed an improver to the model: a prompt holding one is at the meta level.
_V1_IMPROVER_MARKER = "def improve_algorithm"


def stored_version(db: sqlite3.Connection) -> int | None:
    """The schema version a database records (None: a new or damaged one without `meta`)."""
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError:  # no meta table
        return None
    try:
        return None if row is None else int(json.loads(row[0]))
    except (TypeError, ValueError):
        return None


def migrate(db: sqlite3.Connection) -> None:
    """Bring a version-1 or -2 database to the current version in one transaction (`db` in
    autocommit mode); tables it lacks are left alone (a damaged run stays as damaged as it
    was, no more). Adding missing columns is all versions 3 to 5 need; filling the version-2
    columns from version 1's strings touches only rows that lack them."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.execute("BEGIN IMMEDIATE")
    try:
        for table, columns in ADDED.items():
            if table not in tables:
                continue
            have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
            for column, kind in columns:
                if column not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        if "invocations" in tables:
            _migrate_invocations(db)
        if "lm_calls" in tables:
            _migrate_lm_calls(db)
        if "meta" in tables:
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (json.dumps(SCHEMA_VERSION),),
            )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _migrate_invocations(db: sqlite3.Connection) -> None:
    rows = db.execute("SELECT id, purpose FROM invocations WHERE level IS NULL").fetchall()
    for row_id, purpose in rows:
        db.execute(
            "UPDATE invocations SET level = ?, t = ?, task = ?, repetition = ? WHERE id = ?",
            (*_columns(Invocation.from_purpose(str(purpose))), row_id),
        )


def _columns(invocation: Invocation) -> tuple[str, int | None, str | None, int | None]:
    """(level, t, task, repetition) as the version-2 columns hold them."""
    return str(invocation.level), invocation.t, invocation.task, invocation.repetition


def _migrate_lm_calls(db: sqlite3.Connection) -> None:
    # The scope up to its first "/": "t=1/lpn/0" (a meta-utility repetition at t = 1) is "t=1".
    scope = "json_extract(request, '$.scope')"
    head = f"CASE WHEN instr({scope}, '/') > 0 THEN substr({scope}, 1, instr({scope}, '/') - 1)"
    db.execute(
        f"UPDATE lm_calls SET"
        f" level = CASE WHEN instr(request, ?) > 0 THEN 'meta' ELSE 'task' END,"
        f" scope = CASE WHEN json_valid(request) THEN {head} ELSE {scope} END END"
        f" WHERE level IS NULL",
        (_V1_IMPROVER_MARKER,),
    )
