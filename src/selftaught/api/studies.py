"""`selftaught.transfer` and `selftaught.compare`: fixed improvers measured on tasks, recorded
in a run directory as `selftaught transfer` and `selftaught compare` record them (re-run in the
same directory, finished work is read back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selftaught.api.arguments import at_least, checked
from selftaught.api.errors import user_errors
from selftaught.api.objects import model_spec, task_spec
from selftaught.api.records import Comparison, Transfer
from selftaught.api.running import PathLike, drive, model_pairs, path_text


@checked
def transfer(
    improver: PathLike,
    tasks: Any = None,
    *,
    repeats: int | None = None,
    preset: str | None = None,
    model: Any = None,
    base_url: str | None = None,
    seed: int | None = None,
    secret_seeds: bool = False,
    concurrency: int | None = None,
    executor: str | None = None,
    ray_address: str | None = None,
    model_option: list[str] | dict[str, Any] | None = None,
    run_dir: PathLike | None = None,
    config: PathLike | None = None,
    progress: bool = False,
) -> Transfer:
    """u(s), ū(I0) and ū(I) per task on the test split, as `selftaught transfer`. `improver`:
    a built-in name, a .py file, or a run (directory or `Run`) whose last improver is used;
    `tasks`: as `run`'s `task` (default: the paper's transfer tasks)."""
    from selftaught import improvers
    from selftaught.cli.common import run_config, where_given
    from selftaught.cli.studies import TRANSFER_TASKS, _side_session
    from selftaught.transfer import transfer as transfer_rows

    with user_errors():
        settings = run_config(
            _path(config), preset, defaults={"task": TRANSFER_TASKS, "repetitions": 5},
            iterations=0, task=task_spec(tasks), repetitions=repeats, model=model_spec(model),
            base_url=base_url, seed=seed, concurrency=concurrency,
            model_options=model_pairs(model_option), secret_seeds=secret_seeds or None,
            **where_given(executor, ray_address),
        )  # fmt: skip
        source = improvers.load_improver(path_text(improver))
        session = _side_session("transfer", _path(run_dir), source, settings)
    rows = drive(session, lambda: transfer_rows(session), _again(session), progress)
    return Transfer(session.run_dir, tuple(rows))


@checked
def compare(
    improvers: list[PathLike],
    tasks: Any = None,
    *,
    repeats: int = 1,
    preset: str | None = None,
    repetitions: int | None = None,
    max_tokens: int | None = None,
    model: Any = None,
    base_url: str | None = None,
    seed: int | None = None,
    secret_seeds: bool = False,
    concurrency: int | None = None,
    executor: str | None = None,
    ray_address: str | None = None,
    model_option: list[str] | dict[str, Any] | None = None,
    run_dir: PathLike | None = None,
    config: PathLike | None = None,
    progress: bool = False,
) -> Comparison:
    """Each improver under identical budgets and seeds, as `selftaught compare`: mean test
    meta-utility with a 95% interval, cost, and a paired sign test against the seed improver.
    `improvers`: built-in names, .py files or runs."""
    from selftaught.cli.common import run_config, where_given
    from selftaught.cli.studies import _show, _side_session
    from selftaught.compare import compare_in_session, improvers_listing, summarize

    at_least("compare", "repeats", repeats, 1)
    names = [str(path_text(one)) for one in improvers]
    with user_errors():
        settings = run_config(
            _path(config), preset, iterations=0, task=task_spec(tasks), model=model_spec(model),
            base_url=base_url, seed=seed, repetitions=repetitions, max_tokens=max_tokens,
            concurrency=concurrency, model_options=model_pairs(model_option),
            secret_seeds=secret_seeds or None, **where_given(executor, ray_address),
        )  # fmt: skip
        session = _side_session("compare", _path(run_dir), improvers_listing(names), settings)
    work = lambda: compare_in_session(session, names, repeats, _show(session))  # noqa: E731
    rows = drive(session, work, _again(session), progress)
    results = tuple(summarize(rows))
    return Comparison(session.run_dir, results)


def _path(value: PathLike | None) -> Path | None:
    return None if value is None else Path(value)


def _again(session: Any) -> str:
    return f"the same call with run_dir={str(session.run_dir)!r}"
