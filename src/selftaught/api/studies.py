"""`selftaught.transfer` and `selftaught.compare`: fixed improvers measured on tasks, recorded
in a run directory as `selftaught transfer` and `selftaught compare` record them (re-run in the
same directory, finished work is read back)."""

from __future__ import annotations

from typing import Any

from selftaught.api.arguments import at_least, checked
from selftaught.api.errors import user_errors
from selftaught.api.keywords import command_values, keywords, path_text
from selftaught.api.records import Comparison, Transfer
from selftaught.api.running import drive
from selftaught.launch.options import Given
from selftaught.records import CompareRow


@checked
@keywords("transfer")
def transfer(given: Given) -> Transfer:
    """u(s), ū(I0) and ū(I) per task on the test split, as `selftaught transfer`. `improver`:
    a built-in name, a .py file, or a run (directory or `Run`) whose last improver is used;
    `tasks`: as `run`'s `task` (default: the paper's transfer tasks)."""
    from selftaught import improvers
    from selftaught.launch.sessions import side_session
    from selftaught.launch.settings import transfer_settings
    from selftaught.transfer import transfer as transfer_rows

    values = command_values("transfer", given)
    with user_errors():
        settings = transfer_settings(values)
        source = improvers.load_improver(values.improver)
        session = side_session("transfer", values.run_dir, source, settings)
    rows = drive(session, lambda: transfer_rows(session), _again(session), given.progress)
    return Transfer(session.run_dir, tuple(rows))


@checked
@keywords("compare")
def compare(given: Given) -> Comparison:
    """Each improver under identical budgets and seeds, as `selftaught compare`: mean test
    meta-utility with a 95% interval, cost, and a paired sign test against the seed improver.
    `improvers`: built-in names, .py files or runs."""
    from selftaught.compare import compare_in_session, improvers_listing, summarize
    from selftaught.launch.sessions import show_phase, side_session
    from selftaught.launch.settings import compare_settings

    at_least("compare", "repeats", given.repeats, 1)
    names = [str(path_text(one)) for one in given.improvers]
    values = command_values("compare", given)
    with user_errors():
        settings = compare_settings(values)
        session = side_session("compare", values.run_dir, improvers_listing(names), settings)

    def work() -> list[CompareRow]:
        return compare_in_session(session, names, given.repeats, show_phase(session))

    rows = drive(session, work, _again(session), given.progress)
    results = tuple(summarize(rows))
    return Comparison(session.run_dir, results)


def _again(session: Any) -> str:
    return f"the same call with run_dir={str(session.run_dir)!r}"
