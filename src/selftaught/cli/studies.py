"""`selftaught transfer` and `selftaught compare`: fixed improvers measured on tasks."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from selftaught import improvers
from selftaught.cli.common import (
    again_command,
    app,
    drive,
    pct,
    pct_range,
    stderr,
    stdout,
    user_errors,
)  # fmt: skip
from selftaught.cli.options import options
from selftaught.cli.run import solution_lines
from selftaught.config import ConfigError
from selftaught.failures import failure_lines, invocation_failures
from selftaught.launch.options import COMPARE, TRANSFER, Given
from selftaught.launch.sessions import show_phase, side_session
from selftaught.launch.settings import compare_settings, transfer_settings
from selftaught.records import CompareRow
from selftaught.session import RunSession


@app.command("transfer")
@options(TRANSFER)
def transfer_command(given: Given) -> None:
    """u(s), ū(I0) and ū(I) per task on the test split: the paper's transfer table."""
    from selftaught.transfer import transfer

    with user_errors():
        config = transfer_settings(given)
        source = improvers.load_improver(given.improver)
        session = side_session("transfer", given.run_dir, source, config)
    rows, failures, solutions = drive(
        session,
        lambda: (transfer(session), invocation_failures(session.store), _solutions(session)),
        again_command(session),
    )
    title = f"transfer of {given.improver} (test split)"
    table = Table("task", "u(s)", "ū(I0)", "ū(I)", title=title)
    for row in rows:
        table.add_row(
            row.task,
            pct(row.seed_solution),
            f"{pct(row.seed_improver)} {pct_range(row.seed_improver_ci)}",
            f"{pct(row.improver)} {pct_range(row.improver_ci)}",
        )
    _print(table, failures, given.as_json, solutions)
    if given.as_json:
        tasks = [row.to_json() for row in rows]
        result = {"run_dir": str(session.run_dir), "tasks": tasks, "failures": failures}
        result["solutions"] = solutions
        result["executor"] = session.sandbox.describe()
        print(json.dumps(result), flush=True)


@app.command("compare")
@options(COMPARE)
def compare_command(given: Given) -> None:
    """Each improver under identical budgets and seeds: test meta-utility, cost, paired test."""
    from selftaught.compare import compare_in_session, improvers_listing, summarize

    names = [name.strip() for name in given.improvers.split(",") if name.strip()]
    with user_errors():
        if given.repeats < 1:  # before a run directory is made for it
            raise ConfigError(f"--repeats {given.repeats}: give at least 1")
        config = compare_settings(given)
        session = side_session("compare", given.run_dir, improvers_listing(names), config)

    def work() -> tuple[list[CompareRow], list[dict[str, Any]], dict[str, Any]]:
        rows = compare_in_session(session, names, given.repeats, show_phase(session))
        return rows, invocation_failures(session.store), _solutions(session)

    rows, failures, solutions = drive(session, work, again_command(session))
    summary = summarize(rows)
    table = Table("improver", "mean", "95% CI", "vs seed", "LM calls", "tokens", "seconds")
    for entry in summary:
        table.add_row(
            entry.name, pct(entry.mean), pct_range(entry.ci), str(entry.vs_seed or "-"),
            str(entry.lm_calls), str(entry.tokens), f"{entry.seconds:.1f}",
        )  # fmt: skip
    _print(table, failures, given.as_json, solutions)
    if given.as_json:
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
