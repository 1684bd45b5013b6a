"""The Ray executor: solution executions on the nodes of a Ray cluster, improvers here.

Joining: one `node.NodeWorker` actor per live node that has CPUs, pinned to it (node affinity,
not soft), reserving the node's CPUs and running as many executions at once as it has; each
holds the node's own warm zygote. A node without CPUs (a head started with --num-cpus=0) gets
no executions; a node whose sandbox lacks a confinement layer the driver's has (`selftaught
doctor --executor ray` says why) gets none either, so that a weaker node never runs a solution
the driver's machine would have confined more; a node with another selftaught version stops
the run (its records could differ).

Placement: each execution goes to the node with the most free CPUs relative to its size (ties:
the one that has run the fewest), and waits when every CPU is busy, so that no node runs more
executions than it has CPUs.

Loss: an execution whose node or actor is lost (Ray raises, or it overruns its wall-clock limit
by more than `CALL_GRACE` seconds) is run again on another node; the node is dropped for the
rest of the run, and nodes that joined the cluster since are taken on. The evaluation is
recorded by the host once, from the run that finished, so nothing is lost or counted twice.
With no node left (after waiting `NO_NODE_SECONDS` for one to join) the run stops with an
`ExecutorError`; `selftaught resume` continues it.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from selftaught.executors import wire
from selftaught.executors.base import ExecutorError, import_ray
from selftaught.executors.node import NodeWorker, version
from selftaught.sandbox import Handler, HandleSpec, ImproverRun, Limits, SolutionRun, open_sandbox

READY_SECONDS = 120.0  # for a node's actor to be placed and its zygote to start
CALL_GRACE = 60.0  # beyond an execution's own wall-clock limit, before its node counts as lost
NO_NODE_SECONDS = 30.0  # waiting for a node to join when every node was lost
DOCTOR_SECONDS = 300.0
CONNECT_SECONDS = 10.0  # for the head's port to answer at all


@dataclass
class _Node:
    node_id: str
    name: str
    slots: int  # the node's CPUs: executions at once
    actor: Any
    info: dict[str, Any] = field(default_factory=dict)
    busy: int = 0
    runs: int = 0


class RayExecutor:
    """`api.Sandbox` whose solution runs go to a Ray cluster's nodes (see the module doc)."""

    kind = "ray"

    def __init__(self, address: str, sandbox: str = "auto"):
        self.ray = import_ray()
        self.address = address
        self.mode = sandbox
        self.owns_connection = _connect(self.ray, address)
        self.local = open_sandbox(sandbox)  # improver children stay on the driver
        self.layers = self.local.layers
        self.cond = threading.Condition()
        self.joining = threading.Lock()
        self.nodes: dict[str, _Node] = {}
        self.joined: dict[str, _Node] = {}  # every node ever used, by id (lost ones included)
        self.lost: dict[str, str] = {}  # node name -> why
        self.retried = 0
        try:
            self._join_new_nodes()
            if not self.nodes:
                why = "".join(f"; {name} {reason}" for name, reason in self.lost.items())
                raise ExecutorError(f"the Ray cluster at {address} has no node to run on{why}")
        except BaseException:
            self.close()
            raise

    # --------------------------------------------------------------------------- nodes
    def _join_new_nodes(self) -> None:
        """An actor on every live node with CPUs that has none yet; waits until each is ready."""
        with self.joining:  # executions that lose a node at once take on a new one once
            for node in self._place_actors():
                self._start(node)

    def _place_actors(self) -> list[_Node]:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        remote = self.ray.remote(NodeWorker)
        fresh = []
        for info in self.ray.nodes():
            node_id, cpus = info.get("NodeID"), int(info.get("Resources", {}).get("CPU", 0))
            if not info.get("Alive") or cpus < 1 or node_id in self.joined:
                continue
            actor = remote.options(
                num_cpus=cpus,
                max_concurrency=cpus + 1,  # + 1: describe and doctor are not queued behind work
                max_restarts=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
            ).remote(self.mode)
            name = f"{info.get('NodeManagerAddress', '?')}/{node_id[:8]}"
            fresh.append(_Node(node_id, name, cpus, actor))
            self.joined[node_id] = fresh[-1]
        return fresh

    def _start(self, node: _Node) -> None:
        """Wait for `node`'s actor (its zygote started); then executions may go to it."""
        try:
            info = json.loads(self.ray.get(node.actor.describe.remote(), timeout=READY_SECONDS))
        except Exception as exc:  # noqa: BLE001 - any failure of Ray's is this node's loss
            self._drop(node, f"did not start: {_why(exc)}")
            return
        if info.get("version") != version():
            self._drop(node, f"runs selftaught {info.get('version')}, not {version()}")
            raise ExecutorError(
                f"Ray node {node.name} runs selftaught {info.get('version')} and this "
                f"driver {version()}: install the same selftaught on every node"
            )
        missing = [name for name in self.layers if name not in info.get("layers", [])]
        if [name for name in missing if name != "zygote"]:  # the zygote is speed, not a layer
            self._drop(node, f"lacks the confinement layers {', '.join(missing)} of the driver")
            return
        with self.cond:
            node.info = info
            self.nodes[node.node_id] = node
            self.cond.notify_all()

    def _drop(self, node: _Node, why: str) -> None:
        with self.cond:
            self.nodes.pop(node.node_id, None)
            self.lost.setdefault(node.name, why)  # the first reason: later ones follow from it
            self.cond.notify_all()
        try:
            self.ray.kill(node.actor, no_restart=True)
        except Exception:  # noqa: BLE001, S110 - already gone is what we want
            pass

    def _take(self) -> _Node:
        """The node for the next execution; waits while every CPU is busy."""
        deadline = None
        with self.cond:
            while True:
                free = [n for n in self.nodes.values() if n.busy < n.slots]
                if free:
                    node = min(free, key=lambda n: (n.busy / n.slots, n.runs / n.slots, n.name))
                    node.busy += 1
                    node.runs += 1
                    return node
                if self.nodes:
                    self.cond.wait()
                    continue
                deadline = deadline or time.monotonic() + NO_NODE_SECONDS
                if time.monotonic() > deadline:
                    lost = "; ".join(f"{k}: {v}" for k, v in self.lost.items())
                    raise ExecutorError(
                        f"no Ray node left to run on ({lost}); start nodes, then resume the run"
                    )
                self.cond.release()
                try:
                    time.sleep(1.0)
                    self._join_new_nodes()
                finally:
                    self.cond.acquire()

    def _give_back(self, node: _Node) -> None:
        with self.cond:
            node.busy -= 1
            self.cond.notify_all()

    # ----------------------------------------------------------------------- executions
    def run_solution(
        self, source: str, entry: str, inputs: list[list[Any]], **options: Any
    ) -> SolutionRun:
        """`api.Sandbox.run_solution` (the same keyword options), on a node of the cluster;
        again on another if that node is lost."""
        job = wire.solution_job(source, entry, inputs, **options)
        while True:
            node = self._take()
            try:
                reply = self._call(node, job, options["limits"].wall_seconds + CALL_GRACE)
            finally:
                self._give_back(node)
            if reply is None:  # the node was lost under it: again, elsewhere
                with self.cond:
                    self.retried += 1
                continue
            run = wire.solution_run(reply, len(inputs))
            run.node = node.name
            return run

    def _call(self, node: _Node, job: str, timeout: float) -> str | None:
        """The node's reply, or None when the node or its actor was lost (then dropped)."""
        try:
            return self.ray.get(node.actor.run_solution.remote(job), timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - RayActorError, GetTimeoutError, a dead node...
            if not isinstance(exc, self.ray.exceptions.RayError):
                raise
            self._drop(node, _why(exc))
            self._join_new_nodes()  # a node that joined since takes its place
            return None

    def run_improver(
        self, source: str, spec: HandleSpec, handler: Handler, *, seed: int, limits: Limits
    ) -> ImproverRun:
        return self.local.run_improver(source, spec, handler, seed=seed, limits=limits)

    # ---------------------------------------------------------------------- reporting
    def describe(self) -> dict[str, Any]:
        with self.cond:
            joined = list(self.joined.values())
            return {
                "kind": self.kind,
                "nodes": len([n for n in joined if n.info]),
                "address": self.address,
                "cpus": sum(n.slots for n in joined if n.info),
                "sandbox": self.mode,
                "layers": {n.name: n.info.get("layers", []) for n in joined if n.info},
                "executions": {n.name: n.runs for n in joined if n.info},
                "lost": dict(self.lost),
                "retried": self.retried,
            }

    def doctor(self) -> dict[str, Any]:
        """`selftaught doctor`'s sandbox report from every node, by node name."""
        with self.cond:
            nodes = list(self.nodes.values())
        refs = {n.name: n.actor.doctor.remote() for n in nodes}
        report = {}
        for name, ref in refs.items():
            try:
                report[name] = json.loads(self.ray.get(ref, timeout=DOCTOR_SECONDS))
            except Exception as exc:  # noqa: BLE001 - a node that fails says so
                report[name] = {"zygote": {"ok": False, "why": _why(exc)}}
        return report

    def close(self) -> None:
        for node in list(self.joined.values()):
            try:
                self.ray.get(node.actor.close.remote(), timeout=10)
            except Exception:  # noqa: BLE001, S110 - a lost node has nothing to close
                pass
            try:
                self.ray.kill(node.actor, no_restart=True)
            except Exception:  # noqa: BLE001, S110
                pass
        self.local.close()
        if self.owns_connection:
            self.ray.shutdown()

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _connect(ray: Any, address: str) -> bool:
    """Join the cluster (True) unless this process already has (False)."""
    if ray.is_initialized():
        return False
    _reachable(address)
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    except Exception as exc:  # noqa: BLE001 - Ray raises many kinds for an unreachable cluster
        raise ExecutorError(f"cannot join the Ray cluster at {address}: {_why(exc)}") from None
    return True


def _reachable(address: str) -> None:
    """A HOST:PORT that nothing answers on is one line now: Ray would retry for minutes."""
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        return  # "auto", ray://...: Ray's own to find
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        raise ExecutorError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); is its head "
            f"running (`ray start --head --port={port}`)?"
        ) from None


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
