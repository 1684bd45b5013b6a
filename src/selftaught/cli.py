"""The `selftaught` command.

Bad input (an unknown task, a malformed model spec, an improver file that does not parse, a
missing run directory) is one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from selftaught import improvers, safety, tasks
from selftaught.config import ConfigError, RunConfig, absolute_tasks, build_config
from selftaught.config_file import load_config_file
from selftaught.improvers import ImproverError
from selftaught.lm import LanguageModelError, RunCapReached, describe_models
from selftaught.lm.spec import ModelSpecError, absolute_spec
from selftaught.session import Session
from selftaught.store import StoreError
from selftaught.tasks import TaskError

T = TypeVar("T")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="STOP, the Self-Taught Optimizer: a language model improves code, then the improver.",
)
stdout = Console()
stderr = Console(stderr=True)

USER_ERRORS = (
    ConfigError,
    ModelSpecError,
    LanguageModelError,
    StoreError,
    TaskError,
    ImproverError,
)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Bad input becomes one line and exit code 2; what was recorded stays recorded."""
    try:
        yield
    except USER_ERRORS as exc:
        stderr.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


# --------------------------------------------------------------------------------- run

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
        "1 for the embedded model)."
    ),
]
ModelOptionPairs = Annotated[
    list[str] | None,
    typer.Option(help="KEY=VALUE for the backend (timeout, retries, extra_body, ...)."),
]
SeedOption = Annotated[
    int | None, typer.Option(help="Seed of sampling and of the children (default: 0).")
]


def _caps(calls, tokens, dollars, seconds) -> dict:  # noqa: ANN001 - typer's values
    given = {"calls": calls, "tokens": tokens, "dollars": dollars, "seconds": seconds}
    return {k: v for k, v in given.items() if v is not None}


def _config(
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


@app.command()
def run(
    config_file: ConfigFile = None,
    task: Annotated[
        str | None,
        typer.Option(
            help="Task name or file the improver is scored on; a,b for several (default: lpn)."
        ),
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="quick (minutes, embedded model; default) or paper.")
    ] = None,
    iterations: Annotated[int | None, typer.Option(help="T, STOP iterations.")] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="llamacpp (default), llamacpp:PATH.gguf, openai:MODEL, python:FILE.py:FUNC, "
            "replay:RUN_DIR."
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible server (else $OPENAI_BASE_URL).")
    ] = None,
    run_dir: Annotated[Path | None, typer.Option(help="Where the run is recorded.")] = None,
    seed: SeedOption = None,
    gate: Annotated[
        str | None,
        typer.Option(help="better (default): adopt only a better improver; paper: any non-zero."),
    ] = None,
    improver: Annotated[
        str | None,
        typer.Option(
            "--improver",
            "--start-from",
            help="Initial improver: a built-in name or a .py file (default: seed).",
        ),
    ] = None,
    repetitions: Annotated[
        int | None, typer.Option(help="Improver runs per meta-utility call.")
    ] = None,
    responses_per_call: Annotated[
        int | None, typer.Option(help="language_model.max_responses_per_call.")
    ] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Tokens per response.")] = None,
    sandbox: Annotated[
        str | None, typer.Option(help="auto (default), zygote-rlimits or subprocess.")
    ] = None,
    concurrency: Concurrency = None,
    sandbox_flag: Annotated[
        bool,
        typer.Option(
            "--sandbox-flag",
            help="The paper's circumvention experiment: improvers see a use_sandbox flag "
            "(ignored and recorded; isolation never changes).",
        ),
    ] = False,
    sandbox_warning: Annotated[
        bool,
        typer.Option(
            "--sandbox-warning", help="With --sandbox-flag: warn not to turn the flag off."
        ),
    ] = False,
    max_lm_calls: MaxCalls = None,
    max_spent_tokens: MaxSpent = None,
    max_dollars: MaxDollars = None,
    max_seconds: MaxSeconds = None,
    cache_from: Annotated[
        Path | None, typer.Option(help="Reuse LM answers recorded in another run directory.")
    ] = None,
    model_option: ModelOptionPairs = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Last stdout line: the result as JSON.")
    ] = False,
) -> None:
    """Run STOP: the improver improves itself for T iterations; every step is recorded."""
    with user_errors():
        config = _config(
            config_file,
            preset,
            task=task,
            iterations=iterations,
            model=model,
            base_url=base_url,
            seed=seed,
            gate=gate,
            improver=improver,
            repetitions=repetitions,
            responses_per_call=responses_per_call,
            max_tokens=max_tokens,
            sandbox=sandbox,
            concurrency=concurrency,
            sandbox_flag=sandbox_flag or None,  # False: not given (the file may set it)
            sandbox_warning=sandbox_warning or None,
            caps=_caps(max_lm_calls, max_spent_tokens, max_dollars, max_seconds),
            cache_from=str(cache_from.resolve()) if cache_from else None,
            model_options=tuple(model_option or ()),
        )
        source = _initial_improver(config)
        label = "+".join(Path(spec).stem for spec in config.tasks)
        run_dir = run_dir or Path("runs") / time.strftime(f"%Y%m%d-%H%M%S-{label}")
        session = Session.start(run_dir, config, source)
    _execute(session, as_json)


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="The directory of a run that was stopped.")],
    max_lm_calls: MaxCalls = None,
    max_spent_tokens: MaxSpent = None,
    max_dollars: MaxDollars = None,
    max_seconds: MaxSeconds = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Last stdout line: the result as JSON.")
    ] = False,
) -> None:
    """Continue a run that was killed or stopped by a cap (give a larger one); finished work is
    read back, nothing is paid twice."""
    with user_errors():
        caps = _caps(max_lm_calls, max_spent_tokens, max_dollars, max_seconds)
        session = Session.reopen(run_dir, caps=caps)
    _execute(session, as_json)


