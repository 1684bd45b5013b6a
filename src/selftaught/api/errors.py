"""The one exception the Python API raises for bad input, with the command line's message."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class SelftaughtError(Exception):
    """Bad input (a task, model, improver, option value or run directory): one line saying
    what is wrong and how to fix it, the same line the `selftaught` command prints."""


class CapReached(SelftaughtError):
    """A run-wide cap (max_lm_calls, max_dollars, ...) stopped the run. Everything done is
    recorded: continue with `selftaught.resume(run_dir, max_dollars=...)` under a larger cap."""


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """The internals' one-line user errors become `SelftaughtError` (the CLI's exit code 2)."""
    from selftaught.launch.errors import USER_ERRORS

    try:
        yield
    except USER_ERRORS as exc:
        raise SelftaughtError(str(exc)) from None
