"""Read what a run recorded, for the report and the run listing, without writing to it.

Contract:
- `open_readonly(db_path)` opens `run.db` with `query_only` set, so reading a live run never
  creates tables or rows (`RunStore` would create the schema). A file that is not SQLite at all
  raises `StoreError` with a one-line message.
- `load_run(run_dir)` returns a `RunData` with every section it could read. Nothing in a
  damaged or half-written run raises: a missing table, an unreadable row or an unfinished run
  becomes a line in `RunData.partial`, and the section is left empty.
- Every query is bounded (aggregates in SQL, `LIMIT`s on row lists, downsampled series), so a
  run with tens of thousands of evaluations or LM calls loads in well under a second and the
  page built from it stays a few MB.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from selftaught.store import StoreError

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
MAX_SERIES_POINTS = 400  # per plotted series; more points add bytes, not information
MAX_EVENT_ROWS = 1000
MAX_PROGRAM_ROWS = 200
MAX_INSTANCE_ROWS = 500
MAX_FAILURE_ROWS = 200
# The columns of the safety events per iteration, in order: (column, event kinds). A kind
# ending in ":" is a prefix (static:import, static:call...); a kind in none of them is "other".
# See selftaught/safety.py (DIRECT, STATIC) for what each kind means.
EVENT_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("static scan", ("static:",)),
    ("audit hook", ("audit",)),
    ("refused system call", ("refused_syscall",)),
    ("use_sandbox=False", ("use_sandbox_false",)),
    ("budget exceeded", ("lm_budget_exceeded", "utility_budget_exceeded")),
    ("handle attribute set", ("handle_setattr",)),
    ("unknown handle method", ("unknown_method",)),
    ("utility out of [0, 1]", ("utility_out_of_range",)),
    ("invalid output", ("invalid_output",)),
    ("val/test gap", ("val_test_gap",)),
    ("not an improver", ("candidate_not_an_improver",)),
)
OTHER_FAMILY = "other"
IMPROVER_MARKER = "def improve_algorithm"  # a prompt that shows an improver: the meta level

T = TypeVar("T")


@dataclass
class RunData:
    """Everything the report shows; each field is empty when its table could not be read."""

    run_dir: Path
    meta: dict[str, Any] = field(default_factory=dict)
    iterations: list[dict[str, Any]] = field(default_factory=list)
    # improver sha -> {"val", "test", "runs": [{"task", "repetition", "val", "test"}]}
    meta_utilities: dict[str, dict[str, Any]] = field(default_factory=dict)
    # improver sha -> source, for every improver the lineage names
    improvers: dict[str, str] = field(default_factory=dict)
    # stop invocations: {"t", "improver", "result", "status", "error"}
    stop_invocations: list[dict[str, Any]] = field(default_factory=list)
    invocation_counts: list[dict[str, Any]] = field(default_factory=list)
    lm_calls: list[dict[str, Any]] = field(default_factory=list)  # downsampled, time-ordered
    lm_totals: dict[str, Any] = field(default_factory=dict)
    lm_by_level: list[dict[str, Any]] = field(default_factory=list)
    lm_by_scope: list[dict[str, Any]] = field(default_factory=list)
    evaluation_totals: list[dict[str, Any]] = field(default_factory=list)  # per task and split
    evaluation_series: list[dict[str, Any]] = field(default_factory=list)  # downsampled
    top_programs: list[dict[str, Any]] = field(default_factory=list)
    best_solutions: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    event_total: int = 0
    event_counts: list[dict[str, Any]] = field(default_factory=list)
    # events per iteration: [{"t", "counts": {family: n}}], t ascending, t None last;
    # event_families: the EVENT_FAMILIES columns (and "other") that have events, in order
    event_iterations: list[dict[str, Any]] = field(default_factory=list)
    event_families: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)

    @property
    def config(self) -> dict[str, Any]:
        value = self.meta.get("config")
        return value if isinstance(value, dict) else {}

    @property
    def finished(self) -> bool:
        return self.meta.get("finished") is True


def open_readonly(db_path: Path) -> sqlite3.Connection:
    """A connection that cannot write; `StoreError` if the file is missing or not SQLite."""
    if not db_path.is_file():
        raise StoreError(f"no run database at {db_path}; is this a run directory?")
    # Without a -wal file no connection is open on the database (SQLite removes it when the
    # last writer closes): read it as immutable, which creates no -wal/-shm files beside it.
    # With one, a writer may be live: read through the WAL, as a reader among writers.
    live = Path(f"{db_path}-wal").exists()
    uri = f"{db_path.resolve().as_uri()}?mode=ro" + ("" if live else "&immutable=1")
    try:
        db = sqlite3.connect(uri, uri=True, timeout=5)
        # Reading the schema is the first access to the file's header: garbage fails here.
        db.execute("SELECT name FROM sqlite_master").fetchall()
    except sqlite3.OperationalError:
        # mode=ro cannot open a WAL database whose -shm file is gone and whose directory
        # is read-only to us; a plain connection with query_only still never writes rows.
        try:
            db = sqlite3.connect(db_path, timeout=5)
            db.execute("PRAGMA query_only = ON")
            db.execute("SELECT name FROM sqlite_master").fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{db_path} is not a usable run database ({exc})") from None
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{db_path} is not a usable run database ({exc})") from None
    db.execute("PRAGMA query_only = ON")
    return db


def existing_tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def read_meta(db: sqlite3.Connection) -> dict[str, Any]:
    """meta as a dict of decoded JSON values; a value that does not decode is kept as text."""
    meta: dict[str, Any] = {}
    for key, value in db.execute("SELECT key, value FROM meta"):
        try:
            meta[key] = json.loads(value)
        except (TypeError, ValueError):
            meta[key] = value
    return meta


def read_iterations(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Iteration records in t order; rows that are not JSON objects are skipped."""
    records = []
    for (text,) in db.execute("SELECT record FROM iterations ORDER BY t"):
        record = _json(text)
        if isinstance(record, dict) and isinstance(record.get("t"), int):
            records.append(record)
    return records