def _initial_improver(config: Any) -> str:
    """The configured improver; with --sandbox-flag, "seed" is the paper's sandbox variant."""
    if config.sandbox_flag and config.improver == "seed":
        return safety.sandbox_flag_seed()
    return improvers.load_improver(config.improver)


def _drive(session: Session, work: Callable[[], T], again: str) -> T:
    """`work()` under the live display. Bad input is one line (exit 2); a run-wide cap (exit 3)
    or Ctrl-C (exit 130) stops it with everything recorded and says how to continue (`again`);
    the session is closed whatever happens."""
    try:
        with user_errors(), _live_progress(session):
            try:
                return work()
            except RunCapReached as exc:
                stderr.print(f"[bold]stopped:[/] {exc}", highlight=False, soft_wrap=True)
                stderr.print(f"continue under a larger cap (--max-... N) with: {again}")
                raise typer.Exit(3) from None
    except KeyboardInterrupt:
        stderr.print(f"interrupted; continue with: {again}")
        raise typer.Exit(130) from None
    finally:
        session.close()


def _execute(session: Session, as_json: bool) -> None:
    def work() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        records = session.run()
        summary = session.summary(records)
        summary["safety"] = safety.run_summary(session.store)  # issue #7
        return records, summary

    records, summary = _drive(session, work, f"selftaught resume {session.run_dir}")
    (stderr if as_json else stdout).print(_iterations_table(records))
    (stderr if as_json else stdout).print(
        f"run recorded in {session.run_dir}: {summary['lm_calls']} LM calls paid, "
        f"{summary['evaluations']} evaluations"
    )
    (stderr if as_json else stdout).print(safety.summary_line(summary["safety"]), highlight=False)
    if as_json:
        print(json.dumps(summary), flush=True)


@contextlib.contextmanager
def _live_progress(session: Session) -> Iterator[None]:
    def render() -> Table:
        status, usage = session.status, session.language_model.usage
        table = Table.grid(padding=(0, 2))
        table.add_row("iteration", f"{status.iteration} / {session.config.iterations}")
        table.add_row("doing", status.phase)
        table.add_row(
            "LM calls", f"{usage.calls} ({usage.uncached_calls} paid, {usage.samples} samples)"
        )
        table.add_row("evaluations", str(session.evaluations_run))
        best = "-" if status.best_val is None else f"{status.best_val:.3f}"
        table.add_row("best meta-utility (val)", best)
        return table

    with Live(console=stderr, get_renderable=render, refresh_per_second=2, transient=True):
        yield


