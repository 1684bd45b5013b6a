"""What every `selftaught` command shares: the app, the consoles, one-line errors, the
options several commands take, how a configuration is assembled and how long work is driven
(live progress, caps, Ctrl-C)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from selftaught.cli.help import HelpTyper
from selftaught.config import ConfigError, RunConfig, absolute_tasks, build_config
from selftaught.config_file import load_config_file
from selftaught.executors import ExecutorError
from selftaught.improvers import ImproverError
from selftaught.inert import visible
from selftaught.lm import LanguageModelError, RunCapReached
from selftaught.lm.spec import ModelSpecError, absolute_spec
from selftaught.session import RunSession
from selftaught.store import StoreError
from selftaught.tasks import TaskError

T = TypeVar("T")

app = HelpTyper(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="STOP, the Self-Taught Optimizer: a language model improves code, then the improver.",
)


class InertConsole(Console):
    """A console on which everything printed is inert text (docs/reliability.md, "What a person
    sees"): every string it renders (a line, a table cell, a title) has its control characters
    visibly escaped (`inert.visible`), and no markup is read unless a line of ours asks for it
    (`markup=True`, with what it quotes passed through `shown`). A task name, an error or a
    flagged source line is model-written or came from a run directory: in a table cell, rich
    markup would style it ("[green]") or raise ("[/]" with nothing to close)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(markup=False, **options)

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(visible(text, newlines=True), **options)


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


USER_ERRORS = (
    ConfigError,
    ModelSpecError,
    LanguageModelError,
    StoreError,
    TaskError,
    ImproverError,
    ExecutorError,
)


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


MaxCalls = Annotated[int | None, typer.Option(help="Run-wide cap on paid LM calls.")]
MaxSpent = Annotated[int | None, typer.Option(help="Run-wide cap on LM tokens paid for.")]
MaxDollars = Annotated[float | None, typer.Option(help="Run-wide cap on LM cost in dollars.")]
MaxSeconds = Annotated[float | None, typer.Option(help="Run-wide cap on LM wall time.")]


ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="A TOML file of settings (see examples/run.toml); options given here override it.",
    ),
]
Concurrency = Annotated[
    int | None,
    typer.Option(
        help="Improver invocations at once (default: the backend's request concurrency, "
        "2 for the embedded model: its requests share one batch)."
    ),
]
ModelOptionPairs = Annotated[
    list[str] | None,
    typer.Option(help="KEY=VALUE for the backend (timeout, retries, extra_body, ...)."),
]
SeedOption = Annotated[
    int | None, typer.Option(help="Seed of sampling and of the children (default: 0).")
]
ShowEvaluator = Annotated[
    bool,
    typer.Option(
        "--show-evaluator",
        help="Evaluator-form tasks: show the model the evaluator's source, not only its "
        "description (the source may hold the answer).",
    ),
]
ExecutorOption = Annotated[
    str | None,
    typer.Option(
        "--executor",
        help="Where solutions run: local (default: this machine's sandbox) or ray (a Ray "
        "cluster; needs selftaught[ray]).",
    ),
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address", help="With --executor ray: the cluster's HOST:PORT (else $RAY_ADDRESS)."
    ),
]


def where_given(executor: str | None, ray_address: str | None) -> dict[str, str]:
    """The executor settings given on the command line (config.WHERE); a --ray-address alone
    means the Ray executor."""
    given = {"executor": executor or ("ray" if ray_address else None), "ray_address": ray_address}
    return {k: v for k, v in given.items() if v is not None}


SecretSeeds = Annotated[
    bool,
    typer.Option(
        "--secret-seeds",
        help="Instance seeds from a secret kept in the run store, not the paper's public seeds.",
    ),
]


def caps_given(calls, tokens, dollars, seconds) -> dict:  # noqa: ANN001 - typer's values
    given = {"calls": calls, "tokens": tokens, "dollars": dollars, "seconds": seconds}
    return {k: v for k, v in given.items() if v is not None}


def run_config(
    config_file: Path | None, preset: str | None, defaults: dict | None = None, **given: object
) -> RunConfig:
    """The run's configuration: the preset, `defaults`, the config file, then the options
    `given` on the command line (None: not given); model and task files made absolute."""
    file = load_config_file(config_file) if config_file else None
    config = build_config(preset, defaults=defaults, file=file, **given)
    return config.model_copy(
        update={
            "model": absolute_spec(config.model),
            "task": absolute_tasks(config.task),
            "sandbox_flag": config.sandbox_flag or config.sandbox_warning,  # a warning implies it
        }
    )


ModelOption = Annotated[
    str | None,
    typer.Option(help="Language model spec (see `selftaught models`; default: llamacpp)."),
]
PresetOption = Annotated[str | None, typer.Option(help="Budgets: quick (default) or paper.")]
BaseUrlOption = Annotated[str | None, typer.Option(help="OpenAI-compatible server URL.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Last stdout line: the result as JSON.")]


def drive(session: RunSession, work: Callable[[], T], again: str) -> T:
    """`work()` under the live display. Bad input is one line (exit 2); a run-wide cap (exit 3)
    or Ctrl-C (exit 130) stops it with everything recorded and says how to continue (`again`);
    the session is closed whatever happens."""
    try:
        with user_errors(), _live_progress(session):
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


@contextlib.contextmanager
def _live_progress(session: RunSession) -> Iterator[None]:
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

    with Live(console=stderr, get_renderable=render, refresh_per_second=2, transient=True):
        yield


def again_command(session: RunSession) -> str:
    """How a transfer or comparison continues: the same command on the same directory."""
    return f"the same command with --run-dir {session.run_dir}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def pct_range(interval: list[float]) -> str:
    return f"[{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"
