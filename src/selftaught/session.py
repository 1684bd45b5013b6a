"""One run's parts, opened together and closed together.

A session owns the run store, the sandbox and the language model; it builds the evaluators,
the meta-utility and the STOP loop from a `RunConfig`. `start` begins a run in a new directory;
`reopen` continues one from its own database (resume), with the configuration and the initial
improver it recorded, so that a resumed run is the run it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from selftaught import events, sizes
from selftaught.config import RunConfig, parse_config
from selftaught.executors import open_executor
from selftaught.improve import Invoker, Recorder
from selftaught.lm import ModelOptions, SpendingCaps, open_language_model
from selftaught.meta_utility import MetaUtility
from selftaught.records import UTILITY_BOUNDS, IterationRecord, SolutionScores
from selftaught.run_lock import RunLock
from selftaught.sandbox import Limits, readable_root
from selftaught.stop import Status, Stop
from selftaught.store import RunStore, StoreError
from selftaught.tasks import resolve_task, source_digest
from selftaught.utility import Evaluator, bounds_of

INSTANCE_SECRET = "instance_secret"
SOURCES = "sources"  # meta: the task digests and model identity the run last ran with


# kind -> command
COMMANDS = {"stop": "run", "transfer": "transfer", "compare": "compare", "probe": "probe"}


class RunSession:
    def __init__(
        self, run_dir: Path, config: RunConfig, store: RunStore, lock: RunLock | None = None
    ):
        self.run_dir = run_dir
        self.config = config
        self.store = store
        self.lock = lock  # the run directory's, held until `close`
        self.language_model = open_language_model(
            config.model,
            base_url=config.base_url,
            store=store,
            run_seed=config.seed,
            max_tokens=config.budgets.max_tokens,
            caps=SpendingCaps(**config.caps.model_dump()),
            cache_from=Path(config.cache_from) if config.cache_from else None,
            options=ModelOptions.from_pairs(list(config.model_options)),
        )
        with contextlib.ExitStack() as undo:  # a failure below leaves nothing running
            undo.callback(self.language_model.close)
            # Where the solutions run (docs/cluster.md): this machine's sandbox, or a cluster.
            self.sandbox = open_executor(
                config.executor, address=config.ray_address, sandbox=config.sandbox
            )
            undo.callback(self.sandbox.close)
            self.evaluators = self._evaluators(store)
            undo.pop_all()
        self.recorder = Recorder(store)
        self.invoker = Invoker(
            self.language_model.sample, config.budgets, self.sandbox, self.recorder,
            _improver_limits(config),
        )  # fmt: skip
        self.status = Status()
        self.changed: list[str] = []  # what was edited since the run last ran (allowed)

    def utility_bounds(self) -> list[float] | None:
        """[0, 1], where a utility lives, or None when a task scores on its evaluator's own
        scale: the report clips intervals and sets its charts' range by it."""
        bounds = bounds_of(self.evaluators)
        return list(bounds) if bounds else None

    def _evaluators(self, store: RunStore) -> list[Evaluator]:
        config = self.config
        secret = _instance_secret(store) if config.secret_seeds else None
        return [
            Evaluator(
                resolve_task(spec, show_evaluator=config.show_evaluator, sandbox=self.sandbox),
                self.sandbox,
                store,
                memory_mb=config.limits.solution_memory_mb,
                secret=secret,
            )
            for spec in config.tasks
        ]

    @classmethod
    def start(
        cls, run_dir: Path, config: RunConfig, initial_improver: str, kind: str = "stop"
    ) -> RunSession:
        """A new run directory for a run of `kind` (stop, transfer, compare)."""
        fresh = not run_dir.exists()
        lock = RunLock.acquire(_made(run_dir), f"selftaught {COMMANDS.get(kind, kind)}")
        store = None
        try:
            if (run_dir / "run.db").exists():
                raise StoreError(
                    f"{run_dir} already holds a run; resume it with `selftaught resume {run_dir}`"
                    " or pick another --run-dir"
                )
            store = RunStore.open_run(run_dir, create=True)
            session = cls(run_dir, config, store, lock)
        except BaseException:
            if store is not None:
                store.close()
            lock.release()
            if fresh:  # nothing was recorded yet: leave no half-made run behind
                shutil.rmtree(run_dir, ignore_errors=True)
            raise
        store.set_meta("kind", kind)
        store.set_meta("config", config.model_dump(mode="json"))
        store.set_meta("size_caps", sizes.as_dict())  # what this run cut (docs/reliability.md)
        store.set_meta(UTILITY_BOUNDS, session.utility_bounds())
        store.set_meta("initial_improver", store.put_program(initial_improver, "improver"))
        session.language_model.save_identity()
        store.set_meta(SOURCES, session.sources())
        return session

    @classmethod
    def reopen(
        cls,
        run_dir: Path,
        kind: str = "stop",
        caps: dict | None = None,
        where: dict[str, Any] | None = None,
        allow_changed: bool = False,
    ) -> RunSession:
        """An existing run of `kind`, with the configuration it recorded; `caps` replaces the
        run-wide caps given (a run stopped by a cap resumes under a larger one), `where` the
        executor settings given (`config.WHERE`: a run may resume on another cluster). A STOP
        run whose task or model source was edited since it started is refused (StoreError)
        unless `allow_changed`; then `changed` says what changed."""
        _broken_link(run_dir)
        if not run_dir.is_dir():
            raise StoreError(f"no run directory {run_dir}; check the path")
        _unexposed(run_dir)
        command = "selftaught resume" if kind == "stop" else f"selftaught {COMMANDS[kind]}"
        lock = RunLock.acquire(run_dir, command)
        store = None
        try:
            store = RunStore.open_run(run_dir)
            values = store.get_meta("config")
            if not isinstance(values, dict) or store.get_meta("initial_improver") is None:
                raise StoreError(
                    f"{run_dir / 'run.db'} records no run configuration; it cannot resume"
                    " (it stopped before its start was recorded: run it again afresh)"
                )
            recorded = store.get_meta("kind") or "stop"
            if recorded != kind:
                raise StoreError(f"{run_dir} holds a {recorded} run, not a {kind} run")
            if caps or where:
                values = {**values, "caps": {**values.get("caps", {}), **(caps or {})}}
                values |= where or {}
                store.set_meta("config", parse_config(values).model_dump(mode="json"))
            session = cls(run_dir, parse_config(values), store, lock)
        except BaseException:
            if store is not None:
                store.close()
            lock.release()
            raise
        if kind == "stop":
            session._accept_edits(allow_changed)
        return session

    def sources(self) -> dict[str, Any]:
        """What the run's tasks and model are made of now: a digest of each user task's source
        (`tasks.source_digest`) and the model's identity (a model file's includes its hash)."""
        specs = self.config.tasks
        digests = {s: source_digest(s, e.task) for s, e in zip(specs, self.evaluators, strict=True)}
        return {"tasks": digests, "model": self.language_model.identity}

    def _accept_edits(self, allow: bool) -> None:
        """Refuse to resume a run whose task or model was edited since it started (its cached
        evaluations and samples are of the old one), unless `allow`: then note what changed."""
        recorded, now = self.store.get_meta(SOURCES), self.sources()
        if not isinstance(recorded, dict):  # a run from before sources were recorded
            self.store.set_meta(SOURCES, now)
            return
        before = recorded.get("tasks") if isinstance(recorded.get("tasks"), dict) else {}
        self.changed = [
            f"task {spec}" for spec, digest in now["tasks"].items()
            if before.get(spec) is not None and before.get(spec) != digest
        ]  # fmt: skip
        if set(before) != set(now["tasks"]):  # the stored configuration itself was edited
            self.changed.append(f"task list (was {', '.join(before)})")
        if recorded.get("model") not in (None, now["model"]):
            self.changed.append(f"model {self.config.model}")
        if self.changed and not allow:
            self.close()
            raise StoreError(
                f"{self.run_dir}: the {' and the '.join(self.changed)} changed since the run "
                "started; restore it, or resume with the edited version (--allow-changed)"
            )
        self.store.set_meta(SOURCES, now)

    @classmethod
    def start_or_reopen(
        cls, run_dir: Path, config: RunConfig, initial_improver: str, kind: str
    ) -> RunSession:
        """Continue `run_dir` if it holds the same run (a resume), else start it."""
        if not (run_dir / "run.db").exists():
            return cls.start(run_dir, config, initial_improver, kind)
        session = cls.reopen(run_dir, kind, where=config.where())
        same = session.store.get_program(session.store.get_meta("initial_improver"))
        if not session.config.same_run(config) or same != initial_improver:
            session.close()
            raise StoreError(f"{run_dir} holds a different {kind} run; pick another --run-dir")
        return session

    @property
    def concurrency(self) -> int:
        """Improver invocations at once: the configured number, else as many requests as the
        backend takes at once (1 for an in-process model, which serves one at a time)."""
        return self.config.concurrency or max(1, self.language_model.backend.max_concurrency)

    def meta_utility(self, evaluators: list[Evaluator] | None = None) -> MetaUtility:
        """The run's meta-utility over `evaluators` (default: every task of the run)."""
        return MetaUtility(
            self.evaluators if evaluators is None else evaluators,
            self.invoker,
            run_seed=self.config.seed,
            concurrency=self.concurrency,
        )

    def initial_improver(self) -> str:
        source = self.store.get_program(self.store.get_meta("initial_improver"))
        assert source is not None, "the run's initial improver is missing from its store"
        return source

    def run(self) -> list[IterationRecord]:
        stop = Stop(self.config, self.store, self.meta_utility(), status=self.status)
        records = stop.run(self.initial_improver())
        self.solution_scores()  # the seed and best solutions' scores, for every face of a run
        self.store.set_meta("finished", True)
        return records

    def solution_scores(self) -> list[SolutionScores]:
        """Per task, the seed solution's val and test scores beside the best returned
        solution's (`RunQueries.solution_scores`). What is missing is evaluated here, in the
        host, through the task's evaluator, whose store cache makes a second call free."""
        for evaluator in self.evaluators:
            for split in ("val", "test"):
                evaluator.evaluate(evaluator.task.seed_solution, split)
            best = self.store.best_returned_solution(evaluator.task.name)
            if best is None:
                continue
            tested = evaluator.evaluate(self.store.get_program(best), "test")
            for line in tested.audit:  # a fresh run of model-written code: say what it did
                about = {"solution": best, "task": evaluator.task.name, "split": "test"}
                self.recorder.event(events.AUDIT, None, {**about, "event": line})
        return self.store.solution_scores()

    def summary(self, records: list[IterationRecord]) -> dict[str, Any]:
        solutions = self.store.solution_scores()  # evaluated by `run`
        usage = self.store.lm_usage()
        return {
            "run_dir": str(self.run_dir),
            "iterations": [record.to_dict() for record in records],
            "solutions": {s.task: s.to_dict() for s in solutions},
            "lm_calls": usage["uncached_calls"],
            "evaluations": self.store.count("evaluations"),
            "executor": self.sandbox.describe(),  # where the executions ran (docs/cluster.md)
        }

    @property
    def evaluations_run(self) -> int:
        return sum(e.count for e in self.evaluators)

    def close(self) -> None:
        try:
            self.language_model.close()
            self.sandbox.close()
            self.store.close()
        finally:
            if self.lock is not None:
                self.lock.release()