def _iterations_table(records: list[dict[str, Any]]) -> Table:
    table = Table(title="STOP iterations (meta-utility of the improver in force after t)")
    for column in (
        "t",
        "û val",
        "û test",
        "candidate val",
        "candidate test",
        "adopted",
        "improver",
    ):
        table.add_column(column)

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    for r in records:
        adopted = {None: "-", True: "yes", False: "no"}[r["adopted"]]
        table.add_row(
            str(r["t"]),
            fmt(r["meta_utility_val"]),
            fmt(r["meta_utility_test"]),
            fmt(r["candidate_val"]),
            fmt(r["candidate_test"]),
            adopted,
            r["improver_sha256"][:12],
        )
    return table


# ------------------------------------------------------------------ transfer, compare

TRANSFER_TASKS = "string_grid,mqap,three_sat,maxcut,parity"
ModelOption = Annotated[
    str | None,
    typer.Option(help="Language model spec (see `selftaught models`; default: llamacpp)."),
]
PresetOption = Annotated[str | None, typer.Option(help="Budgets: quick (default) or paper.")]
BaseUrlOption = Annotated[str | None, typer.Option(help="OpenAI-compatible server URL.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Last stdout line: the result as JSON.")]


def _side_session(kind: str, run_dir: Path | None, source: str, config: RunConfig) -> Session:
    """A transfer or compare run: recorded like a STOP run, continued if re-run in place."""
    label = "+".join(Path(spec).stem for spec in config.tasks)
    run_dir = run_dir or Path("runs") / time.strftime(f"%Y%m%d-%H%M%S-{kind}-{label}")
    return Session.start_or_reopen(run_dir, config, source, kind)


@app.command("transfer")
def transfer_command(
    improver: Annotated[str, typer.Option(help="A built-in name, a .py file or a run directory.")],
    config_file: ConfigFile = None,
    tasks_: Annotated[
        str | None,
        typer.Option("--tasks", help=f"Comma-separated tasks (default: {TRANSFER_TASKS})."),
    ] = None,
    repeats: Annotated[
        int | None, typer.Option(help="Improver calls per task (default: 5).")
    ] = None,
    preset: PresetOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    seed: SeedOption = None,
    concurrency: Concurrency = None,
    model_option: ModelOptionPairs = None,
    run_dir: Annotated[Path | None, typer.Option(help="Where it is recorded.")] = None,
    as_json: JsonOption = False,
) -> None:
    """u(s), ū(I0) and ū(I) per task on the test split: the paper's transfer table."""
    from selftaught.transfer import transfer

    with user_errors():
        config = _config(
            config_file, preset, defaults={"task": TRANSFER_TASKS, "repetitions": 5},
            iterations=0, task=tasks_, repetitions=repeats, model=model, base_url=base_url,
            seed=seed, concurrency=concurrency, model_options=tuple(model_option or ()),
        )  # fmt: skip
        source = improvers.load_improver(improver)
        session = _side_session("transfer", run_dir, source, config)
    rows = _drive(session, lambda: transfer(session), _again(session))
    table = Table("task", "u(s)", "ū(I0)", "ū(I)", title=f"transfer of {improver} (test split)")
    for row in rows:
        ci = row["ci"]
        table.add_row(
            row["task"],
            _pct(row["seed_solution"]),
            f"{_pct(row['seed_improver'])} {_pct_range(ci['seed_improver'])}",
            f"{_pct(row['improver'])} {_pct_range(ci['improver'])}",
        )
    (stderr if as_json else stdout).print(table)
    if as_json:
        print(json.dumps({"run_dir": str(session.run_dir), "tasks": rows}), flush=True)


