"""`selftaught run` and `selftaught resume`: a STOP run, live, recorded in its directory."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from selftaught import improvers, safety
from selftaught.cli.common import (
    Concurrency,
    ConfigFile,
    ExecutorOption,
    MaxCalls,
    MaxDollars,
    MaxSeconds,
    MaxSpent,
    ModelOptionPairs,
    RayAddress,
    SecretSeeds,
    SeedOption,
    ShowEvaluator,
    app,
    caps_given,
    drive,
    run_config,
    stderr,
    stdout,
    user_errors,
    where_given,
)  # fmt: skip
from selftaught.failures import failure_lines, invocation_failures, zero_score_lines
from selftaught.records import IterationRecord
from selftaught.session import RunSession
from selftaught.stall import stall, stall_line
from selftaught.tasks import Task


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
            help="Initial improver: a built-in name or a .py file (default: the preset's: "
            "repair for quick, seed for paper).",
        ),
    ] = None,
    repetitions: Annotated[
        int | None, typer.Option(help="Improver runs per meta-utility call.")
    ] = None,
    responses_per_call: Annotated[
        int | None, typer.Option(help="Responses per model call (max_responses_per_call).")
    ] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Tokens per response.")] = None,
    sandbox: Annotated[
        str | None, typer.Option(help="auto (default), zygote-rlimits or subprocess.")
    ] = None,
    concurrency: Concurrency = None,
    executor: ExecutorOption = None,
    ray_address: RayAddress = None,
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
    secret_seeds: SecretSeeds = False,
    show_evaluator: ShowEvaluator = False,
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
    serve: Annotated[
        bool, typer.Option("--serve", help="Watch it live: start the dashboard, print its URL.")
    ] = False,
    serve_port: Annotated[int, typer.Option(help="The dashboard's port (0: any free).")] = 0,
) -> None:
    """Run STOP: the improver improves itself for T iterations; every step is recorded."""
    with user_errors():
        config = run_config(
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
            secret_seeds=secret_seeds or None,
            show_evaluator=show_evaluator or None,
            caps=caps_given(max_lm_calls, max_spent_tokens, max_dollars, max_seconds),
            cache_from=str(cache_from.resolve()) if cache_from else None,
            model_options=tuple(model_option or ()),
            **where_given(executor, ray_address),
        )
        source = _initial_improver(config)
        label = "+".join(Path(spec).stem for spec in config.tasks)
        run_dir = run_dir or Path("runs") / time.strftime(f"%Y%m%d-%H%M%S-{label}")
    dashboard = _dashboard(run_dir, serve_port) if serve else None
    try:
        with user_errors():
            session = RunSession.start(run_dir, config, source)
        if improver is None:  # say which initial improver the preset chose, and why
            stderr.print(_preset_improver_line(config), highlight=False, soft_wrap=True)
        _execute(session, as_json)
    finally:
        if dashboard is not None:
            dashboard.close()


def _dashboard(run_dir: Path, port: int):  # noqa: ANN202 - the dashboard is imported lazily
    """`selftaught serve` over this run, before it starts (a busy port: one line, exit 2)."""
    from selftaught.cli.serve import start_or_exit

    dashboard = start_or_exit([run_dir], "127.0.0.1", port)
    stderr.print(f"dashboard: {dashboard.url}", highlight=False, soft_wrap=True)
    return dashboard


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="The directory of a run that was stopped.")],
    max_lm_calls: MaxCalls = None,
    max_spent_tokens: MaxSpent = None,
    max_dollars: MaxDollars = None,
    max_seconds: MaxSeconds = None,
    executor: ExecutorOption = None,
    ray_address: RayAddress = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Last stdout line: the result as JSON.")
    ] = False,
    allow_changed: Annotated[
        bool,
        typer.Option(
            "--allow-changed",
            help="Resume even though the task or model file was edited since the run started.",
        ),
    ] = False,
) -> None:
    """Continue a run that was killed or stopped by a cap (give a larger one); finished work is
    read back, nothing is paid twice."""
    with user_errors():
        caps = caps_given(max_lm_calls, max_spent_tokens, max_dollars, max_seconds)
        where = where_given(executor, ray_address)  # else where it ran before
        session = RunSession.reopen(
            run_dir, caps=caps, where=where, allow_changed=allow_changed
        )
    for what in session.changed:
        stderr.print(
            f"warning: the {escape(what)} changed since the run last ran; it continues with "
            "the edited version (what is recorded so far is of the old one)",
            highlight=False, soft_wrap=True,
        )  # fmt: skip
    _execute(session, as_json)


def _preset_improver_line(config: Any) -> str:
    if config.improver == "repair":
        return (
            f"initial improver: repair (the {config.preset} preset's: it keeps the seed solution "
            "unless a candidate beats it and shows failed programs why they failed, where the "
            "paper's seed improver returns a failed program; --improver seed runs the paper's)"
        )
    return f"initial improver: {config.improver} (the {config.preset} preset's)"


def _initial_improver(config: Any) -> str:
    """The configured improver; with --sandbox-flag, "seed" is the paper's sandbox variant."""
    if config.sandbox_flag and config.improver == "seed":
        return safety.sandbox_flag_seed()
    return improvers.load_improver(config.improver)


