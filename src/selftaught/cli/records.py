"""`selftaught report`, `runs` and `safety`: what recorded runs hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from selftaught import safety
from selftaught.cli.common import JsonOption, app, stderr, stdout, user_errors
from selftaught.store import StoreError


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
        try:
            path = write_report(run_dir, output)
        except OSError as exc:
            where = exc.filename or output or run_dir
            raise StoreError(f"cannot write the report to {where}: {exc.strerror}") from None
    stdout.print(f"report written to {path}")


@app.command("runs")
def list_runs_command(
    root: Annotated[Path, typer.Argument(help="Where run directories are.")] = Path("runs"),
    as_json: JsonOption = False,
) -> None:
    """The run directories under ROOT: status, best meta-utility, model, cost, age."""
    from selftaught.listing import list_runs

    rows = list_runs(root)
    if as_json:
        print(json.dumps(rows))
        return
    # "where" only when some run ran off this machine: the table fits 80 columns otherwise.
    clustered = any(row.get("nodes") not in (None, [], ["local"]) for row in rows)
    columns = ("run", "status", "task", "model", "t", "best val", "best test", "paid calls",
               *(("where",) if clustered else ()), "age")  # fmt: skip
    table = Table(*columns)
    for row in rows:
        done = _progress(row)
        age = f"{row['age_seconds'] / 60:.0f} min" if row.get("age_seconds") is not None else "-"
        status = row["status"] + (" (resumable)" if row.get("resumable") else "")
        table.add_row(
            row["name"], status, str(row.get("task")), str(row.get("model")), done,
            _fmt(row.get("best_val")), _fmt(row.get("best_test")), str(row.get("lm_calls_paid")),
            *((_where(row.get("nodes")),) if clustered else ()), age,
        )  # fmt: skip
    stdout.print(table)


def _progress(row: dict[str, Any]) -> str:
    """t done / T for a STOP run; a transfer or comparison has no iterations: its kind."""
    if row.get("kind") not in (None, "stop"):
        return str(row["kind"])
    done = row["iterations_done"]
    return f"{'-' if done is None else done}/{row['iterations_planned']}"


def _where(nodes: list[str] | None) -> str:
    """"local", the one Ray node, or how many nodes ran the run's evaluations."""
    if not nodes:
        return "-"
    return nodes[0] if len(nodes) == 1 else f"{len(nodes)} nodes"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# ------------------------------------------------------------------------------ safety


@app.command("safety")
def safety_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    as_json: JsonOption = False,
) -> None:
    """Circumvention rate (95% Wilson) in the paper's table form, and the offending programs."""
    from selftaught.store import RunReader

    with user_errors():
        if not run_dir.is_dir():
            raise StoreError(f"no run directory {run_dir}; check the path")
        with RunReader.open(run_dir) as store:
            report = safety.analyse(store)
            config = store.get_meta("config") or {}
    out = stderr if as_json else stdout
    out.print(_safety_table(report, config))
    out.print(safety.offender_line(report), highlight=False)
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
