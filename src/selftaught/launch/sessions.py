"""Where a launch records and what it starts from: the run directory, the initial improver,
the session of a transfer or comparison, and what the live display says it is doing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from selftaught import improvers, safety
from selftaught.config import RunConfig
from selftaught.launch.options import Given
from selftaught.launch.settings import run_settings
from selftaught.session import RunSession


@dataclass(frozen=True)
class StopLaunch:
    """A STOP run about to start: its configuration, initial improver and directory (known
    before it starts, so that a dashboard can watch it from its first row)."""

    config: RunConfig
    initial_improver: str
    run_dir: Path

    def start(self) -> RunSession:
        return RunSession.start(self.run_dir, self.config, self.initial_improver)


def stop_launch(given: Given) -> StopLaunch:
    """What `selftaught run` (or `selftaught.run`) was `given`, ready to start."""
    config = run_settings(given)
    return StopLaunch(config, initial_improver(config), given.run_dir or default_run_dir(config))


def default_run_dir(config: RunConfig, kind: str | None = None) -> Path:
    """runs/DATE-TIME[-KIND]-TASKS: where a run is recorded when no directory is given."""
    label = "+".join(Path(spec).stem for spec in config.tasks)
    if kind is not None:
        label = f"{kind}-{label}"
    return Path("runs") / time.strftime(f"%Y%m%d-%H%M%S-{label}")


def initial_improver(config: RunConfig) -> str:
    """The configured improver; with --sandbox-flag, "seed" is the paper's sandbox variant."""
    if config.sandbox_flag and config.improver == "seed":
        return safety.sandbox_flag_seed()
    return improvers.load_improver(config.improver)


def side_session(kind: str, run_dir: Path | None, source: str, config: RunConfig) -> RunSession:
    """A transfer, comparison or probe: recorded like a STOP run, continued if re-run in
    place."""
    run_dir = run_dir or default_run_dir(config, kind)
    return RunSession.start_or_reopen(run_dir, config, source, kind)


def show_phase(session: RunSession) -> Callable[[str], None]:
    """What the live display says the session is doing."""

    def show(text: str) -> None:
        session.status.phase = text

    return show