def _execute(session: RunSession, as_json: bool) -> None:
    for evaluator in session.evaluators:  # user tasks: what loading found (docs/tasks.md)
        task, check = evaluator.task, getattr(evaluator.task, "seed_check", None)
        if check is not None:
            stderr.print(
                f"task {task.name}: the seed solution scores {check.score:g} in the sandbox "
                f"({getattr(task, 'profile', Task.profile)} profile)",
                highlight=False, soft_wrap=True,
            )  # fmt: skip
    def work() -> tuple[list[IterationRecord], dict[str, Any]]:
        records = session.run()
        summary = session.summary(records)
        summary["safety"] = safety.run_summary(session.store)  # docs/safety.md
        summary["failures"] = invocation_failures(session.store)
        summary["zero_scores"] = session.store.zero_scores()
        summary["stall"] = stall_line(stall(session.store, records))  # why û did not rise
        return records, summary

    records, summary = drive(session, work, f"selftaught resume {session.run_dir}")
    (stderr if as_json else stdout).print(_iterations_table(records))
    (stderr if as_json else stdout).print(
        f"run recorded in {session.run_dir}: {summary['lm_calls']} LM calls paid, "
        f"{summary['evaluations']} evaluations"
    )
    (stderr if as_json else stdout).print(safety.summary_line(summary["safety"]), highlight=False)
    lines = failure_lines(summary["failures"]) + zero_score_lines(summary["zero_scores"])
    lines += solution_lines(summary["solutions"])  # the solutions last (issue 24), then why
    for line in lines + ([summary["stall"]] if summary["stall"] else []):
        (stderr if as_json else stdout).print(line, highlight=False, markup=False, soft_wrap=True)
    if as_json:
        print(json.dumps(summary), flush=True)


def solution_lines(solutions: dict[str, dict[str, float | None]]) -> list[str]:
    """Per task, in words: "maxcut: best solution 0.59 test, seed solution 0.22", then val."""
    lines = []
    for task, s in solutions.items():
        seed = f"seed solution {_score(s['seed_test'])}"
        if s["best_val"] is None:
            lines.append(f"{task}: no improver returned a solution that was scored; {seed} test")
            continue
        lines.append(
            f"{task}: best solution {_score(s['best_test'])} test, {seed} "
            f"(on val {_score(s['best_val'])} and {_score(s['seed_val'])})"
        )
    return lines


def _score(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"  # as the table shows it


def _iterations_table(records: list[IterationRecord]) -> Table:
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
        adopted = {None: "-", True: "yes", False: "no"}[r.adopted]
        table.add_row(
            str(r.t),
            fmt(r.meta_utility_val),
            fmt(r.meta_utility_test),
            fmt(r.candidate_val),
            fmt(r.candidate_test),
            adopted,
            r.improver_sha256[:12],
        )
    return table
