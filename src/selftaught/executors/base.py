"""What every executor shares: the interface, the error, and importing Ray."""

from __future__ import annotations

from typing import Any, Protocol

from selftaught.sandbox import Sandbox

INSTALL_RAY = "the Ray executor needs Ray: pip install 'selftaught[ray]'"


class ExecutorError(Exception):
    """The executor cannot run (Ray missing, no cluster, no node left); one line saying why."""


class Executor(Sandbox, Protocol):
    kind: str

    def describe(self) -> dict[str, Any]:
        """Where executions ran: {"kind", "nodes", ...}, JSON data."""
        ...


def import_ray() -> Any:
    """The `ray` module; ExecutorError (one line: how to install it) if it is missing."""
    try:
        import ray
    except ImportError:
        raise ExecutorError(INSTALL_RAY) from None
    return ray
