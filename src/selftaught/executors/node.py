"""What runs on each Ray node: one `NodeWorker` actor holding the node's own warm zygote.

The actor is trusted code (selftaught, installed on the node); the untrusted solution runs in
a child of the node's zygote, confined by the same layers as on the driver's machine
(`sandbox.open_sandbox` picks what the node's kernel allows, and `describe` says which). Jobs
come in and outcomes go out as JSON text (`wire`), so the driver never unpickles anything a
node computed. The actor is threaded (Ray's `max_concurrency`): as many executions at once as
the node has CPUs, each in its own child.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version

from selftaught.executors import wire
from selftaught.sandbox import open_sandbox


class NodeWorker:
    def __init__(self, sandbox: str = "auto"):
        self.mode = sandbox
        self.sandbox = open_sandbox(sandbox)

    def describe(self) -> str:
        """The node as JSON: its confinement layers (and why any is missing), its version."""
        return json.dumps(
            {
                "hostname": platform.node(), "pid": os.getpid(), "cpus": os.cpu_count(),
                "python": sys.version.split()[0], "version": version(),
                "layers": list(self.sandbox.layers), "why": dict(getattr(self.sandbox, "why", {})),
            }
        )  # fmt: skip

    def run_solution(self, job: str) -> str:
        return wire.run_job(self.sandbox, job)

    def doctor(self) -> str:
        """`selftaught doctor`'s sandbox report, made on this node, as JSON."""
        from selftaught.sandbox import doctor_report

        return json.dumps(doctor_report())

    def ping(self) -> str:
        return "pong"

    def close(self) -> None:
        self.sandbox.close()


def version() -> str:
    """The installed selftaught's version ("unknown" when run from a bare checkout)."""
    try:
        return _distribution_version("selftaught")
    except PackageNotFoundError:
        return "unknown"
