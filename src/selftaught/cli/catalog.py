"""`selftaught evaluate`, `tasks`, `improvers`, `models` and `doctor`: what exists here and
whether it works."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from selftaught import improvers, tasks
from selftaught.cli.common import (
    ExecutorOption,
    RayAddress,
    ShowEvaluator,
    app,
    stderr,
    stdout,
    user_errors,
)
from selftaught.cli.options import options
from selftaught.config import ConfigError
from selftaught.inert import visible
from selftaught.launch.options import EVALUATE, Given
from selftaught.launch.settings import where_given
from selftaught.lm import describe_models
from selftaught.lm.catalog import describe_embedded
from selftaught.user_code import UserFileError, read_source


@app.command()
@options(EVALUATE)
def evaluate(given: Given) -> None:
    """The utility of one solution file, with per-instance outcomes."""
    from selftaught.sandbox import open_sandbox
    from selftaught.utility import Evaluator

    task, split = given.task, given.split
    with user_errors():
        the_task = tasks.resolve_task(task)
        if split not in the_task.splits:
            raise ConfigError(f"unknown split {split!r}; use one of: {', '.join(the_task.splits)}")
        try:
            source = read_source(given.solution)  # a FIFO or a device is refused, a BOM dropped
        except UserFileError as exc:
            raise ConfigError(f"solution file {exc}") from None
    box = open_sandbox(given.sandbox)
    try:
        result = Evaluator(the_task, box, None).evaluate(source, split)
    finally:
        box.close()
    if given.as_json:
        print(
            json.dumps(
                {
                    "score": result.score, "instances": result.instances,
                    "layers": result.layers, "profile": result.profile,
                    "failure": result.failure, "spliced": result.spliced,
                }  # fmt: skip
            )
        )
        return
    title = f"{task} {split}: utility {result.score:.3f} ({result.profile} profile)"
    for note in (result.spliced, result.failure):  # how it was read, why it failed
        if note:
            title += f"\n{note}"
    table = Table(title=title)
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
    show: Annotated[
        str | None,
        typer.Option(help="Print exactly what the model is shown for this task, and check it."),
    ] = None,
    show_evaluator: ShowEvaluator = False,
) -> None:
    """The tasks an improver can be scored on (built-in, and any files or modules named)."""
    if show is not None:
        with user_errors():
            _show_task(show, show_evaluator)
        return
    rows: list[dict[str, object]] = []
    for row in tasks.describe_tasks(extra or ()):
        splits = row.get("splits", "")
        if isinstance(splits, dict):
            splits = ", ".join(f"{k} {v}" for k, v in splits.items())
        kind = ", ".join(str(row[k]) for k in ("kind", "form", "profile") if row.get(k))
        about = row.get("error") or row.get("summary", "")
        rows.append({"name": row["name"], "about": about, "kind": kind, "splits": splits})
    stdout.print(_keyed_table(rows, "name", "tasks, --task NAME (kind: source, form, profile)"))


def _show_task(spec: str, show_evaluator: bool) -> None:
    """What an improver's language model sees of a task: `utility.str` and the initial
    solution, verbatim; then (to stderr) the confinement profile and the seed's check."""
    task = tasks.resolve_task(spec, show_evaluator=show_evaluator)
    print("# utility.str (the task's description, as the model sees it)\n")
    print(visible(task.description, newlines=True))
    print("\n# the initial solution\n")
    print(visible(task.seed_solution, newlines=True))
    profile = getattr(task, "profile", tasks.Task.profile)
    note = f"task {task.name!r}: confinement profile {profile!r}"
    check = getattr(task, "seed_check", None)
    if check is not None:
        note += f"; the seed scores {check.score:g} in the sandbox (val {check.instance_seed})"
    stderr.print(note, highlight=False, soft_wrap=True)


@app.command("improvers")
def list_improvers() -> None:
    """The built-in improvers (any .py file defining improve_algorithm works too)."""
    table = Table("name", "about")
    for name, about in improvers.SUMMARIES.items():
        table.add_row(name, about)
    stdout.print(table)


@app.command("models")
def list_models() -> None:
    """The embedded models, and the kinds of language model a run can use."""
    title = "embedded models, --model SPEC (speed: benchmarks/embedded_models.md)"
    stdout.print(_keyed_table(describe_embedded(), "spec", title))
    stdout.print(_keyed_table(describe_models(), "kind", "kinds of language model"))


def _keyed_table(rows: list[dict[str, object]], key: str, title: str) -> Table:
    """Wide rows as two columns, the key and the other fields one a line: six columns of prose
    would each be a word wide at 80 columns."""
    table = Table(key, "details", title=title)
    table.columns[0].no_wrap = True
    for row in rows:
        fields = (f"{name}: {value}" for name, value in row.items() if name != key and value != "")
        table.add_row(str(row[key]), "\n".join(fields))
    return table


@app.command()
def doctor(
    run_dir: Annotated[Path | None, typer.Option(help="Also check this run's database.")] = None,
    executor: ExecutorOption = None,
    ray_address: RayAddress = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Which isolation layers work here (and, with --executor ray, on every node), their cost,
    the embedded model, a run's health."""
    from selftaught.health import doctor_report

    with user_errors():
        report = doctor_report(run_dir, **where_given(executor, ray_address))
    if as_json:
        print(json.dumps(report))
        return
    from selftaught.health import render_report

    stdout.print(render_report(report))
