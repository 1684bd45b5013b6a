"""Watching run stores cheaply and pushing what changed to the pages that watch them.

Contract:
- one thread (`Hub`) polls, every `interval` seconds, only the runs someone watches; a run
  is re-read only when its files changed: the size and mtime of run.db and run.db-wal (every
  commit of a WAL-mode run writes the -wal file), plus, for the runs list, who holds the
  run's lock. An unchanged run costs two `stat` calls per poll and no SQL.
- a changed run is read through a long-lived `store.RunReader` (read-only; reopened when a run
  that had no -wal file, read as immutable, starts writing); each page watching it gets the
  rows written after its own high-water marks (rowids), at most `MAX_LIVE_ROWS` a table, as
  JSON, and the re-rendered panels: "now" and "budgets" at most every `PANEL_SECONDS`, the
  report's panels at most every `REPORT_SECONDS` and only when what they show was written;
  both at most once in `SHARE` times the last render's duration, so that on a long run the
  watcher takes at most a fifth of a core (its rows still go out at once).
- a page's events are strings in its `Subscriber.queue` (server-sent-event frames); a page
  that stops reading loses its oldest frames, never blocks the others or the run.
- nothing here writes to a run; a run that cannot be read is reported, not raised.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selftaught.dashboard.pages import live_panels, quick_panels
from selftaught.dashboard.runs import RunIndex, run_row
from selftaught.run_lock import holder
from selftaught.store import SCHEMA_VERSION, RunReader, StoreError

STREAMED = ("evaluations", "lm_calls", "invocations")  # tables whose rows the page appends
BACKFILL = 50  # rows of each stream a page gets when it connects
PANEL_SECONDS = 0.5  # the cheap panels ("now", "budgets") at most this often
REPORT_SECONDS = 0.5  # the report's panels (tens of ms to render) at most this often
# ... and at most one render in SHARE times what the last one took: on a run with tens of
# thousands of rows a render takes a second, and the watcher stays under a fifth of a core.
SHARE = 5.0
QUEUE_FRAMES = 1000
# Tables whose new rows change the report's sections (the curve, the lineage, safety); an
# improver invocation that ends is followed by its meta-utility record, which re-renders them.
REPORT_TABLES = ("iterations", "meta_utilities", "events", "meta")


def frame(event: str, payload: Any) -> str:
    """One server-sent event; JSON never holds a raw newline, so it is one data line."""
    return f"event: {event}\ndata: {json.dumps(payload, default=str)}\n\n"


@dataclass(eq=False)
class Subscriber:
    run: str | None  # a run's key, or None: the runs list
    queue: queue.Queue[str] = field(default_factory=lambda: queue.Queue(QUEUE_FRAMES))
    marks: dict[str, int] | None = None  # rowids already sent; None: nothing sent yet
    problem: str | None = None  # the last problem sent

    def put(self, text: str) -> None:
        while True:
            try:
                self.queue.put_nowait(text)
                return
            except queue.Full:  # a page that stopped reading loses its oldest frames
                try:
                    self.queue.get_nowait()
                except queue.Empty:
                    pass


def signature(run_dir: Path) -> tuple[int, ...]:
    """Sizes and mtimes of run.db and its WAL: any commit changes them."""
    out: list[int] = []
    for name in ("run.db", "run.db-wal"):
        try:
            st = (run_dir / name).stat()
            out += [st.st_size, st.st_mtime_ns]
        except OSError:
            out += [-1, -1]
    return tuple(out)


class RunWatch:
    """One run being watched: its long-lived reader and when its panels were last sent."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.seen: tuple[int, ...] = ()
        self.broken: tuple[int, ...] | None = None  # the files as they were when unreadable
        self.reason = ""
        self.marks: dict[str, int] = {}
        self.panels_at = 0.0
        self.report_at = 0.0
        self.panel_gap, self.report_gap = PANEL_SECONDS, REPORT_SECONDS
        self.panels_due = True
        self.report_due = True
        self.panels: dict[str, str] = {}
        self._reader: RunReader | None = None
        self._live = False

    def changed(self, seen: tuple[int, ...]) -> None:
        """The run's files changed: a reader of a migrated in-memory copy (an older schema)
        does not see new writes, so it is reopened."""
        self.seen = seen
        version = self._reader.version if self._reader is not None else None
        if version is not None and version < SCHEMA_VERSION:
            self.close()

    def reader(self) -> RunReader:
        wal = Path(f"{self.run_dir / 'run.db'}-wal").exists()
        if self._reader is not None and wal and not self._live:
            self.close()  # it was read as immutable; a writer has started since
        if self._reader is None:
            self._reader = RunReader.open(self.run_dir)
            self._live = wal
        return self._reader

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


