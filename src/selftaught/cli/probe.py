"""`selftaught probe`: how ready a model is for STOP (selftaught/probe.py), in minutes."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from selftaught.cli.common import again_command, app, drive, stderr, stdout, user_errors
from selftaught.cli.options import options
from selftaught.improvers import builtin_source
from selftaught.launch.options import PROBE, Given
from selftaught.launch.sessions import show_phase, side_session
from selftaught.launch.settings import configure
from selftaught.session import RunSession

JSON_KEYS = ("model", "solution", "meta", "estimate")  # the last stdout line, exactly
TRIAL_SECONDS = 30.0  # a scripted trial is a handful of calls; a model's endless loop ends here


@app.command("probe")
@options(PROBE)
def probe_command(given: Given) -> None:
    """Rates with 95% intervals at the solution and meta levels, and what a full run would cost."""
    from selftaught.probe import DEFAULT_TASKS, PROBE_KEY

    with user_errors():
        config = configure(PROBE, given, iterations=0, task=given.tasks or DEFAULT_TASKS)
        session = side_session("probe", given.run_dir, builtin_source("seed"), config)
        run_dir = session.run_dir

    def work() -> dict[str, Any]:
        result = {**_probe(session, given.samples), "model": config.model}
        session.store.set_meta(PROBE_KEY, result)
        session.store.set_meta("finished", True)
        return result

    result = drive(session, work, again_command(session))
    console = stderr if given.as_json else stdout
    console.print(*tables(result))
    console.print(f"recorded in {run_dir}; `selftaught report {run_dir}` shows it")
    if given.as_json:
        print(json.dumps({key: result[key] for key in JSON_KEYS}), flush=True)


def _probe(session: RunSession, samples: int) -> dict[str, Any]:
    from selftaught.probe import PROBE_KEY, Probe
    from selftaught.probe_trials import Trials
    from selftaught.sandbox import Limits

    config = session.config
    limits = Limits(
        wall_seconds=TRIAL_SECONDS,
        cpu_seconds=TRIAL_SECONDS,
        memory_mb=config.limits.improver_memory_mb,
    )

    probe = Probe(
        session.language_model,
        session.evaluators,
        session.meta_utility().description(),
        Trials(config.budgets, session.sandbox, session.recorder, limits),
        samples=samples,
        temperature=config.budgets.temperature,
        progress=show_phase(session),
    )
    return probe.run(session.store.get_meta(PROBE_KEY))


def _rate(r: dict[str, Any]) -> str:
    return f"{100 * r['rate']:.0f}% [{100 * r['low']:.0f}, {100 * r['high']:.0f}] of {r['n']}"


def tables(result: dict[str, Any]) -> list[Table]:
    """The console's tables: both levels' rates and the cost of a full run."""
    from selftaught.probe import META_RATES, SOLUTION_RATES

    model = result["model"]
    solution = Table("task", *SOLUTION_RATES, "mean gain", title=f"{model}: solution level")
    for task, rates in result["solution"].items():
        cells = [_rate(rates[key]) for key in SOLUTION_RATES]
        solution.add_row(task, *cells, f"{rates['mean_gain']:+.3f}")
    meta = Table("", "rate [95% CI]", title=f"{model}: meta level (STOP's t = 1 prompt)")
    for key in META_RATES:
        meta.add_row(key, _rate(result["meta"][key]))
    strategies = result["meta"].get("strategies") or {}
    meta.add_row("strategies", ", ".join(f"{k}: {v}" for k, v in strategies.items()) or "-")
    cost = Table(
        "preset", "LM calls", "samples", "tokens", "dollars", "hours", "tokens/s",
        title="a full run on one task (budgets' upper bound)",
    )  # fmt: skip
    for name, row in result["estimate"].items():
        dollars = "-" if row["dollars"] is None else f"{row['dollars']:.2f}"
        hours = "-" if row["hours"] is None else f"{row['hours']:.1f}"
        speed = "-" if row["tokens_per_second"] is None else f"{row['tokens_per_second']:.1f}"
        cost.add_row(
            name, str(row["lm_calls"]), str(row["samples"]), str(row["tokens"]), dollars, hours,
            speed,
        )  # fmt: skip
    return [solution, meta, cost]
