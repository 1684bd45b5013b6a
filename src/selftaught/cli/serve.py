"""`selftaught serve`: the live dashboard over run directories (docs/dashboard.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from selftaught.cli.common import app, shown, stderr, stdout


@app.command()
def serve(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Run directories, or directories of runs (default: runs)."),
    ] = None,
    port: Annotated[int, typer.Option(help="The port; 0 picks a free one.")] = 8765,
    host: Annotated[
        str, typer.Option(help="Listen here; anything but loopback exposes your runs.")
    ] = "127.0.0.1",
) -> None:
    """A live, read-only dashboard of runs in the browser: one URL, with a token."""
    paths = paths or [Path("runs")]
    if missing := [str(p) for p in paths if not p.is_dir()]:
        stderr.print(
            f"[bold red]error:[/] no directory {shown(', '.join(missing))}; give run "
            "directories or directories of runs (default: runs)",
            markup=True, highlight=False, soft_wrap=True,
        )  # fmt: skip
        raise typer.Exit(2)
    dashboard = start_or_exit(paths, host, port)
    stdout.print(f"dashboard: {dashboard.url}", highlight=False, soft_wrap=True)
    try:
        dashboard.wait()
    finally:
        dashboard.close()


def start_or_exit(paths: list[Path], host: str, port: int):  # noqa: ANN201 - lazy import
    """The started dashboard, or one line and exit 2 (a busy port, an unknown address)."""
    from selftaught.dashboard import LOOPBACK, DashboardError, start_dashboard

    if host not in LOOPBACK:
        stderr.print(
            f"[bold yellow]warning:[/] listening on {shown(host)}: anyone who can reach it and "
            "has the URL's token can read these runs",
            markup=True, highlight=False, soft_wrap=True,
        )  # fmt: skip
    try:
        return start_dashboard(paths, host=host, port=port)
    except DashboardError as exc:
        stderr.print(
            f"[bold red]error:[/] {shown(exc)}", markup=True, highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from None
