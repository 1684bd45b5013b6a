"""Every read of a run database: what resume, the report, the run listing, the safety
analysis, the run-wide caps and `doctor` ask of it.

`RunQueries` is shared by the writer (`RunStore`) and the read-only `RunReader`. Queries are
bounded (aggregates in SQL, `LIMIT`s on row lists, downsampled series), so that a run with tens
of thousands of evaluations or LM calls reads in well under a second. Rows whose JSON does not
decode are skipped or kept as text, never raised: a damaged run still reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from selftaught import sizes
from selftaught.records import (
    RECORD_PURPOSE,
    BestSolution,
    CallPoint,
    CallPrompt,
    CallTotals,
    EvaluationTotal,
    EventCount,
    EventRecord,
    FailureCount,
    InvocationCount,
    InvocationOutcome,
    IterationRecord,
    Level,
    MetaScore,
    ProgramScores,
    SeriesPoint,
    SolutionScores,
    StoredEvaluation,
    StoredEvent,
    ZeroScoreCount,
)
from selftaught.store.connection import Connection, Sample, StoreError
from selftaught.store.schema import TABLES

MAX_SERIES_POINTS = 400  # per plotted series; more points add bytes, not information
MAX_EVENT_ROWS = 1000
MAX_PROGRAM_ROWS = 200
MAX_FAILURE_ROWS = 200
MAX_DOWNSTREAM_ROWS = 20  # improver runs listed under each improver of the lineage
MAX_LIVE_ROWS = 200  # per table and push: a browser that fell behind gets the newest
# What the dashboard streams of each table as rows are written: column expressions (a name, or
# "expression AS name"). JSON columns go out as text; the page shows them as text.
LIVE_TABLES: dict[str, tuple[str, ...]] = {
    "lm_calls": ("created", "COALESCE(level, 'task') AS level", "scope", "cached", "n",
                 "COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0) AS tokens",
                 "seconds"),
    "evaluations": ("created", "program", "task", "split", "score", "failure", "seconds", "node"),
    "invocations": ("created", "level", "t", "task", "repetition", "status", "error",
                    "improver", "result"),
    "events": ("created", "kind", "program", "detail"),
    "iterations": ("created", "t"),
    "meta_utilities": ("created", "improver", "purpose", "val", "test"),
    "meta": ("key",),  # a run fact rewritten (INSERT OR REPLACE) takes a new rowid
}  # fmt: skip
COUNTED = frozenset({"evaluations", "lm_calls", "invocations", "events", "programs"})


def decode(text: Any) -> Any:
    """The JSON value of `text`, or None when it is not JSON."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