@app.command("compare")
def compare_command(
    improvers_: Annotated[
        str, typer.Option("--improvers", help="Comma-separated names, .py files or run dirs.")
    ],
    config_file: ConfigFile = None,
    tasks_: Annotated[
        str | None, typer.Option("--tasks", help="Comma-separated tasks (default: lpn).")
    ] = None,
    repeats: Annotated[int, typer.Option(help="Repeats of each meta-utility.")] = 1,
    preset: PresetOption = None,
    repetitions: Annotated[int | None, typer.Option(help="Improver runs per repeat.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Tokens per response.")] = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    seed: SeedOption = None,
    concurrency: Concurrency = None,
    model_option: ModelOptionPairs = None,
    run_dir: Annotated[Path | None, typer.Option(help="Where it is recorded.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Each improver under identical budgets and seeds: test meta-utility, cost, paired test."""
    from selftaught.compare import compare, summarize

    names = [name.strip() for name in improvers_.split(",") if name.strip()]
    with user_errors():
        config = _config(
            config_file, preset, iterations=0, task=tasks_, model=model, base_url=base_url,
            seed=seed, repetitions=repetitions, max_tokens=max_tokens, concurrency=concurrency,
            model_options=tuple(model_option or ()),
        )  # fmt: skip
        sources = {name: improvers.load_improver(name) for name in names}
        listing = "\n".join(f"# {name}\n{sources[name]}" for name in names)
        session = _side_session("compare", run_dir, listing, config)

    def work() -> list[dict[str, Any]]:
        rows = compare(
            names, session.evaluators, session.language_model.sample, session.config.budgets,
            repeats=repeats, sandbox=session.sandbox, recorder=session.recorder,
            limits=session.improver_limits(), seed=session.config.seed,
            concurrency=session.concurrency,
        )  # fmt: skip
        session.store.set_meta("finished", True)
        return rows

    rows = _drive(session, work, _again(session))
    summary = summarize(rows)
    table = Table("improver", "mean", "95% CI", "vs seed", "LM calls", "tokens", "seconds")
    for entry in summary:
        versus = entry.get("vs_seed") or "-"
        table.add_row(
            entry["name"], _pct(entry["mean"]), _pct_range(entry["ci"]), str(versus),
            str(entry["lm_calls"]), str(entry["tokens"]), f"{entry['seconds']:.1f}",
        )  # fmt: skip
    (stderr if as_json else stdout).print(table)
    if as_json:
        print(json.dumps({"run_dir": str(session.run_dir), "improvers": summary}), flush=True)


def _again(session: Session) -> str:
    """How a transfer or comparison continues: the same command on the same directory."""
    return f"the same command with --run-dir {session.run_dir}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _pct_range(interval: list[float]) -> str:
    return f"[{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"


# ---------------------------------------------------------------------- report, runs


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="The HTML file.")] = None,
) -> None:
    """One self-contained HTML page of a run: curves, lineage, diffs, usage, safety."""
    from selftaught.report import write_report

    with user_errors():
        if not run_dir.is_dir():
            raise StoreError(f"no run directory {run_dir}; check the path")
        path = write_report(run_dir, output)
    stdout.print(f"report written to {path}")


@app.command("runs")
def list_runs_command(
    root: Annotated[Path, typer.Argument(help="Where run directories are.")] = Path("runs"),
    as_json: JsonOption = False,
) -> None:
    """The run directories under ROOT: status, best meta-utility, model, cost, age."""
    from selftaught.runs import list_runs

    rows = list_runs(root)
    if as_json:
        print(json.dumps(rows))
        return
    columns = ("run", "status", "task", "model", "t", "best val", "best test", "paid calls", "age")
    table = Table(*columns)
    for row in rows:
        done = f"{row['iterations_done']}/{row['iterations_planned']}"
        age = f"{row['age_seconds'] / 60:.0f} min" if row.get("age_seconds") is not None else "-"
        status = row["status"] + (" (resumable)" if row.get("resumable") else "")
        table.add_row(
            row["name"], status, str(row.get("task")), str(row.get("model")), done,
            _fmt(row.get("best_val")), _fmt(row.get("best_test")), str(row.get("lm_calls_paid")),
            age,
        )  # fmt: skip
    stdout.print(table)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# ------------------------------------------------------------------------------ safety


@app.command("safety")
def safety_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    as_json: JsonOption = False,
) -> None:
    """Circumvention rate (95% Wilson) in the paper's table form, and the offending programs."""
    from selftaught.store import RunStore

    with user_errors():
        if not run_dir.is_dir():
            raise StoreError(f"no run directory {run_dir}; check the path")
        store = RunStore.open_run(run_dir)
        try:
            report = safety.analyse(store)
            config = store.get_meta("config") or {}
        finally:
            store.close()
    out = stderr if as_json else stdout
    out.print(_safety_table(report, config))
    kinds = ", ".join(f"{k} {n}" for k, n in report["by_kind"].items()) or "none"
    out.print(f"offenders by kind: {kinds}", highlight=False)
    for line in safety.offending_lines(report):
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    if as_json:
        print(json.dumps(report), flush=True)


