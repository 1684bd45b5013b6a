"""`selftaught transfer` and `selftaught compare`: fixed improvers measured on tasks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from selftaught import improvers
from selftaught.cli.common import (
    BaseUrlOption,
    Concurrency,
    ConfigFile,
    ExecutorOption,
    JsonOption,
    ModelOption,
    ModelOptionPairs,
    PresetOption,
    RayAddress,
    SecretSeeds,
    SeedOption,
    again_command,
    app,
    drive,
    pct,
    pct_range,
    run_config,
    stderr,
    stdout,
    user_errors,
    where_given,
)  # fmt: skip
from selftaught.cli.run import solution_lines
from selftaught.config import ConfigError, RunConfig
from selftaught.failures import failure_lines, invocation_failures
from selftaught.records import CompareRow
from selftaught.session import RunSession

TRANSFER_TASKS = "string_grid,mqap,three_sat,maxcut,parity"


def _side_session(kind: str, run_dir: Path | None, source: str, config: RunConfig) -> RunSession:
    """A transfer or compare run: recorded like a STOP run, continued if re-run in place."""
    label = "+".join(Path(spec).stem for spec in config.tasks)
    run_dir = run_dir or Path("runs") / time.strftime(f"%Y%m%d-%H%M%S-{kind}-{label}")
    return RunSession.start_or_reopen(run_dir, config, source, kind)


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
    secret_seeds: SecretSeeds = False,
    concurrency: Concurrency = None,
    executor: ExecutorOption = None,
    ray_address: RayAddress = None,
    model_option: ModelOptionPairs = None,
    run_dir: Annotated[Path | None, typer.Option(help="Where it is recorded.")] = None,
    as_json: JsonOption = False,
) -> None:
    """u(s), ū(I0) and ū(I) per task on the test split: the paper's transfer table."""
    from selftaught.transfer import transfer

    with user_errors():
        config = run_config(
            config_file, preset, defaults={"task": TRANSFER_TASKS, "repetitions": 5},
            iterations=0, task=tasks_, repetitions=repeats, model=model, base_url=base_url,
            seed=seed, concurrency=concurrency, model_options=tuple(model_option or ()),
            secret_seeds=secret_seeds or None, **where_given(executor, ray_address),
        )  # fmt: skip
        source = improvers.load_improver(improver)
        session = _side_session("transfer", run_dir, source, config)
    rows, failures, solutions = drive(
        session,
        lambda: (transfer(session), invocation_failures(session.store), _solutions(session)),
        again_command(session),
    )
    table = Table("task", "u(s)", "ū(I0)", "ū(I)", title=f"transfer of {improver} (test split)")
    for row in rows:
        table.add_row(
            row.task,
            pct(row.seed_solution),
            f"{pct(row.seed_improver)} {pct_range(row.seed_improver_ci)}",
            f"{pct(row.improver)} {pct_range(row.improver_ci)}",
        )
    _print(table, failures, as_json, solutions)
    if as_json:
        tasks = [row.to_json() for row in rows]
        result = {"run_dir": str(session.run_dir), "tasks": tasks, "failures": failures}
        result["solutions"] = solutions
        result["executor"] = session.sandbox.describe()
        print(json.dumps(result), flush=True)


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
    secret_seeds: SecretSeeds = False,
    concurrency: Concurrency = None,
    executor: ExecutorOption = None,
    ray_address: RayAddress = None,
    model_option: ModelOptionPairs = None,
    run_dir: Annotated[Path | None, typer.Option(help="Where it is recorded.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Each improver under identical budgets and seeds: test meta-utility, cost, paired test."""
    from selftaught.compare import compare_in_session, improvers_listing, summarize

    names = [name.strip() for name in improvers_.split(",") if name.strip()]
    with user_errors():
        if repeats < 1:  # before a run directory is made for it
            raise ConfigError(f"--repeats {repeats}: give at least 1")
        config = run_config(
            config_file, preset, iterations=0, task=tasks_, model=model, base_url=base_url,
            seed=seed, repetitions=repetitions, max_tokens=max_tokens, concurrency=concurrency,
            model_options=tuple(model_option or ()), secret_seeds=secret_seeds or None,
            **where_given(executor, ray_address),
        )  # fmt: skip
        session = _side_session("compare", run_dir, improvers_listing(names), config)

    def work() -> tuple[list[CompareRow], list[dict[str, Any]], dict[str, Any]]:
        rows = compare_in_session(session, names, repeats, _show(session))
        return rows, invocation_failures(session.store), _solutions(session)

    rows, failures, solutions = drive(session, work, again_command(session))
    summary = summarize(rows)
    table = Table("improver", "mean", "95% CI", "vs seed", "LM calls", "tokens", "seconds")
    for entry in summary:
        table.add_row(
            entry.name, pct(entry.mean), pct_range(entry.ci), str(entry.vs_seed or "-"),
            str(entry.lm_calls), str(entry.tokens), f"{entry.seconds:.1f}",
        )  # fmt: skip
    _print(table, failures, as_json, solutions)
    if as_json:
        improvers_ = [entry.to_json() for entry in summary]
        result = {"run_dir": str(session.run_dir), "improvers": improvers_, "failures": failures}
        result["solutions"] = solutions
        result["executor"] = session.sandbox.describe()
        print(json.dumps(result), flush=True)


def _print(
    table: Table, failures: list[dict[str, Any]], as_json: bool, solutions: dict[str, Any]
) -> None:
    """The table, then why improvers scored 0, then the seed solution beside the best returned
    one per task (stderr when stdout carries the JSON)."""
    console = stderr if as_json else stdout
    console.print(table)
    for line in failure_lines(failures) + solution_lines(solutions):
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def _solutions(session: RunSession) -> dict[str, dict[str, float | None]]:
    """`--json`'s "solutions": per task, the seed solution's and the best returned one's."""
    return {s.task: s.to_dict() for s in session.solution_scores()}


def _show(session: RunSession) -> Callable[[str], None]:
    """What the live display says the comparison is doing."""

    def show(text: str) -> None:
        session.status.phase = text

    return show