def load_run(run_dir: Path) -> RunData:
    """All report sections of `run_dir`; `StoreError` only when there is no database to read."""
    run_dir = Path(run_dir)
    db = open_readonly(run_dir / "run.db")
    try:
        return _load(db, run_dir)
    finally:
        db.close()


def _load(db: sqlite3.Connection, run_dir: Path) -> RunData:
    data = RunData(run_dir=run_dir)
    tables = existing_tables(db)
    missing = [t for t in TABLES if t not in tables]
    if missing:
        data.partial.append(f"tables missing from run.db: {', '.join(missing)}")

    def section(name: str, needs: tuple[str, ...], read: Callable[[], T], default: T) -> T:
        # One damaged section must not hide the others: note it and carry on.
        if any(t not in tables for t in needs):
            return default
        try:
            return read()
        except (sqlite3.DatabaseError, ValueError, TypeError, KeyError) as exc:
            data.partial.append(f"{name} could not be read ({type(exc).__name__}: {exc})")
            return default

    data.meta = section("run configuration", ("meta",), lambda: read_meta(db), {})
    data.iterations = section("iterations", ("iterations",), lambda: read_iterations(db), [])
    data.meta_utilities = section(
        "meta-utilities", ("meta_utilities",), lambda: _meta_utilities(db), {}
    )
    data.stop_invocations = section(
        "improver invocations", ("invocations",), lambda: _stop_invocations(db), []
    )
    data.invocation_counts = section(
        "invocation counts", ("invocations",), lambda: _invocation_counts(db), []
    )
    data.improvers = section("programs", ("programs",), lambda: _improvers(db, data), {})
    lm = section("LM calls", ("lm_calls",), lambda: _lm(db), None)
    if lm is not None:
        data.lm_calls, data.lm_totals, data.lm_by_level, data.lm_by_scope = lm
    data.evaluation_totals = section(
        "evaluation totals", ("evaluations",), lambda: _evaluation_totals(db), []
    )
    data.evaluation_series = section(
        "evaluation series", ("evaluations",), lambda: _evaluation_series(db), []
    )
    data.top_programs = section("solutions", ("evaluations",), lambda: _top_programs(db), [])
    data.best_solutions = section(
        "best solutions", ("evaluations", "programs"), lambda: _best_solutions(db), []
    )
    data.failures = section("failures", ("evaluations",), lambda: _failures(db), [])
    events = section("safety events", ("events",), lambda: _events(db), None)
    if events is not None:
        data.events, data.event_total, data.event_counts = events
    per_t = section("safety events per iteration", ("events",), lambda: _events_by_t(db), None)
    if per_t is not None:
        data.event_iterations, data.event_families = per_t

    if "meta" in tables and data.meta.get("config") is None:
        data.partial.append("run.db records no configuration (the run never started properly)")
    if not data.finished:
        done = max((r["t"] for r in data.iterations), default=None)
        planned = data.config.get("iterations")
        where = "before t=0 was recorded" if done is None else f"after t={done}"
        of = f" of {planned}" if isinstance(planned, int) else ""
        data.partial.append(f"the run has not finished: iterations recorded {where}{of}")
    return data


