"""The local executor: this machine's warm zygote pool, as `sandbox.open_sandbox` gives it."""

from __future__ import annotations

import os
import threading
from typing import Any

from selftaught.sandbox import Handler, HandleSpec, ImproverRun, Limits, SolutionRun, open_sandbox

NODE = "local"  # the node every local execution records


class LocalExecutor:
    """`api.Sandbox` over one local sandbox; every execution's node is "local"."""

    kind = "local"

    def __init__(self, sandbox: str = "auto"):
        self.mode = sandbox
        self.sandbox = open_sandbox(sandbox)
        self.layers = self.sandbox.layers
        self.executions = 0
        self._lock = threading.Lock()

    def run_solution(
        self, source: str, entry: str, inputs: list[list[Any]], **options: Any
    ) -> SolutionRun:
        """`api.Sandbox.run_solution` (the same keyword options), on this machine."""
        run = self.sandbox.run_solution(source, entry, inputs, **options)
        run.node = NODE
        with self._lock:
            self.executions += 1
        return run

    def run_improver(
        self, source: str, spec: HandleSpec, handler: Handler, *, seed: int, limits: Limits
    ) -> ImproverRun:
        return self.sandbox.run_improver(source, spec, handler, seed=seed, limits=limits)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "nodes": 1, "cpus": os.cpu_count(), "sandbox": self.mode,
            "layers": list(self.layers), "executions": {NODE: self.executions},
        }  # fmt: skip

    def close(self) -> None:
        self.sandbox.close()

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
