"""The live display of a launch on stderr: iteration, phase, LM calls, evaluations and the
best meta-utility so far, redrawn twice a second while the work runs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.live import Live
from rich.table import Table

from selftaught.launch.console import InertConsole
from selftaught.session import RunSession


@contextlib.contextmanager
def live_progress(session: RunSession, console: Console | None = None) -> Iterator[None]:
    """The display on `console` (default: an inert one on stderr) while the block runs."""

    def render() -> Table:
        status, usage = session.status, session.language_model.usage
        table = Table.grid(padding=(0, 2))
        stop = session.config.iterations > 0  # transfer and compare have no iterations
        if stop:
            table.add_row("iteration", f"{status.iteration} / {session.config.iterations}")
        table.add_row("doing", status.phase)
        table.add_row(
            "LM calls", f"{usage.calls} ({usage.uncached_calls} paid, {usage.samples} samples)"
        )
        table.add_row("evaluations", str(session.evaluations_run))
        if stop:
            best = "-" if status.best_val is None else f"{status.best_val:.3f}"
            table.add_row("best meta-utility (val)", best)
        return table

    with Live(
        console=console or InertConsole(stderr=True),
        get_renderable=render,
        refresh_per_second=2,
        transient=True,
    ):
        yield