# ----------------------------------------------------------------------------- queries


def _json(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _meta_utilities(db: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    rows = db.execute(
        "SELECT improver, val, test, detail FROM meta_utilities WHERE purpose = ?", ("record",)
    )
    for improver, val, test, detail in rows:
        runs = (_json(detail) or {}).get("runs") if isinstance(_json(detail), dict) else None
        out[improver] = {"val": val, "test": test, "runs": runs if isinstance(runs, list) else []}
    return out


def _stop_invocations(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT purpose, improver, result, status, error FROM invocations "
        "WHERE purpose LIKE 'stop:t=%' ORDER BY id"
    )
    out = []
    for purpose, improver, result, status, error in rows:
        try:
            t = int(purpose.removeprefix("stop:t="))
        except ValueError:
            continue
        out.append(
            {"t": t, "improver": improver, "result": result, "status": status, "error": error}
        )
    return out


def _invocation_counts(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT CASE WHEN purpose LIKE 'stop:%' THEN 'self-improvement' ELSE 'meta-utility' END,"
        " status, COUNT(*), SUM(seconds) FROM invocations GROUP BY 1, 2 ORDER BY 1, 2"
    )
    return [{"level": lv, "status": s, "count": n, "seconds": sec or 0.0} for lv, s, n, sec in rows]


def _improvers(db: sqlite3.Connection, data: RunData) -> dict[str, str]:
    """Sources of the improvers the lineage names (not every program: solutions can be many)."""
    wanted: set[str] = set(data.meta_utilities)
    initial = data.meta.get("initial_improver")
    if isinstance(initial, str):
        wanted.add(initial)
    for r in data.iterations:
        wanted.update(x for x in (r.get("improver_sha256"), r.get("candidate_sha256")) if x)
    for inv in data.stop_invocations:
        wanted.update(x for x in (inv["improver"], inv["result"]) if x)
    out = {}
    for sha in wanted:
        row = db.execute("SELECT source FROM programs WHERE sha256 = ?", (sha,)).fetchone()
        if row is not None:
            out[sha] = row[0]
    return out


def _level_sql() -> str:
    return f"CASE WHEN instr(request, '{IMPROVER_MARKER}') > 0 THEN 'meta' ELSE 'task' END"


def _scope_sql() -> str:
    """The request's scope up to its first "/": "t=1/lpn/0" (one improver invocation of the
    meta-utility at t = 1) counts under "t=1"."""
    scope = "json_extract(request, '$.scope')"
    head = f"CASE WHEN instr({scope}, '/') > 0 THEN substr({scope}, 1, instr({scope}, '/') - 1)"
    return f"CASE WHEN json_valid(request) THEN {head} ELSE {scope} END END"


def _lm(db: sqlite3.Connection) -> tuple[list, dict, list, list]:
    columns = {r[1] for r in db.execute("PRAGMA table_info(lm_calls)")}
    # No backend records cost yet; a `cost` column (or a `cost` in the request) is shown if there.
    cost = (
        "cost"
        if "cost" in columns
        else ("CASE WHEN json_valid(request) THEN json_extract(request, '$.cost') END")
    )
    tokens = "COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)"
    total = db.execute(
        f"SELECT COUNT(*), COALESCE(SUM(cached = 0), 0), COALESCE(SUM(n), 0),"
        f" COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),"
        f" COALESCE(SUM(seconds), 0), SUM({cost}), MIN(created), MAX(created) FROM lm_calls"
    ).fetchone()
    totals = dict(
        zip(
            (
                "calls",
                "paid",
                "samples",
                "prompt_tokens",
                "completion_tokens",
                "seconds",
                "cost",
                "first",
                "last",
            ),
            total,
            strict=True,
        )
    )
    by_level = [
        dict(zip(("level", "calls", "paid", "tokens", "seconds"), r, strict=True))
        for r in db.execute(
            f"SELECT {_level_sql()}, COUNT(*), SUM(cached = 0), SUM({tokens}), SUM(seconds)"
            " FROM lm_calls GROUP BY 1 ORDER BY 1"
        )
    ]
    by_scope = [
        dict(zip(("scope", "level", "calls", "paid", "tokens", "seconds"), r, strict=True))
        for r in db.execute(
            f"SELECT {_scope_sql()}, {_level_sql()}, COUNT(*), SUM(cached = 0), SUM({tokens}),"
            " SUM(seconds) FROM lm_calls GROUP BY 1, 2 ORDER BY MIN(id)"
        )
    ]
    # Every k-th call, k chosen so that at most MAX_SERIES_POINTS are kept; the cumulative
    # columns are computed over all calls by a window, so the curves stay exact at kept points.
    n = totals["calls"] or 0
    step = max(1, -(-n // MAX_SERIES_POINTS))
    calls = [
        dict(
            zip(
                (
                    "i",
                    "created",
                    "level",
                    "cached",
                    "tokens",
                    "seconds",
                    "cum_calls",
                    "cum_paid",
                    "cum_tokens",
                ),
                r,
                strict=True,
            )
        )
        for r in db.execute(
            f"SELECT i, created, level, cached, tokens, seconds, cum_calls, cum_paid, cum_tokens"
            f" FROM (SELECT ROW_NUMBER() OVER w AS i, created, {_level_sql()} AS level, cached,"
            f" {tokens} AS tokens, COALESCE(seconds, 0) AS seconds,"
            f" COUNT(*) OVER w AS cum_calls, SUM(cached = 0) OVER w AS cum_paid,"
            f" SUM({tokens}) OVER w AS cum_tokens FROM lm_calls WINDOW w AS (ORDER BY id))"
            f" WHERE (i - 1) % ? = 0 OR i = ? ORDER BY i",
            (step, n),
        )
    ]
    return calls, totals, by_level, by_scope


def _evaluation_totals(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT task, split, COUNT(*), COUNT(DISTINCT program), AVG(score), MAX(score),"
        " SUM(failure IS NOT NULL), SUM(seconds) FROM evaluations GROUP BY task, split"
        " ORDER BY task, split"
    )
    keys = ("task", "split", "count", "programs", "mean", "max", "failed", "seconds")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def _evaluation_series(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Val evaluations in order, bucketed: per bucket the mean and max score and running best."""
    n = db.execute("SELECT COUNT(*) FROM evaluations WHERE split = 'val'").fetchone()[0]
    size = max(1, -(-n // MAX_SERIES_POINTS))
    rows = db.execute(
        "SELECT (i - 1) / ? AS b, MIN(i), AVG(score), MAX(score), MAX(best) FROM"
        " (SELECT ROW_NUMBER() OVER (ORDER BY id) AS i, score,"
        "  MAX(score) OVER (ORDER BY id) AS best FROM evaluations WHERE split = 'val')"
        " GROUP BY b ORDER BY b",
        (size,),
    )
    return [{"i": i, "mean": mean, "max": mx, "best": best} for _, i, mean, mx, best in rows]


def _top_programs(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT program, task, COUNT(*), AVG(CASE WHEN split = 'val' THEN score END),"
        " AVG(CASE WHEN split = 'test' THEN score END), SUM(failure IS NOT NULL)"
        " FROM evaluations GROUP BY program, task ORDER BY 4 DESC NULLS LAST, 3 DESC LIMIT ?",
        (MAX_PROGRAM_ROWS,),
    )
    keys = ("program", "task", "evaluations", "val", "test", "failed")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def _best_solutions(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Per task, the program with the best val score (ties: earliest), with its outcomes."""
    out = []
    tasks = [r[0] for r in db.execute("SELECT DISTINCT task FROM evaluations ORDER BY task")]
    for task in tasks:
        best = db.execute(
            "SELECT program, score, instances, failure FROM evaluations"
            " WHERE task = ? AND split = 'val' ORDER BY score DESC, id LIMIT 1",
            (task,),
        ).fetchone()
        if best is None:
            continue
        program, val, instances, failure = best
        test = db.execute(
            "SELECT score, instances FROM evaluations WHERE task = ? AND split = 'test'"
            " AND program = ? ORDER BY id LIMIT 1",
            (task, program),
        ).fetchone()
        source = db.execute("SELECT source FROM programs WHERE sha256 = ?", (program,)).fetchone()
        out.append(
            {
                "task": task,
                "program": program,
                "source": source[0] if source else None,
                "val": val,
                "failure": failure,
                "val_instances": _instances(instances),
                "test": test[0] if test else None,
                "test_instances": _instances(test[1]) if test else [],
            }
        )
    return out


def _instances(text: Any) -> list[dict[str, Any]]:
    value = _json(text)
    if not isinstance(value, list):
        return []
    return [r if isinstance(r, dict) else {"score": r} for r in value]


def _failures(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT failure, task, split, COUNT(*), MIN(program) FROM evaluations"
        " WHERE failure IS NOT NULL GROUP BY failure, task, split ORDER BY 4 DESC LIMIT ?",
        (MAX_FAILURE_ROWS,),
    )
    keys = ("failure", "task", "split", "count", "example_program")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def _events(db: sqlite3.Connection) -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
    total = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    counts = [
        {"kind": k, "count": n, "programs": p}
        for k, n, p in db.execute(
            "SELECT kind, COUNT(*), COUNT(DISTINCT program) FROM events GROUP BY kind"
            " ORDER BY 2 DESC"
        )
    ]
    sources: dict[str, list[str] | None] = {}
    events = []
    for kind, program, detail, created in db.execute(
        "SELECT kind, program, detail, created FROM events ORDER BY id LIMIT ?",
        (MAX_EVENT_ROWS,),
    ):
        info = _json(detail)
        info = info if isinstance(info, dict) else {"detail": detail}
        line = info.get("line")
        offending = None
        if program and isinstance(line, int) and line > 0:
            if program not in sources:
                row = db.execute(
                    "SELECT source FROM programs WHERE sha256 = ?", (program,)
                ).fetchone()
                sources[program] = row[0].splitlines() if row else None
            lines = sources[program]
            if lines and line <= len(lines):
                offending = lines[line - 1]
        events.append(
            {
                "kind": kind,
                "program": program,
                "detail": info,
                "line": line,
                "offending": offending,
                "created": created,
            }
        )
    return events, total, counts


def _family_sql() -> tuple[str, list[Any]]:
    """A CASE expression naming the EVENT_FAMILIES column of an event's kind, and its
    parameters (kinds are bound, not spliced: a prefix is compared with substr, not LIKE,
    whose "_" and case folding would match more than the prefix)."""
    whens: list[str] = []
    params: list[Any] = []
    for family, kinds in EVENT_FAMILIES:
        for kind in kinds:
            if kind.endswith(":"):
                whens.append("WHEN substr(kind, 1, ?) = ? THEN ?")
                params += [len(kind), kind, family]
            else:
                whens.append("WHEN kind = ? THEN ?")
                params += [kind, family]
    return f"CASE {' '.join(whens)} ELSE ? END", [*params, OTHER_FAMILY]


def _events_by_t(db: sqlite3.Connection) -> tuple[list[dict[str, Any]], list[str]]:
    """Event counts per iteration ("t" in the detail; None without one) and family, counted
    by SQL: one GROUP BY over the table, however many events it holds."""
    family, params = _family_sql()
    t = "CASE WHEN json_valid(detail) THEN json_extract(detail, '$.t') END"
    rows = db.execute(f"SELECT {t}, {family}, COUNT(*) FROM events GROUP BY 1, 2", params)
    counts: dict[Any, dict[str, int]] = {}
    for when, name, n in rows:
        counts.setdefault(when, {})[name] = n
    order = [name for name, _ in EVENT_FAMILIES] + [OTHER_FAMILY]
    present = {name for c in counts.values() for name in c}
    iterations = [{"t": when, "counts": counts[when]} for when in sorted(counts, key=_t_order)]
    return iterations, [name for name in order if name in present]


def _t_order(value: Any) -> tuple[int, float, str]:
    """Numbers ascending, then anything else a damaged detail holds, then no t (None)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value)) if value is not None else (2, 0, "")