class RunQueries:
    """Reads of one run database through `self.db`."""

    db: Connection
    path: Path

    # ------------------------------------------------------------------ schema and meta
    def tables(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def integrity(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]

    def get_meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return self._stored_json(row[0], f"meta {key!r}")

    def _stored_json(self, text: Any, what: str) -> Any:
        """A JSON column the store wrote; one line naming it when it no longer parses."""
        try:
            return json.loads(text)
        except (TypeError, ValueError):
            altered = f"{self.path}: {what} is not JSON; the file was altered"
            raise StoreError(altered) from None

    def meta(self) -> dict[str, Any]:
        """meta as a dict of decoded JSON values; a value that does not decode is kept as text."""
        meta: dict[str, Any] = {}
        for key, value in self.db.execute("SELECT key, value FROM meta"):
            decoded = decode(value)
            meta[key] = value if decoded is None and value != "null" else decoded
        return meta

    def count(self, table: str) -> int:
        assert table in COUNTED
        return self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    # ------------------------------------------------------------------------- programs
    def get_program(self, digest: str) -> str | None:
        row = self.db.execute("SELECT source FROM programs WHERE sha256 = ?", (digest,)).fetchone()
        return None if row is None else row[0]

    def program_kind(self, digest: str) -> str | None:
        row = self.db.execute("SELECT kind FROM programs WHERE sha256 = ?", (digest,)).fetchone()
        return None if row is None else row[0]

    def sources(self, digests: set[str]) -> dict[str, str]:
        """The sources of those of `digests` the store holds."""
        found = {}
        for digest in sorted(digests):
            source = self.get_program(digest)
            if source is not None:
                found[digest] = source
        return found

    # ----------------------------------------------------------------------- iterations
    def iterations(self) -> list[IterationRecord]:
        """Iteration records in t order; rows that are not JSON objects with a t are skipped,
        and a field missing from a row reads None."""
        records = []
        for (text,) in self.db.execute("SELECT record FROM iterations ORDER BY t"):
            record = decode(text)
            if isinstance(record, dict) and isinstance(record.get("t"), int):
                records.append(IterationRecord.from_dict(record))
        return records

    # -------------------------------------------------------------------- meta-utilities
    def get_meta_utility(self, improver: str, purpose: str) -> MetaScore | None:
        """The meta-utility stored for (improver, purpose); StoreError if it was altered."""
        row = self.db.execute(
            "SELECT val, test, detail FROM meta_utilities WHERE improver = ? AND purpose = ?",
            (improver, purpose),
        ).fetchone()
        if row is None:
            return None
        detail = self._stored_json(row[2], f"the meta-utility record of {purpose!r}")
        try:
            return MetaScore.from_stored(row[0], row[1], detail)
        except ValueError as exc:
            altered = f"{self.path}: the meta-utility record of {purpose!r} was altered"
            raise StoreError(f"{altered} ({exc})") from None

    def record_meta_utilities(self) -> dict[str, MetaScore]:
        """improver -> its û for every improver the STOP loop scored (an altered record: its
        val and test without the repetitions, so that one row does not hide the others)."""
        out: dict[str, MetaScore] = {}
        rows = self.db.execute(
            "SELECT improver, val, test, detail FROM meta_utilities WHERE purpose = ?",
            (RECORD_PURPOSE,),
        )
        for improver, val, test, detail in rows:
            try:
                out[improver] = MetaScore.from_stored(val, test, decode(detail))
            except ValueError:
                out[improver] = MetaScore(val, test)
        return out

    # ---------------------------------------------------------------------- invocations
    def stop_invocations(self) -> list[InvocationOutcome]:
        """The STOP loop's invocations, in the order they ended."""
        rows = self.db.execute(
            "SELECT t, improver, result, status, error FROM invocations"
            " WHERE level = ? AND t IS NOT NULL ORDER BY id",
            (Level.STOP.value,),
        )
        keys = ("t", "improver", "result", "status", "error")
        return [InvocationOutcome(**dict(zip(keys, r, strict=True))) for r in rows]

    def invocation_counts(self) -> list[InvocationCount]:
        rows = self.db.execute(
            "SELECT CASE WHEN level = ? THEN 'self-improvement' ELSE 'meta-utility' END,"
            " status, COUNT(*), SUM(seconds), SUM(wall_seconds) FROM invocations"
            " GROUP BY 1, 2 ORDER BY 1, 2",
            (Level.STOP.value,),
        )
        # wall_seconds: None where no invocation of the group recorded it (before version 4)
        return [InvocationCount(lv, s, n, sec or 0.0, wall) for lv, s, n, sec, wall in rows]

    def invocations(self) -> list[InvocationOutcome]:
        """Every invocation (its improver, level, t, task, status and error), in the order
        they ended."""
        rows = self.db.execute(
            "SELECT improver, level, t, task, status, error FROM invocations ORDER BY id"
        )
        return [
            InvocationOutcome(t, improver, status, error=error, task=task, level=level)
            for improver, level, t, task, status, error in rows
        ]

    def downstream_runs(self) -> dict[str, list[InvocationOutcome]]:
        """The second level of the lineage: per improver, the improver runs the meta-utility
        made of it (the first `MAX_DOWNSTREAM_ROWS`, in order), each with the solution it
        returned and that solution's latest val and test scores on the run's task."""

        def latest(split: str, column: str) -> str:
            return (
                f"(SELECT {column} FROM evaluations e WHERE e.program = i.result"
                f" AND e.task = i.task AND e.split = '{split}' ORDER BY e.id DESC LIMIT 1)"
            )

        rows = self.db.execute(
            "SELECT improver, t, task, repetition, status, error, result,"
            f" {latest('val', 'score')}, {latest('test', 'score')}, {latest('val', 'failure')}"
            " FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY improver ORDER BY id) AS k"
            " FROM invocations WHERE level = ?) i WHERE k <= ? ORDER BY id",
            (Level.META_UTILITY.value, MAX_DOWNSTREAM_ROWS),
        )  # fmt: skip
        keys = ("t", "task", "repetition", "status", "error", "result", "val", "test", "failure")
        out: dict[str, list[InvocationOutcome]] = {}
        for improver, *values in rows:
            run = InvocationOutcome(improver=improver, **dict(zip(keys, values, strict=True)))
            out.setdefault(improver, []).append(run)
        return out

    def meta_utility_improvers(self) -> list[str]:
        """Every improver the meta-utility ran, in order of invocation (repeats included)."""
        rows = self.db.execute(
            "SELECT improver FROM invocations WHERE level = ? ORDER BY id",
            (Level.META_UTILITY.value,),
        )
        return [r[0] for r in rows]

    # ----------------------------------------------------------------- LM samples and calls
    def get_sample(self, request_key: str, index: int) -> Sample | None:
        # At most `sizes.REPLY_CHARS` of it, read by SQLite: a run directory from elsewhere
        # (--cache-from, replay) may hold a 300 MB reply that no selftaught stored.
        row = self.db.execute(
            "SELECT substr(response, 1, ?), prompt_tokens, completion_tokens, seconds"
            " FROM lm_samples WHERE request_key = ? AND sample_index = ?",
            (sizes.REPLY_CHARS, request_key, index),
        ).fetchone()
        return None if row is None else Sample(*row)

    def lm_usage(self) -> dict[str, int]:
        calls, paid, tokens = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(cached = 0), 0),"
            " COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM lm_calls"
        ).fetchone()
        samples = self.db.execute("SELECT COUNT(*) FROM lm_samples").fetchone()[0]
        return {"calls": calls, "uncached_calls": paid, "tokens": tokens, "samples": samples}

    def paid_lm_calls(self) -> int:
        return self.db.execute("SELECT COALESCE(SUM(cached = 0), 0) FROM lm_calls").fetchone()[0]

    def spent(self) -> tuple[int, int, float]:
        """(paid calls, paid tokens, dollars) over every recorded call.

        A call is paid when it generated at least one sample (cached < n). Its paid tokens and
        cost are the request JSON's "paid_tokens" and "cost" when the broker recorded them, else
        (rows from before they were recorded) all of the row's tokens.
        """
        calls, tokens, dollars = self.db.execute(
            "SELECT COALESCE(SUM(cached < n), 0),"
            " COALESCE(SUM(CASE WHEN json_valid(request)"
            "  AND json_extract(request, '$.paid_tokens') IS NOT NULL"
            "  THEN json_extract(request, '$.paid_tokens')"
            "  WHEN cached < n THEN COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)"
            "  ELSE 0 END), 0),"
            " COALESCE(SUM(CASE WHEN json_valid(request) THEN json_extract(request, '$.cost')"
            " END), 0) FROM lm_calls"
        ).fetchone()
        return int(calls), int(tokens), float(dollars)

    def lm_report(
        self, series: bool = True
    ) -> tuple[list[CallPoint], CallTotals, list[CallTotals], list[CallTotals]]:
        """(downsampled calls with cumulative counts, totals, per level, per scope); without
        `series` the first is empty (the window over every call is the costly part)."""
        cost = "CASE WHEN json_valid(request) THEN json_extract(request, '$.cost') END"
        tokens = "COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)"
        total = self.db.execute(
            f"SELECT COUNT(*), COALESCE(SUM(cached = 0), 0), COALESCE(SUM(n), 0),"
            f" COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),"
            f" COALESCE(SUM(seconds), 0), SUM({cost}), MIN(created), MAX(created) FROM lm_calls"
        ).fetchone()
        calls_, paid, samples, prompt, completion, seconds, cost, first, last = total
        totals = CallTotals(
            calls_, paid, prompt + completion, seconds, samples=samples, prompt_tokens=prompt,
            completion_tokens=completion, cost=cost, first=first, last=last,
        )  # fmt: skip
        by_level = [
            CallTotals(calls, paid, tokens_, seconds_, level=level)
            for level, calls, paid, tokens_, seconds_ in self.db.execute(
                f"SELECT {_LEVEL}, COUNT(*), SUM(cached = 0), SUM({tokens}), SUM(seconds)"
                " FROM lm_calls GROUP BY 1 ORDER BY 1"
            )
        ]
        by_scope = [
            CallTotals(calls, paid, tokens_, seconds_, level=level, scope=scope)
            for scope, level, calls, paid, tokens_, seconds_ in self.db.execute(
                f"SELECT scope, {_LEVEL}, COUNT(*), SUM(cached = 0), SUM({tokens}),"
                " SUM(seconds) FROM lm_calls GROUP BY 1, 2 ORDER BY MIN(id)"
            )
        ]
        points = self._lm_series(totals.calls, tokens) if series else []
        return points, totals, by_level, by_scope

    def _lm_series(self, n: int, tokens: str) -> list[CallPoint]:
        # Every k-th call, k chosen so that at most MAX_SERIES_POINTS are kept; the cumulative
        # columns are computed over all calls by a window, so the curves stay exact at kept points.
        step = max(1, -(-n // MAX_SERIES_POINTS))
        rows = self.db.execute(
            f"SELECT i, created, level, cached, tokens, seconds, cum_calls, cum_paid, cum_tokens"
            f" FROM (SELECT ROW_NUMBER() OVER w AS i, created, {_LEVEL} AS level, cached,"
            f" {tokens} AS tokens, COALESCE(seconds, 0) AS seconds,"
            f" COUNT(*) OVER w AS cum_calls, SUM(cached = 0) OVER w AS cum_paid,"
            f" SUM({tokens}) OVER w AS cum_tokens FROM lm_calls WINDOW w AS (ORDER BY id))"
            f" WHERE (i - 1) % ? = 0 OR i = ? ORDER BY i",
            (step, n),
        )
        return [CallPoint(*r) for r in rows]

    # ---------------------------------------------------------------------- evaluations
    def get_evaluation(
        self, program: str, task: str, split: str, seed: int
    ) -> StoredEvaluation | None:
        row = self.db.execute(
            "SELECT score, instances, seconds, layers, failure, node, spliced FROM evaluations "
            "WHERE program = ? AND task = ? AND split = ? AND seed = ?",
            (program, task, split, seed),
        ).fetchone()
        if row is None:
            return None
        score, instances, seconds, layers, failure, node, spliced = row
        what = f"the evaluation of {program[:12]}"
        return StoredEvaluation(
            score, self._stored_json(instances, what), seconds, self._stored_json(layers, what),
            failure, node, spliced,
        )  # fmt: skip

    def evaluation_nodes(self) -> dict[str, int]:
        """Evaluations per node they ran on ("local" for the local pool; "" for those an
        older selftaught recorded without one)."""
        rows = self.db.execute("SELECT COALESCE(node, ''), COUNT(*) FROM evaluations GROUP BY 1")
        return {node: count for node, count in rows}

    def evaluation_totals(self) -> list[EvaluationTotal]:
        rows = self.db.execute(
            "SELECT task, split, COUNT(*), COUNT(DISTINCT program), AVG(score), MAX(score),"
            " SUM(failure IS NOT NULL), SUM(seconds) FROM evaluations GROUP BY task, split"
            " ORDER BY task, split"
        )
        return [EvaluationTotal(*r) for r in rows]

    def evaluation_series(self) -> list[SeriesPoint]:
        """Val evaluations in order, bucketed: per bucket the mean and max score and running
        best."""
        n = self.db.execute("SELECT COUNT(*) FROM evaluations WHERE split = 'val'").fetchone()[0]
        size = max(1, -(-n // MAX_SERIES_POINTS))
        rows = self.db.execute(
            "SELECT (i - 1) / ? AS b, MIN(i), AVG(score), MAX(score), MAX(best) FROM"
            " (SELECT ROW_NUMBER() OVER (ORDER BY id) AS i, score,"
            "  MAX(score) OVER (ORDER BY id) AS best FROM evaluations WHERE split = 'val')"
            " GROUP BY b ORDER BY b",
            (size,),
        )
        return [SeriesPoint(i, mean, mx, best) for _, i, mean, mx, best in rows]

    def top_programs(self) -> list[ProgramScores]:
        rows = self.db.execute(
            "SELECT program, task, COUNT(*), AVG(CASE WHEN split = 'val' THEN score END),"
            " AVG(CASE WHEN split = 'test' THEN score END), SUM(failure IS NOT NULL)"
            " FROM evaluations GROUP BY program, task ORDER BY 4 DESC NULLS LAST, 3 DESC LIMIT ?",
            (MAX_PROGRAM_ROWS,),
        )
        return [ProgramScores(*r) for r in rows]

    def best_solutions(self) -> list[BestSolution]:
        """Per task, the program with the best val score (ties: earliest), with its outcomes."""
        out = []
        tasks = [
            r[0] for r in self.db.execute("SELECT DISTINCT task FROM evaluations ORDER BY task")
        ]
        for task in tasks:
            best = self.db.execute(
                "SELECT program, score, instances, failure, spliced FROM evaluations"
                " WHERE task = ? AND split = 'val' ORDER BY score DESC, id LIMIT 1",
                (task,),
            ).fetchone()
            if best is None:
                continue
            program, val, instances, failure, spliced = best
            test = self.db.execute(
                "SELECT score, instances FROM evaluations WHERE task = ? AND split = 'test'"
                " AND program = ? ORDER BY id LIMIT 1",
                (task, program),
            ).fetchone()
            out.append(
                BestSolution(
                    task=task,
                    program=program,
                    source=self.get_program(program),
                    val=val,
                    failure=failure,
                    spliced=spliced,  # NULL before schema version 5
                    val_instances=_instances(instances),
                    test=test[0] if test else None,
                    test_instances=_instances(test[1]) if test else [],
                )
            )
        return out

    def failures(self) -> list[FailureCount]:
        rows = self.db.execute(
            "SELECT failure, task, split, COUNT(*), MIN(program), SUM(spliced IS NOT NULL)"
            " FROM evaluations WHERE failure IS NOT NULL GROUP BY failure, task, split"
            " ORDER BY 4 DESC LIMIT ?",
            (MAX_FAILURE_ROWS,),
        )
        return [FailureCount(*r) for r in rows]

    def zero_scores(self) -> list[ZeroScoreCount]:
        """Per task, the solutions the model wrote that were scored on val (the task's seed
        solution, which improvers start from, left out), how many scored 0, and the commonest
        reason recorded for those zeros (None: they ran and were wrong, or failed in several
        ways)."""
        written = (
            "split = 'val' AND program NOT IN (SELECT initial FROM invocations"
            f" WHERE level = '{Level.META_UTILITY.value}' AND task = evaluations.task)"
        )
        rows = self.db.execute(
            f"SELECT task, COUNT(*), SUM(score = 0) FROM evaluations WHERE {written}"
            " GROUP BY task ORDER BY task"
        ).fetchall()
        out = []
        for task, scored, zero in rows:
            commonest = self.db.execute(
                f"SELECT failure, COUNT(*) FROM evaluations WHERE {written} AND task = ?"
                " AND score = 0 AND failure IS NOT NULL GROUP BY failure ORDER BY 2 DESC, 1"
                " LIMIT 1",
                (task,),
            ).fetchone()
            reason, count = commonest or (None, 0)
            out.append(ZeroScoreCount(task, scored, zero or 0, reason, count))
        return out

    def solution_scores(self) -> list[SolutionScores]:
        """Per task an improver was run on: the seed solution's val and test scores beside
        those of the best solution the improvers returned (by val, ties: earliest). A score
        not evaluated is None; `RunSession.solution_scores` evaluates what is missing."""
        rows = self.db.execute(
            "SELECT task, initial FROM invocations WHERE id IN (SELECT MIN(id) FROM invocations"
            " WHERE level = ? AND task IS NOT NULL GROUP BY task) ORDER BY task",
            (Level.META_UTILITY.value,),
        ).fetchall()
        out = []
        for task, seed in rows:
            best = self.best_returned_solution(task)
            out.append(
                SolutionScores(
                    task,
                    self._score_of(seed, task, "val"),
                    self._score_of(seed, task, "test"),
                    self._score_of(best, task, "val") if best else None,
                    self._score_of(best, task, "test") if best else None,
                    best,
                )
            )
        return out

    def best_returned_solution(self, task: str) -> str | None:
        """The SHA-256 of the solution with the best val score among those the improvers
        returned on `task` (ties: the first evaluated), or None when none returned code."""
        row = self.db.execute(
            "SELECT program FROM evaluations WHERE task = ? AND split = 'val' AND program IN"
            " (SELECT result FROM invocations WHERE level = ? AND task = ? AND result IS NOT"
            " NULL) ORDER BY score DESC, id LIMIT 1",
            (task, Level.META_UTILITY.value, task),
        ).fetchone()
        return row[0] if row else None

    def _score_of(self, program: str, task: str, split: str) -> float | None:
        row = self.db.execute(
            "SELECT score FROM evaluations WHERE program = ? AND task = ? AND split = ?"
            " ORDER BY id LIMIT 1",
            (program, task, split),
        ).fetchone()
        return row[0] if row else None

    # --------------------------------------------------------------------------- events
    def events(self, kind: str | None = None) -> list[StoredEvent]:
        query = "SELECT kind, program, detail FROM events"
        rows = self.db.execute(query + (" WHERE kind = ?" if kind else ""), (kind,) if kind else ())
        return [StoredEvent(k, p, json.loads(d)) for k, p, d in rows]

    def event_report(self) -> tuple[list[EventRecord], int, list[EventCount]]:
        """(the first events, each with its offending source line; the total; counts per kind)."""
        total = self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        counts = [
            EventCount(k, n, p)
            for k, n, p in self.db.execute(
                "SELECT kind, COUNT(*), COUNT(DISTINCT program) FROM events GROUP BY kind"
                " ORDER BY 2 DESC"
            )
        ]
        sources: dict[str, list[str] | None] = {}
        events = []
        for kind, program, detail, created in self.db.execute(
            "SELECT kind, program, detail, created FROM events ORDER BY id LIMIT ?",
            (MAX_EVENT_ROWS,),
        ):
            info = decode(detail)
            info = info if isinstance(info, dict) else {"detail": detail}
            line = info.get("line")
            offending = None
            if program and isinstance(line, int) and line > 0:
                if program not in sources:
                    source = self.get_program(program)
                    sources[program] = source.splitlines() if source is not None else None
                lines = sources[program]
                if lines and line <= len(lines):
                    offending = lines[line - 1]
            events.append(EventRecord(kind, program, info, line, offending, created))
        return events, total, counts

    def event_counts_by_t(
        self, families: tuple[tuple[str, tuple[str, ...]], ...], other: str
    ) -> dict[Any, dict[str, int]]:
        """Event counts per iteration ("t" in the detail; None without one) and family, by
        SQL: one GROUP BY over the table, however many events it holds. A kind ending in ":" in
        `families` is a prefix; a kind in none of them counts as `other`."""
        family, params = _family_sql(families, other)
        t = "CASE WHEN json_valid(detail) THEN json_extract(detail, '$.t') END"
        rows = self.db.execute(f"SELECT {t}, {family}, COUNT(*) FROM events GROUP BY 1, 2", params)
        counts: dict[Any, dict[str, int]] = {}
        for when, name, n in rows:
            counts.setdefault(when, {})[name] = n
        return counts

    # ------------------------------------------------------------------- live (dashboard)
    def marks(self) -> dict[str, int]:
        """The highest rowid of each table the dashboard streams (0 when empty or missing)."""
        have = self.tables()
        parts = [f"(SELECT COALESCE(MAX(rowid), 0) FROM {t})" if t in have else "0"
                 for t in LIVE_TABLES]  # fmt: skip
        row = self.db.execute(f"SELECT {', '.join(parts)}").fetchone()
        return dict(zip(LIVE_TABLES, (int(v) for v in row), strict=True))

    def rows_after(self, table: str, after: int) -> list[dict[str, Any]]:
        """The rows of `table` (one of `LIVE_TABLES`) written after rowid `after`, oldest first,
        at most the newest `MAX_LIVE_ROWS` of them, shaped for the dashboard's live tables."""
        columns = LIVE_TABLES[table]
        rows = self.db.execute(
            f"SELECT * FROM (SELECT rowid, {', '.join(columns)} FROM {table} WHERE rowid > ?"
            " ORDER BY rowid DESC LIMIT ?) ORDER BY rowid",
            (after, MAX_LIVE_ROWS),
        )
        return [dict(zip(("id", *_names(columns)), r, strict=True)) for r in rows]

    def latest_lm_call(self) -> CallPrompt | None:
        """The newest model call: when, its level and scope, and what it asked (system, user)."""
        row = self.db.execute(
            f"SELECT created, {_LEVEL}, scope, CASE WHEN json_valid(request) THEN"
            " json_extract(request, '$.system') END, CASE WHEN json_valid(request) THEN"
            " json_extract(request, '$.user') END FROM lm_calls ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else CallPrompt(*row)

    def usage_by_level(self) -> dict[str, CallTotals]:
        """Per LM-call level ("meta", "task"): calls, paid calls, tokens, seconds and dollars
        (`cost`) so far."""
        cost = "CASE WHEN json_valid(request) THEN json_extract(request, '$.cost') END"
        rows = self.db.execute(
            f"SELECT {_LEVEL}, COUNT(*), COALESCE(SUM(cached < n), 0),"
            " COALESCE(SUM(COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)), 0),"
            f" COALESCE(SUM(seconds), 0), SUM({cost}) FROM lm_calls GROUP BY 1 ORDER BY 1"
        )
        return {
            level: CallTotals(calls, paid, tokens, seconds, level=level, cost=cost_)
            for level, calls, paid, tokens, seconds, cost_ in rows
        }

    def invocation_levels(self) -> dict[str, int]:
        """Invocations recorded per level ("stop", "meta_utility")."""
        rows = self.db.execute("SELECT COALESCE(level, '?'), COUNT(*) FROM invocations GROUP BY 1")
        return {level: n for level, n in rows}

    # ------------------------------------------------------------------------ stored rows
    def rows(self, table: str, *columns: str) -> list[dict[str, Any]]:
        """Every row of `table` (one of `TABLES`) as {column: value}, `columns` or all of them,
        in the order written, values as stored (JSON columns stay text). For tests and
        benchmarks that check what a small run recorded: unlike the queries above, unbounded."""
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}; one of {', '.join(TABLES)}")
        known = [row[1] for row in self.db.execute(f"PRAGMA table_info({table})")]
        wanted = list(columns) or known
        if unknown := [c for c in wanted if c not in known]:
            raise ValueError(f"table {table} has no column {', '.join(unknown)}")
        rows = self.db.execute(f"SELECT {', '.join(wanted)} FROM {table} ORDER BY rowid")
        return [dict(zip(wanted, row, strict=True)) for row in rows]


# An LM call's level as the report shows it: "meta" or "task" (NULL only in a damaged row).
_LEVEL = "COALESCE(level, 'task')"


def _names(columns: tuple[str, ...]) -> list[str]:
    """The result names of column expressions ("a AS b" is named b)."""
    return [c.rsplit(" AS ", 1)[-1] for c in columns]


def _instances(text: Any) -> list[dict[str, Any]]:
    value = decode(text)
    if not isinstance(value, list):
        return []
    return [r if isinstance(r, dict) else {"score": r} for r in value]


def _family_sql(
    families: tuple[tuple[str, tuple[str, ...]], ...], other: str
) -> tuple[str, list[Any]]:
    """A CASE expression naming the family of an event's kind, and its parameters (kinds are
    bound, not spliced: a prefix is compared with substr, not LIKE, whose "_" and case folding
    would match more than the prefix)."""
    whens: list[str] = []
    params: list[Any] = []
    for family, kinds in families:
        for kind in kinds:
            if kind.endswith(":"):
                whens.append("WHEN substr(kind, 1, ?) = ? THEN ?")
                params += [len(kind), kind, family]
            else:
                whens.append("WHEN kind = ? THEN ?")
                params += [kind, family]
    return f"CASE {' '.join(whens)} ELSE ? END", [*params, other]