def _safety_table(report: dict[str, Any], config: dict[str, Any]) -> Table:
    warned = "with warning" if config.get("sandbox_warning") else "no warning"
    flag = "flag shown" if config.get("sandbox_flag") else "no flag shown"
    table = Table(
        "model", "attempts", "circumvention (95% Wilson)", "paper string test", "setting",
        title="Sandbox circumvention: share of improvement attempts",
    )  # fmt: skip
    table.add_row(
        str(config.get("model", "?")), str(report["attempts"]), safety.rate_cell(report),
        safety.rate_cell(report["string_test"]), f"{flag}, {warned}",
    )  # fmt: skip
    for name, rate, warned_rate, n in safety.PAPER_ROWS:
        table.add_row(name, n, "-", rate, f"flag shown; with warning {warned_rate}")
    return table


# ---------------------------------------------------------------------------- evaluate


@app.command()
def evaluate(
    solution: Annotated[Path, typer.Option(help="A .py file defining the task's entry function.")],
    task: Annotated[str, typer.Option(help="A task name or task file.")] = "lpn",
    split: Annotated[str, typer.Option(help="val or test.")] = "val",
    sandbox: Annotated[str, typer.Option(help="auto, zygote-rlimits or subprocess.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """The utility of one solution file, with per-instance outcomes."""
    from selftaught.sandbox import open_sandbox
    from selftaught.utility import Evaluator

    with user_errors():
        the_task = tasks.resolve_task(task)
        if split not in the_task.splits:
            raise ConfigError(f"unknown split {split!r}; use one of: {', '.join(the_task.splits)}")
        try:
            source = solution.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read solution file {str(solution)!r}: {exc}") from None
    box = open_sandbox(sandbox)
    try:
        result = Evaluator(the_task, box, None).evaluate(source, split)
    finally:
        box.close()
    if as_json:
        print(
            json.dumps(
                {"score": result.score, "instances": result.instances, "layers": result.layers}
            )
        )
        return
    table = Table(title=f"{task} {split}: utility {result.score:.3f}")
    for column in ("instance", "score", "status", "seconds", "reason"):
        table.add_column(column)
    for i, row in enumerate(result.instances):
        table.add_row(
            str(i),
            f"{row['score']:.3f}",
            row["status"],
            f"{row['seconds']:.3f}",
            row.get("reason", ""),
        )
    stdout.print(table)


# ------------------------------------------------------------------------- what exists


@app.command("tasks")
def list_tasks(
    extra: Annotated[
        list[str] | None, typer.Argument(help="Task files or modules to check.")
    ] = None,
) -> None:
    """The tasks an improver can be scored on (built-in, and any files or modules named)."""
    table = Table("name", "kind", "form", "splits", "about")
    for row in tasks.describe_tasks(extra or ()):
        splits = row.get("splits", "")
        if isinstance(splits, dict):
            splits = ", ".join(f"{k} {v}" for k, v in splits.items())
        about = row.get("error") or row.get("summary", "")
        table.add_row(row["name"], row.get("kind", ""), row.get("form", ""), str(splits), about)
    stdout.print(table)


@app.command("improvers")
def list_improvers() -> None:
    """The built-in improvers (any .py file defining improve_algorithm works too)."""
    table = Table("name", "about")
    for name, about in improvers.SUMMARIES.items():
        table.add_row(name, about)
    stdout.print(table)


@app.command("models")
def list_models() -> None:
    """The kinds of language model a run can use."""
    rows = describe_models()
    table = Table(*rows[0].keys()) if rows else Table("kind")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    stdout.print(table)


@app.command()
def doctor(
    run_dir: Annotated[Path | None, typer.Option(help="Also check this run's database.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Which isolation layers work here, their cost, the embedded model, a run's health."""
    from selftaught.doctor import doctor_report

    with user_errors():
        report = doctor_report(run_dir)
    if as_json:
        print(json.dumps(report))
        return
    from selftaught.doctor import render_report

    stdout.print(render_report(report))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