class Hub:
    """The one watching thread; pages subscribe to a run or to the runs list."""

    def __init__(self, index: RunIndex, interval: float = 0.1):
        self.index = index
        self.interval = interval
        self._subscribers: set[Subscriber] = set()
        self._watches: dict[str, RunWatch] = {}
        self._rows: dict[str, dict[str, Any]] = {}
        self._list_seen: dict[str, tuple] = {}
        self._row_due: dict[str, float] = {}  # a long run's row is re-read less often
        self._list_at = 0.0
        self._lock = threading.Lock()
        self.cpu_seconds = 0.0  # the watcher thread's CPU time so far (benchmarks/dashboard.py)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dashboard-hub", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for watch in self._watches.values():
            watch.close()

    def subscribe(self, run: str | None) -> Subscriber:
        subscriber = Subscriber(run)
        with self._lock:
            self._subscribers.add(subscriber)
            self._list_seen.clear()  # a new runs page gets the whole list at once
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                subscribers = list(self._subscribers)
            started = time.thread_time()
            try:
                self._poll(subscribers)
            except Exception as exc:  # noqa: BLE001 - the watcher must outlive one bad read
                self._problem(subscribers, f"{type(exc).__name__}: {exc}")
            finally:
                self.cpu_seconds += time.thread_time() - started

    def _poll(self, subscribers: list[Subscriber]) -> None:
        lists = [s for s in subscribers if s.run is None]
        if lists:
            self._poll_list(lists)
        by_run: dict[str, list[Subscriber]] = {}
        for s in subscribers:
            if s.run is not None:
                by_run.setdefault(s.run, []).append(s)
        for key in list(self._watches):
            if key not in by_run:
                self._watches.pop(key).close()
        for key, watchers in by_run.items():
            self._poll_run(key, watchers)

    # ------------------------------------------------------------------------ runs list
    def _poll_list(self, pages: list[Subscriber]) -> None:
        now = time.monotonic()
        fresh = [s for s in pages if s.marks is None]
        if now - self._list_at < 0.5 and not fresh:
            return
        self._list_at = now
        changed = False
        runs = self.index.scan()
        for key, run_dir in runs.items():
            seen = (signature(run_dir), holder(run_dir) is not None)
            due = self._row_due.get(key, 0.0) <= now
            if key not in self._rows or (self._list_seen.get(key) != seen and due):
                self._list_seen[key] = seen
                started = time.monotonic()
                self._rows[key] = run_row(key, run_dir)
                self._row_due[key] = now + SHARE * (time.monotonic() - started)
                changed = True
        if changed or fresh:
            rows = sorted((self._rows[k] for k in runs), key=lambda r: -r["last_activity"])
            text = frame("runs", rows)
            for s in pages if changed else fresh:
                s.put(text)
                s.marks = {}

    # -------------------------------------------------------------------------- one run
    def _poll_run(self, key: str, pages: list[Subscriber]) -> None:
        watch = self._watches.get(key)
        if watch is None:  # the directory is looked up once, not on every poll
            run_dir = self.index.path(key)
            if run_dir is None:
                return
            watch = self._watches.setdefault(key, RunWatch(run_dir))
        seen = signature(watch.run_dir)
        fresh = [s for s in pages if s.marks is None]
        if watch.broken == seen:  # unreadable, and unchanged since: not read again
            self._problem(pages, watch.reason)
            return
        try:
            if seen != watch.seen or fresh:
                watch.changed(seen)
                self._send_rows(watch, pages)
            self._send_panels(watch, pages, fresh)
        except StoreError as exc:  # a damaged run: said once to each page, retried on a write
            watch.close()
            watch.seen = watch.broken = seen
            watch.reason = str(exc)
            self._problem(pages, watch.reason)

    @staticmethod
    def _problem(pages: list[Subscriber], reason: str) -> None:
        """Tell each page why the run cannot be read, once."""
        for s in pages:
            if s.problem != reason:
                s.problem = reason
                s.put(frame("problem", {"error": reason}))

    def _send_rows(self, watch: RunWatch, pages: list[Subscriber]) -> None:
        reader = watch.reader()
        marks = reader.marks()
        if any(marks[t] != watch.marks.get(t) for t in REPORT_TABLES):
            watch.report_due = True
        if marks != watch.marks:
            watch.panels_due = True
        watch.marks = marks
        for s in pages:
            if s.marks is None:  # a page that just connected: the latest rows of each stream
                s.marks = {t: max(0, marks[t] - BACKFILL) for t in STREAMED}
            rows = {t: reader.rows_after(t, s.marks[t]) for t in STREAMED
                    if marks[t] > s.marks[t]}  # fmt: skip
            if rows:
                s.put(frame("rows", rows))
            s.marks = dict(marks)

    def _send_panels(self, watch: RunWatch, pages: list[Subscriber], fresh: list) -> None:
        now = time.monotonic()
        report = watch.report_due and now - watch.report_at >= watch.report_gap
        if report or not watch.panels:
            panels = live_panels(watch.run_dir)
            took = time.monotonic() - now
            watch.report_gap = max(REPORT_SECONDS, SHARE * took)
            watch.report_at, watch.report_due = now, False
        elif watch.panels_due and now - watch.panels_at >= watch.panel_gap:
            reader = watch.reader()  # the report's sections did not change: the cheap panels
            panels = quick_panels(reader, reader.meta())
            watch.panel_gap = max(PANEL_SECONDS, SHARE * (time.monotonic() - now))
        else:
            panels = {}
        if panels:
            changed = {k: v for k, v in panels.items() if watch.panels.get(k) != v}
            watch.panels.update(panels)
            watch.panels_at, watch.panels_due = now, False
            if changed:
                text = frame("panels", changed)
                for s in pages:
                    if s not in fresh:
                        s.put(text)
        if fresh and watch.panels:
            text = frame("panels", watch.panels)
            for s in fresh:
                s.put(text)
