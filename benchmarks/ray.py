"""Solution executions per second on the local zygote pool and on a Ray cluster of 1 and 2
nodes on this machine, and what Ray adds to one execution; prints one JSON object.

    .venv/bin/python benchmarks/ray.py [--seconds S] [--rounds N] [--out FILE]

The cluster is real and on loopback (tests/models/loopback_ray.py): a head node, then a second
node joined to it, one CPU each, so both share this machine's cores with the driver. Two
workloads: `trivial` (x * 2, one instance: the cost of an execution itself) and `cpu` (four
instances burning 50 ms of CPU each: work that a cluster can spread). Throughput is back to
back, with as many driver threads as the executor has CPUs (and, for the local pool, 1 and 2
threads); latency is paced (`--pause-ms` between executions) and sequential, alternating the
local pool and Ray, and Ray's per-execution overhead is the median of the paired differences.
`actor_round_trip_ms` is a no-op actor call, Ray's own floor. Figures are for this machine
only; docs/cluster.md says what they mean at scale.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

# This file is named ray.py: its directory, first on the path of `python benchmarks/ray.py`,
# must not shadow the `ray` package.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent / "tests" / "models"))

from loopback_ray import LoopbackCluster  # noqa: E402

from selftaught.executors.local import LocalExecutor  # noqa: E402
from selftaught.executors.ray_cluster import RayExecutor  # noqa: E402
from selftaught.sandbox import Limits  # noqa: E402
from selftaught.sandbox.doctor import machine  # noqa: E402

BURN = """import time


def algorithm(x):
    end = time.process_time() + 0.05
    while time.process_time() < end:
        pass
    return x
"""
WORKLOADS = {
    "trivial": ("def algorithm(x):\n    return x * 2\n", [[21]]),
    "cpu": (BURN, [[1], [2], [3], [4]]),
}
LIMITS = Limits(wall_seconds=60, cpu_seconds=20, memory_mb=512)


def execute(executor: Any, workload: str) -> None:
    source, inputs = WORKLOADS[workload]
    run = executor.run_solution(
        source, "algorithm", inputs, instance_seconds=5, seed=0, array_args=False, limits=LIMITS
    )
    assert all(o.status == "ok" for o in run.outcomes), run.outcomes


def rate(executor: Any, workload: str, threads: int, seconds: float) -> float:
    """Executions per second, back to back, from `threads` driver threads."""
    count = [0] * threads
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        while time.perf_counter() < stop:
            execute(executor, workload)
            count[i] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return round(sum(count) / (time.perf_counter() - started), 2)


def paired_latency(
    local: Any, ray: RayExecutor, workload: str, rounds: int, pause: float
) -> dict[str, Any]:
    """Sequential, paced executions on the local pool and on Ray, alternated (so that a change
    in the machine's load hits both alike); Ray's overhead is the median paired difference."""
    for executor in (local, ray):
        execute(executor, workload)  # warm: the pools of children are filled
    times: dict[str, list[float]] = {"local_pool": [], "ray": []}
    for r in range(rounds):
        order = [("local_pool", local), ("ray", ray)]
        for name, executor in order if r % 2 == 0 else reversed(order):
            start = time.perf_counter()
            execute(executor, workload)
            times[name].append((time.perf_counter() - start) * 1000)
            time.sleep(pause)
    pairs = [b - a for a, b in zip(times["local_pool"], times["ray"], strict=True)]
    return {
        "latency": {name: summary(values) for name, values in times.items()},
        "ray_overhead_ms": round(statistics.median(pairs), 3),
    }


def summary(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "median_ms": round(statistics.median(times), 3),
        "p90_ms": round(times[max(0, math.ceil(0.9 * len(times)) - 1)], 3),
        "runs": len(times),
    }


def actor_round_trip(executor: RayExecutor, rounds: int) -> float:
    node = next(iter(executor.nodes.values()))
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        executor.ray.get(node.actor.ping.remote())
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 3)


def rates(executor: Any, threads: list[int], seconds: float) -> dict[str, Any]:
    return {
        workload: {f"{n}_threads": rate(executor, workload, n, seconds) for n in threads}
        for workload in WORKLOADS
    }


def ray_figures(cluster: LoopbackCluster, local: Any, args: argparse.Namespace) -> dict[str, Any]:
    with RayExecutor(cluster.address) as executor:
        slots = sum(node.slots for node in executor.nodes.values())
        pause = args.pause_ms / 1000
        return {
            "executions_per_s": rates(executor, [slots], args.seconds),
            "paced": {w: paired_latency(local, executor, w, args.rounds, pause) for w in WORKLOADS},
            "actor_round_trip_ms": actor_round_trip(executor, args.rounds),
            "executor": executor.describe(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per throughput figure")
    parser.add_argument("--rounds", type=int, default=40, help="latency samples per executor")
    parser.add_argument("--pause-ms", type=float, default=20, help="idle time between runs")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    load_at_start = os.getloadavg()
    with LocalExecutor() as local, LoopbackCluster(cpus=1) as cluster:
        local_rates = rates(local, [1, 2], args.seconds)
        one = ray_figures(cluster, local, args)
        cluster.add_node(cpus=1)
        two = ray_figures(cluster, local, args)
    result = {
        "machine": machine() | {"load_average_at_start": load_at_start,
                                "load_average_at_end": os.getloadavg()},
        "nodes": "a head and a second node on loopback, 1 CPU each, sharing this machine",
        "executions_per_s": {
            "local_pool": local_rates,
            "ray_1_node": one.pop("executions_per_s"),
            "ray_2_nodes": two.pop("executions_per_s"),
        },
        "ray_overhead_per_execution_ms": {
            "1_node": {w: one["paced"][w]["ray_overhead_ms"] for w in WORKLOADS},
            "2_nodes": {w: two["paced"][w]["ray_overhead_ms"] for w in WORKLOADS},
        },
        "ray_1_node": one,
        "ray_2_nodes": two,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }  # fmt: skip
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
