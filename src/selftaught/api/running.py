"""`selftaught.run`, `selftaught.resume` and `Run`: a STOP run, recorded in its directory
exactly as `selftaught run` records it (same store, same resume, same report)."""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from selftaught.api.arguments import checked
from selftaught.api.errors import CapReached, SelftaughtError, user_errors
from selftaught.api.keywords import command_values, keywords
from selftaught.api.records import Iteration, Safety, SolutionScores
from selftaught.launch.options import Given, PathLike

T = TypeVar("T")


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
@keywords("run")
def run(given: Given) -> Run:
    """Run STOP as `selftaught run` does, with the same options (None: not given, so the
    preset's, the config file's or the command's default); `serve`: the live dashboard
    beside it while it runs (its URL printed on stderr, as `selftaught run --serve`);
    `task`: a spec, a path, a `selftaught.Task` object or class, or a list of them;
    `model`: a spec or a function fn(system, user, n, temperature) -> list of n strings;
    `config`: a TOML file;
    `executor`: "local" or "ray" (with `ray_address`, else $RAY_ADDRESS; docs/cluster.md);
    `progress`: the command's live display on stderr."""
    from selftaught.launch.sessions import stop_launch

    _refuse_while_importing()
    values = command_values("run", given)
    with user_errors():
        launch = stop_launch(values)
    dashboard = _dashboard(launch.run_dir, values.serve_port) if values.serve else None
    try:
        with user_errors():
            session = launch.start()
        return _finish(session, given.progress)
    finally:
        if dashboard is not None:
            dashboard.close()


def _dashboard(run_dir: Path, port: int) -> Any:
    """The dashboard over `run_dir` on a loopback port (0: a free one), its URL printed on
    stderr."""
    from selftaught.dashboard import DashboardError, start_dashboard

    try:
        dashboard = start_dashboard([run_dir], port=port)
    except DashboardError as exc:
        raise SelftaughtError(str(exc)) from None
    print(f"dashboard: {dashboard.url}", file=sys.stderr, flush=True)
    return dashboard


@checked
@keywords("resume")
def resume(given: Given) -> Run:
    """Continue a run that was killed or stopped by a cap (give a larger one), as
    `selftaught resume` does: finished work is read back, nothing is paid for twice;
    `executor`/`ray_address`: run the rest elsewhere (default: where it ran);
    `allow_changed`: continue although the task or model source was edited since the run
    started (a warning says what changed; without it, SelftaughtError)."""
    from selftaught.launch.settings import caps_given, where_given
    from selftaught.session import RunSession

    _refuse_while_importing()
    values = command_values("resume", given)
    with user_errors():
        caps = caps_given(values)
        where = where_given(values.executor, values.ray_address)
        session = RunSession.reopen(
            values.run_dir, caps=caps, where=where, allow_changed=values.allow_changed
        )
    for what in session.changed:
        warnings.warn(  # stacklevel 4: the caller, past the two wrappers
            f"the {what} changed since the run last ran", stacklevel=4
        )
    return _finish(session, given.progress)


def _finish(session: Any, progress: bool) -> Run:
    again = f"selftaught.resume({str(session.run_dir)!r}, max_...=N)"
    drive(session, session.run, again, progress)
    return Run(session.run_dir)


def drive(session: Any, work: Callable[[], T], again: str, progress: bool = False) -> T:
    """`work()` (under the command's live display if `progress`), then close the session
    whatever happens; bad input is SelftaughtError, a run-wide cap CapReached (with how to
    continue)."""
    from selftaught.launch.progress import live_progress
    from selftaught.lm import RunCapReached

    shown = live_progress(session) if progress else contextlib.nullcontext()
    try:
        with user_errors(), shown:
            try:
                return work()
            except RunCapReached as exc:  # a user error too, but one that says how to go on
                raise CapReached(f"{exc}; continue under a larger cap with {again}") from None
    finally:
        session.close()


def _refuse_while_importing() -> None:
    """A run started while selftaught imports a task or model file would start a second run
    from inside the first (the file's top level calls selftaught.run)."""
    from selftaught.user_code import importing

    if importing() is not None:  # the loader's error names the file
        raise SelftaughtError(
            'selftaught.run was called at import; put it under `if __name__ == "__main__":`'
        )
