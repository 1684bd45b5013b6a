"""The `selftaught` command.

Bad input (an unknown task, a malformed model spec, an improver file that does not parse, a
missing run directory) is one line on stderr and exit code 2, never a traceback. One module per
family of commands; importing them registers their commands on `app`.
"""

from __future__ import annotations

import importlib
import sys

from selftaught.cli.common import app

for _family in ("run", "studies", "records", "catalog"):  # each registers its commands, in order
    importlib.import_module(f"selftaught.cli.{_family}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