def _broken_link(run_dir: Path) -> None:
    """StoreError if `run_dir` is a symbolic link that leads nowhere: a loop, or a target
    that does not exist (mkdir would say only "File exists")."""
    if not os.path.lexists(run_dir) or os.path.exists(run_dir):
        return
    try:
        os.stat(run_dir)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(f"{run_dir} is a symbolic link loop; pick another path") from None
        target = os.readlink(run_dir) if run_dir.is_symlink() else "?"
        raise StoreError(
            f"{run_dir} is a symbolic link to {target}, which does not exist; create that "
            "directory or pick another path"
        ) from None


def _made(run_dir: Path) -> Path:
    """`run_dir`, created if missing; StoreError (one line) if it cannot be."""
    _broken_link(run_dir)
    _unexposed(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise StoreError(f"--run-dir {run_dir} is a file, not a directory; pick another path")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create {run_dir}: {exc.strerror}; pick another --run-dir"
        ) from None
    return run_dir


def _unexposed(run_dir: Path) -> None:
    """Refuse a run directory, or a working directory, that sandboxed children may read: the
    run's database holds its secret (--secret-seeds), a working directory often a .env."""
    root = readable_root(str(run_dir))
    if root is not None:
        raise StoreError(
            f"--run-dir {run_dir} lies under {root}, which sandboxed children may read "
            "(its run.db would be theirs to read); pick a run directory elsewhere"
        )
    root = readable_root(os.getcwd())
    if root is not None:
        raise StoreError(
            f"the working directory {os.getcwd()} lies under {root}, which sandboxed children "
            "may read (a .env there would be theirs to read); run selftaught from elsewhere"
        )


def _improver_limits(config: RunConfig) -> Limits:
    return Limits(
        wall_seconds=config.limits.improver_seconds,
        cpu_seconds=config.limits.improver_seconds,
        memory_mb=config.limits.improver_memory_mb,
    )


def _instance_secret(store: RunStore) -> str:
    """The run's instance secret, made at its start and read back on resume. It lives only in
    the run store, which no child can read (Landlock), and never leaves the host."""
    secret = store.get_meta(INSTANCE_SECRET)
    if not isinstance(secret, str):
        secret = secrets.token_hex(16)
        store.set_meta(INSTANCE_SECRET, secret)
    return secret
