"""A real Ray cluster on loopback, for the cluster executor's tests and benchmark.

`LoopbackCluster()` starts a head node (`ray start --head`) on 127.0.0.1 with its own temp dir,
and `add_node()` joins more nodes to it (`ray start --address`), each a separate raylet with
`--num-cpus` CPUs. Every node is started in a session of its own (Ray gives its workers process
groups of their own, but they stay in the session), so that `kill_node` takes one node down
with SIGKILL (its raylet, its workers), and `stop` ends this cluster's processes only, never
another Ray on the machine. Nodes import the selftaught under test
(PYTHONPATH), whatever the venv's editable install points at.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import selftaught

SRC = str(Path(selftaught.__file__).resolve().parent.parent)
RAY = str(Path(sys.executable).parent / "ray")
# The GCS declares a node dead after this many missed health checks this far apart (Ray's
# defaults take about 30 s; a test waits for it).
FAST_DEATH = {
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "500",
    "RAY_health_check_failure_threshold": "3",
}


def free_port() -> int:
    """A port the kernel hands out now: always inside its ephemeral range."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WORKER_PORTS = 201


def worker_port_base(taken: set[int]) -> int:
    """The first of WORKER_PORTS free ports below the kernel's ephemeral range. Ray refuses to
    start when a port it was given falls in the worker range (CI once drew a dashboard port
    inside `free_port() + 1000 ..`); below the ephemeral range, no `free_port()` and none of the
    ports Ray draws itself can land there. `taken` keeps two nodes' ranges apart."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(100):
        base = random.randrange(10_000, low - WORKER_PORTS)
        ports = range(base, base + WORKER_PORTS)
        if taken.isdisjoint(ports) and all(_bindable(port) for port in ports):
            taken.update(ports)
            return base
    raise RuntimeError(f"no {WORKER_PORTS} free ports between 10000 and {low}")


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class LoopbackCluster:
    def __init__(self, cpus: int = 1):
        self.temp_dir = tempfile.mkdtemp(prefix="st-ray-", dir="/tmp")  # sockets: short paths
        self.ports: set[int] = set()  # every port given to this cluster's nodes so far
        self.port = self._free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.sessions: list[int] = []  # the session of each node's processes, head first
        self.env = {
            **os.environ, **FAST_DEATH, "RAY_USAGE_STATS_ENABLED": "0",
            "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]).rstrip(":"),
        }  # fmt: skip
        self.env.pop("RAY_ADDRESS", None)
        try:
            head = ["--head", f"--port={self.port}", f"--temp-dir={self.temp_dir}"]
            dashboard = ["--include-dashboard=false", f"--dashboard-port={self._free_port()}"]
            self._start([*head, *dashboard], cpus)
        except BaseException:
            self.stop()
            raise

    def add_node(self, cpus: int = 1) -> int:
        """Join one more node (`ray start` returns once its raylet is registered with the
        head); its index, for `kill_node`."""
        self._start([f"--address={self.address}"], cpus)
        return len(self.sessions) - 1

    def _start(self, args: list[str], cpus: int) -> None:
        low = worker_port_base(self.ports)
        high = low + WORKER_PORTS - 1
        cmd = [RAY, "start", *args, "--node-ip-address=127.0.0.1", f"--num-cpus={cpus}",
               "--disable-usage-stats", f"--dashboard-agent-listen-port={self._free_port()}",
               f"--metrics-export-port={self._free_port()}",
               f"--min-worker-port={low}", f"--max-worker-port={high}"]  # fmt: skip
        proc = subprocess.Popen(
            cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, text=True,
        )  # fmt: skip
        self.sessions.append(proc.pid)  # the session its processes stay in
        out, _ = proc.communicate(timeout=180)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start failed: {out[-2000:]}")

    def _free_port(self) -> int:
        """A free port not yet given to this cluster (the kernel may hand one out twice)."""
        while (port := free_port()) in self.ports:
            pass
        self.ports.add(port)
        return port

    def kill_node(self, index: int) -> None:
        """SIGKILL every process of node `index` (its raylet and workers)."""
        _kill_session(self.sessions[index], signal.SIGKILL)

    def stop(self) -> None:
        """End this cluster's nodes (workers first, then the head) and remove its temp dir."""
        for session in reversed(self.sessions):
            _kill_session(session, signal.SIGTERM)
        time.sleep(1.0)
        for session in reversed(self.sessions):
            _kill_session(session, signal.SIGKILL)
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> LoopbackCluster:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _kill_session(session: int, sig: int) -> None:
    """Signal every process whose session is `session`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # pid (comm) state ppid pgrp session ...: comm may hold spaces, so split after it.
            if int(stat.rpartition(")")[2].split()[3]) == session:
                os.kill(int(entry.name), sig)
        except (OSError, ValueError, IndexError):
            pass
