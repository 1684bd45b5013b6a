"""The `selftaught` command.

Bad input (an unknown task, a malformed model spec, an improver file that does not parse, a
missing run directory) is one line on stderr and exit code 2, never a traceback. One module per
family of commands; importing them registers their commands on `app`.
"""

from __future__ import annotations

import importlib
import os
import sys

from selftaught.cli.common import app

# Each registers its commands, in order.
for _family in ("run", "studies", "probe", "records", "catalog", "serve"):
    importlib.import_module(f"selftaught.cli.{_family}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        _leave(130)
    except SystemExit as exit:
        if exit.code == 130:
            _leave(130)
        raise


def _leave(code: int) -> None:
    """Exit at once after Ctrl-C. The session is closed and everything recorded is committed;
    concurrent improver invocations may still wait on a model server, and a normal exit would
    join their threads (up to the request timeout)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
