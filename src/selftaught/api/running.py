"""`selftaught.run`, `selftaught.resume` and `Run`: a STOP run, recorded in its directory
exactly as `selftaught run` records it (same store, same resume, same report)."""

from __future__ import annotations

import contextlib
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from selftaught.api.arguments import checked
from selftaught.api.errors import CapReached, SelftaughtError, user_errors
from selftaught.api.objects import model_spec, task_spec
from selftaught.api.records import Iteration, Safety, SolutionScores

T = TypeVar("T")
PathLike = str | Path


class Run:
    """A run directory, read from its store: `Run("runs/x")` opens one that exists."""

    @checked
    def __init__(self, run_dir: PathLike):
        self.run_dir = Path(run_dir)
        if not (self.run_dir / "run.db").is_file():
            raise SelftaughtError(f"no run database in {self.run_dir}; check the path")

    def __repr__(self) -> str:
        return f"Run({str(self.run_dir)!r})"

    def __fspath__(self) -> str:  # a Run goes wherever a run directory does
        return str(self.run_dir)

    def _read(self, read: Callable[[Any], T]) -> T:
        from selftaught.store import RunReader

        with user_errors():
            store = RunReader.open(self.run_dir)  # reading a run never writes to it
        try:
            return read(store)
        finally:
            store.close()

    @property
    def iterations(self) -> list[Iteration]:
        """The iteration records, t = 0 (the initial improver) first."""
        return self._read(lambda s: s.iterations())

    @property
    def config(self) -> dict[str, Any]:
        """The run's recorded configuration (what `selftaught resume` runs with)."""
        return self._read(lambda s: s.get_meta("config")) or {}

    @property
    def solutions(self) -> dict[str, SolutionScores]:
        """Per task, the seed solution's val and test scores beside the best solution the
        improvers returned (by val), as `selftaught run --json` gives them under "solutions"."""
        return {s.task: s for s in self._read(lambda s: s.solution_scores())}

    @checked
    def improver(self, t: int | None = None) -> str:
        """The source of the improver in force after iteration t (default: the last)."""
        records = self.iterations
        if not records:
            raise SelftaughtError(f"{self.run_dir} records no iteration yet; resume it first")
        chosen = records[-1] if t is None else next((r for r in records if r.t == t), None)
        if chosen is None:
            last = records[-1].t
            raise SelftaughtError(f"{self.run_dir} has no iteration t={t}; it has 0..{last}")
        source = self._read(lambda s: s.get_program(chosen.improver_sha256))
        assert source is not None, "a recorded improver is missing from the store"
        return source

    @checked
    def report(self, path: PathLike | None = None) -> Path:
        """Write the HTML report (default RUN_DIR/report.html); returns its path."""
        from selftaught.report import write_report

        with user_errors():
            return write_report(self.run_dir, Path(path) if path is not None else None)

    def safety(self) -> Safety:
        """The circumvention report of `selftaught safety RUN_DIR`."""
        from selftaught import safety

        return Safety.from_report(self._read(safety.analyse))


@checked
def run(
    task: Any = None,
    model: Any = None,
    *,
    iterations: int | None = None,
    preset: str | None = None,
    seed: int | None = None,
    run_dir: PathLike | None = None,
    config: PathLike | None = None,
    gate: str | None = None,
    improver: PathLike | None = None,
    repetitions: int | None = None,
    responses_per_call: int | None = None,
    max_tokens: int | None = None,
    base_url: str | None = None,
    sandbox: str | None = None,
    concurrency: int | None = None,
    executor: str | None = None,
    ray_address: str | None = None,
    sandbox_flag: bool = False,
    sandbox_warning: bool = False,
    secret_seeds: bool = False,
    max_lm_calls: int | None = None,
    max_spent_tokens: int | None = None,
    max_dollars: float | None = None,
    max_seconds: float | None = None,
    cache_from: PathLike | None = None,
    model_option: list[str] | dict[str, Any] | None = None,
    progress: bool = False,
    serve: bool = False,
) -> Run:
    """Run STOP as `selftaught run` does, with the same options (None: not given, so the
    preset's, the config file's or the command's default); `serve`: the live dashboard
    beside it while it runs (its URL printed on stderr, as `selftaught run --serve`);
    `task`: a spec, a path, a `selftaught.Task` object or class, or a list of them;
    `model`: a spec or a function fn(system, user, n, temperature) -> list of n strings;
    `config`: a TOML file;
    `executor`: "local" or "ray" (with `ray_address`, else $RAY_ADDRESS; docs/cluster.md);
    `progress`: the command's live display on stderr."""
    from selftaught.cli.common import caps_given, run_config, where_given
    from selftaught.cli.run import _initial_improver
    from selftaught.session import RunSession

    _refuse_while_importing()
    with user_errors():
        settings = run_config(
            Path(config) if config is not None else None,
            preset,
            task=task_spec(task),
            iterations=iterations,
            model=model_spec(model),
            base_url=base_url,
            seed=seed,
            gate=gate,
            improver=path_text(improver),
            repetitions=repetitions,
            responses_per_call=responses_per_call,
            max_tokens=max_tokens,
            sandbox=sandbox,
            concurrency=concurrency,
            sandbox_flag=sandbox_flag or None,
            sandbox_warning=sandbox_warning or None,
            secret_seeds=secret_seeds or None,
            caps=caps_given(max_lm_calls, max_spent_tokens, max_dollars, max_seconds),
            cache_from=str(Path(cache_from).resolve()) if cache_from is not None else None,
            model_options=model_pairs(model_option),
            **where_given(executor, ray_address),
        )
        source = _initial_improver(settings)
        label = "+".join(Path(spec).stem for spec in settings.tasks)
        where = Path(run_dir) if run_dir is not None else default_run_dir(label)
    dashboard = _dashboard(where) if serve else None
    try:
        with user_errors():
            session = RunSession.start(where, settings, source)
        return _finish(session, progress)
    finally:
        if dashboard is not None:
            dashboard.close()


