"""What every `selftaught` command shares: the app, the consoles, one-line errors, the
options of commands that declare their other parameters themselves, and how long work is
driven (live progress, caps, Ctrl-C). The options and the configuration come from the launch
layer (`launch/`), which the Python API shares."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

import typer
from rich.markup import escape

from selftaught.cli.help import HelpTyper
from selftaught.cli.options import parameter
from selftaught.inert import visible
from selftaught.launch.console import InertConsole
from selftaught.launch.errors import USER_ERRORS
from selftaught.launch.options import AS_JSON, EXECUTOR, RAY_ADDRESS, SHOW_EVALUATOR
from selftaught.launch.progress import live_progress
from selftaught.lm import RunCapReached
from selftaught.session import RunSession

T = TypeVar("T")

app = HelpTyper(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="STOP, the Self-Taught Optimizer: a language model improves code, then the improver.",
)


def shown(text: object) -> str:
    """Text quoted in a line printed with markup=True: control characters and markup inert."""
    return escape(visible(text))


stdout = InertConsole()
stderr = InertConsole(stderr=True)


def _print_version(given: bool) -> None:
    if given:
        # The installed distribution's version (selftaught.__version__, which setuptools reads):
        # importing it from the package would put the command line in a circle with the API.
        from importlib.metadata import version

        print(f"selftaught {version('selftaught')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="The version."),
    ] = False,
) -> None:
    """STOP, the Self-Taught Optimizer: a language model improves code, then the improver."""


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Bad input becomes one line and exit code 2; what was recorded stays recorded."""
    try:
        yield
    except USER_ERRORS as exc:
        stderr.print(
            f"[bold red]error:[/] {shown(exc)}", markup=True, highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from None


# The options of commands that declare their other parameters themselves.
ShowEvaluator = parameter(SHOW_EVALUATOR)
ExecutorOption = parameter(EXECUTOR)
RayAddress = parameter(RAY_ADDRESS)
JsonOption = parameter(AS_JSON)


def drive(session: RunSession, work: Callable[[], T], again: str) -> T:
    """`work()` under the live display. Bad input is one line (exit 2); a run-wide cap (exit 3)
    or Ctrl-C (exit 130) stops it with everything recorded and says how to continue (`again`);
    the session is closed whatever happens."""
    try:
        with user_errors(), live_progress(session, stderr):
            try:
                return work()
            except RunCapReached as exc:
                stderr.print(
                    f"[bold]stopped:[/] {shown(exc)}", markup=True, highlight=False, soft_wrap=True
                )
                stderr.print(f"continue under a larger cap (--max-... N) with: {again}")
                raise typer.Exit(3) from None
    except KeyboardInterrupt:
        stderr.print(f"interrupted; continue with: {again}")
        raise typer.Exit(130) from None
    finally:
        session.close()


def again_command(session: RunSession) -> str:
    """How a transfer or comparison continues: the same command on the same directory."""
    return f"the same command with --run-dir {session.run_dir}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def pct_range(interval: list[float]) -> str:
    return f"[{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"
