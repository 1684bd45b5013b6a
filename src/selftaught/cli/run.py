"""`selftaught run` and `selftaught resume`: a STOP run, live, recorded in its directory."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from selftaught import safety
from selftaught.cli.common import app, drive, stderr, stdout, user_errors
from selftaught.cli.options import options
from selftaught.failures import failure_lines, invocation_failures, zero_score_lines
from selftaught.launch.options import RESUME, RUN, Given
from selftaught.launch.sessions import stop_launch
from selftaught.launch.settings import caps_given, where_given
from selftaught.records import IterationRecord
from selftaught.session import RunSession
from selftaught.stall import stall, stall_line
from selftaught.tasks import Task


@app.command()
@options(RUN)
def run(given: Given) -> None:
    """Run STOP: the improver improves itself for T iterations; every step is recorded."""
    with user_errors():
        launch = stop_launch(given)
    dashboard = _dashboard(launch.run_dir, given.serve_port) if given.serve else None
    try:
        with user_errors():
            session = launch.start()
        if given.improver is None:  # say which initial improver the preset chose, and why
            stderr.print(_preset_improver_line(launch.config), highlight=False, soft_wrap=True)
        _execute(session, given.as_json)
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
@options(RESUME)
def resume(given: Given) -> None:
    """Continue a run that was killed or stopped by a cap (give a larger one); finished work is
    read back, nothing is paid twice."""
    with user_errors():
        caps = caps_given(given)
        where = where_given(given.executor, given.ray_address)  # else where it ran before
        session = RunSession.reopen(
            given.run_dir, caps=caps, where=where, allow_changed=given.allow_changed
        )
    for what in session.changed:
        stderr.print(
            f"warning: the {escape(what)} changed since the run last ran; it continues with "
            "the edited version (what is recorded so far is of the old one)",
            highlight=False, soft_wrap=True,
        )  # fmt: skip
    _execute(session, given.as_json)


def _preset_improver_line(config: Any) -> str:
    if config.improver == "repair":
        return (
            f"initial improver: repair (the {config.preset} preset's: it keeps the seed solution "
            "unless a candidate beats it and shows failed programs why they failed, where the "
            "paper's seed improver returns a failed program; --improver seed runs the paper's)"
        )
    return f"initial improver: {config.improver} (the {config.preset} preset's)"


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
        print(json.dumps(summary, default=asdict), flush=True)  # records: zero_scores


def solution_lines(solutions: dict[str, dict[str, float | None]]) -> list[str]:
    """Per task, in words: "maxcut: best solution 0.59 test, seed solution 0.22", then val."""
    lines = []
    for task, s in solutions.items():
        seed = f"seed solution {_score(s['seed_test'])}"
        if s["best_val"] is None:
            lines.append(f"{task}: no improver returned a solution that was scored; {seed} test")
            continue
        best = "best solution"
        if s["seed_val"] is not None and s["best_val"] < s["seed_val"]:
            best = "the improvers' best solution, below the seed solution on val,"
        lines.append(
            f"{task}: {best} {_score(s['best_test'])} test, {seed} "
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
