"""selftaught: STOP, the Self-Taught Optimizer.

The Python API (docs/api.md) is importable from here: `selftaught.run`, `resume`, `transfer`,
`compare`, `evaluate`, `Run`, `Task`, the records and `SelftaughtError`. It is loaded on first
use, so that `import selftaught` stays cheap (no model SDK, no numpy) for the sandbox's
processes and for the command line.
"""

from __future__ import annotations

import sys
import types

__version__ = "0.1.0"

__all__ = [
    "CapReached",
    "Comparison",
    "Evaluation",
    "ImproverResult",
    "Instance",
    "InstanceOutcome",
    "Iteration",
    "Offender",
    "Run",
    "Safety",
    "SelftaughtError",
    "SolutionScores",
    "Split",
    "Task",
    "Transfer",
    "TransferRow",
    "__version__",
    "compare",
    "evaluate",
    "resume",
    "run",
    "transfer",
]


class _Package(types.ModuleType):
    """`selftaught`, whose public names stay the API's: `compare` and `transfer` are also
    submodules, and importing a submodule binds it on its package, over the function (a
    second `selftaught.compare(...)` was "'module' object is not callable"). Internal code
    reaches those modules by `from selftaught.compare import ...`, which this leaves alone."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in __all__ and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> object:
    if name in __all__:
        from selftaught import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'selftaught' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