def _dashboard(run_dir: Path) -> Any:
    """The dashboard over `run_dir` on a free loopback port, its URL printed on stderr."""
    from selftaught.dashboard import DashboardError, start_dashboard

    try:
        dashboard = start_dashboard([run_dir])
    except DashboardError as exc:
        raise SelftaughtError(str(exc)) from None
    print(f"dashboard: {dashboard.url}", file=sys.stderr, flush=True)
    return dashboard


@checked
def resume(
    run_dir: PathLike,
    *,
    max_lm_calls: int | None = None,
    max_spent_tokens: int | None = None,
    max_dollars: float | None = None,
    max_seconds: float | None = None,
    executor: str | None = None,
    ray_address: str | None = None,
    progress: bool = False,
    allow_changed: bool = False,
) -> Run:
    """Continue a run that was killed or stopped by a cap (give a larger one), as
    `selftaught resume` does: finished work is read back, nothing is paid for twice;
    `executor`/`ray_address`: run the rest elsewhere (default: where it ran);
    `allow_changed`: continue although the task or model source was edited since the run
    started (a warning says what changed; without it, SelftaughtError)."""
    from selftaught.cli.common import caps_given, where_given
    from selftaught.session import RunSession

    _refuse_while_importing()
    with user_errors():
        caps = caps_given(max_lm_calls, max_spent_tokens, max_dollars, max_seconds)
        where = where_given(executor, ray_address)
        session = RunSession.reopen(
            Path(run_dir), caps=caps, where=where, allow_changed=allow_changed
        )
    for what in session.changed:
        warnings.warn(f"the {what} changed since the run last ran", stacklevel=2)
    return _finish(session, progress)


def _finish(session: Any, progress: bool) -> Run:
    again = f"selftaught.resume({str(session.run_dir)!r}, max_...=N)"
    drive(session, session.run, again, progress)
    return Run(session.run_dir)


def drive(session: Any, work: Callable[[], T], again: str, progress: bool = False) -> T:
    """`work()` (under the command's live display if `progress`), then close the session
    whatever happens; bad input is SelftaughtError, a run-wide cap CapReached (with how to
    continue)."""
    from selftaught.cli.common import _live_progress
    from selftaught.lm import RunCapReached

    shown = _live_progress(session) if progress else contextlib.nullcontext()
    try:
        with user_errors(), shown:
            try:
                return work()
            except RunCapReached as exc:  # a user error too, but one that says how to go on
                raise CapReached(f"{exc}; continue under a larger cap with {again}") from None
    finally:
        session.close()


def default_run_dir(label: str) -> Path:
    """Where `selftaught run` records a run when no directory is given."""
    return Path("runs") / time.strftime(f"%Y%m%d-%H%M%S-{label}")


def model_pairs(options: list[str] | dict[str, Any] | None) -> tuple[str, ...]:
    """`--model-option KEY=VALUE` pairs; a dict's values are written as JSON."""
    import json

    if options is None:
        return ()
    if isinstance(options, dict):
        return tuple(
            f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in options.items()
        )
    return tuple(options)


def path_text(value: Any) -> str | None:
    """A name or path as text; a `Run` or Path gives its path."""
    import os

    return None if value is None else os.fspath(value) if isinstance(value, os.PathLike) else value


def _refuse_while_importing() -> None:
    """A run started while selftaught imports a task or model file would start a second run
    from inside the first (the file's top level calls selftaught.run)."""
    from selftaught.user_code import importing

    if importing() is not None:  # the loader's error names the file
        raise SelftaughtError(
            'selftaught.run was called at import; put it under `if __name__ == "__main__":`'
        )
