"""Where solution executions run: the executor seam between the host and the sandbox.

An executor is an `api.Sandbox` (the utility and the improvers see nothing else) that also says
where it runs (`describe()`, the run's `--json` "executor") and which node each execution ran
on (`SolutionRun.node`, recorded per evaluation). Two kinds:

- "local" (default): the warm zygote pool of this machine (`sandbox.open_sandbox`).
- "ray": a Ray cluster (`ray_cluster.RayExecutor`): one actor per node with CPUs, each holding
  its own warm zygote with the same confinement layers; jobs and outcomes travel as JSON text.
  Improver children stay here, on the driver, beside the model broker, the budgets, the scorer
  and the run store, which never leave the host.

This package imports only `sandbox` (and Ray, lazily): a node needs selftaught's sandbox and
nothing of the host.
"""

from __future__ import annotations

import os

from selftaught.executors.base import INSTALL_RAY, Executor, ExecutorError, import_ray

KINDS = ("local", "ray")


def open_executor(
    kind: str = "local", *, address: str | None = None, sandbox: str = "auto"
) -> Executor:
    """A ready executor of `kind`; `address`: the Ray cluster's (else $RAY_ADDRESS)."""
    if kind == "local":
        from selftaught.executors.local import LocalExecutor

        return LocalExecutor(sandbox)
    if kind == "ray":
        from selftaught.executors.ray_cluster import RayExecutor

        return RayExecutor(ray_address(address), sandbox)
    raise ExecutorError(f"unknown executor {kind!r}; use one of: {', '.join(KINDS)}")


def ray_address(given: str | None) -> str:
    """The cluster to join: the one given, else $RAY_ADDRESS; ExecutorError if neither."""
    address = given or os.environ.get("RAY_ADDRESS")
    if not address:
        raise ExecutorError(
            "--executor ray needs a cluster: give --ray-address HOST:PORT or set RAY_ADDRESS"
        )
    return address


__all__ = ["INSTALL_RAY", "KINDS", "Executor", "ExecutorError", "import_ray", "open_executor"]
