"""Per-execution cost of the sandbox modes, measured in one run; prints one JSON object.

    .venv/bin/python benchmarks/sandbox.py [--rounds N]

Two workloads: a trivial candidate (`def algorithm(x): return x*2`, one instance) and an
LPN-like evaluation (20 instances of 100x10 train + 20x10 test int arrays, passed as numpy
arrays; the algorithm returns random predictions). Four ways to run them: the zygote with
all layers, the zygote with rlimits only, a fresh `python -s -S -P` interpreter importing numpy
per execution (the fallback), and in-process exec as the floor (no isolation at all).
Latency rounds interleave the modes (so that a change in machine load hits them all alike)
and pause between executions, as a caller that also does other work would; throughput is
back to back, with one and with two host threads. Targets (reported, not asserted): full
isolation <= 3 ms over the floor per trivial execution, and >= 10x cheaper than a fresh
interpreter.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import threading
import time
from typing import Any

import numpy

from selftaught.sandbox import Limits
from selftaught.sandbox.doctor import machine
from selftaught.sandbox.host import ZygoteSandbox
from selftaught.sandbox.subprocess_sandbox import SubprocessSandbox

TRIVIAL = "def algorithm(x):\n    return x * 2\n"
LPN = (
    "import numpy as np\n"
    "def algorithm(train_x, train_y, test_x):\n"
    "    return np.random.randint(0, 2, size=len(test_x))\n"
)
LIMITS = Limits(wall_seconds=30, cpu_seconds=10, memory_mb=1024)


def lpn_inputs() -> list[list[Any]]:
    """Numpy int arrays, as a utility holds its instances (they travel as raw bytes)."""
    rng = numpy.random.default_rng(0)
    return [
        [rng.integers(0, 2, (100, 10)), rng.integers(0, 2, 100), rng.integers(0, 2, (20, 10))]
        for _ in range(20)
    ]


WORKLOADS = {
    "trivial": (TRIVIAL, [[21]], False),
    "lpn": (LPN, lpn_inputs(), True),
}


def in_process(source: str, inputs: list[list[Any]], array_args: bool) -> list[Any]:
    """The floor: exec and call in this process, outputs to JSON, no isolation."""
    namespace: dict[str, Any] = {}
    exec(compile(source, "<candidate>", "exec"), namespace)
    outputs = []
    for i, args in enumerate(inputs):
        numpy.random.seed(i)
        call_args = [numpy.array(a) if array_args else a for a in args]  # copies, as a child
        out = namespace["algorithm"](*call_args)
        outputs.append(json.loads(json.dumps(out.tolist() if hasattr(out, "tolist") else out)))
    return outputs


def sandboxed(sandbox: Any) -> Any:
    def run(source: str, inputs: list[list[Any]], array_args: bool) -> Any:
        result = sandbox.run_solution(
            source, "algorithm", inputs, instance_seconds=10, seed=0, array_args=array_args,
            limits=LIMITS,
        )  # fmt: skip
        assert all(o.status == "ok" for o in result.outcomes), result.outcomes[0]
        return result

    return run


def timed(run: Any, workload: str) -> float:
    source, inputs, array_args = WORKLOADS[workload]
    start = time.perf_counter()
    run(source, inputs, array_args)
    return (time.perf_counter() - start) * 1000


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p90_ms": round(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)], 3),
        "runs": len(ordered),
    }


def rate(run: Any, workload: str, workers: int, seconds: float) -> float:
    """Executions per second, back to back, with `workers` host threads sharing one sandbox."""
    count = [0] * workers
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        while time.perf_counter() < stop:
            timed(run, workload)
            count[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return round(sum(count) / seconds, 1)


def open_modes() -> tuple[dict[str, Any], list[Any]]:
    full, rlimits, fresh = ZygoteSandbox(), ZygoteSandbox(layers=()), SubprocessSandbox()
    modes = {
        "zygote_all_layers": sandboxed(full),
        "zygote_rlimits_only": sandboxed(rlimits),
        "fresh_interpreter": sandboxed(fresh),
        "in_process_floor": in_process,
    }
    return modes, [full, rlimits, fresh]


def latencies(modes: dict[str, Any], rounds: int, pause: float) -> dict[str, Any]:
    """Interleaved rounds with a pause between executions, so that each one finds the
    machine as a caller that also does other work would (pool refilled, last child reaped)."""
    times: dict[str, dict[str, list[float]]] = {w: {m: [] for m in modes} for w in WORKLOADS}
    for workload in WORKLOADS:
        for run in modes.values():
            timed(run, workload)  # warm up
        for r in range(rounds):
            for name, run in modes.items():
                if name != "fresh_interpreter" or r % FRESH_EVERY == 0:
                    times[workload][name].append(timed(run, workload))
                    time.sleep(pause)
    return times


FRESH_EVERY = 5  # a fresh interpreter costs ~50x more: sample it less often


def measure(rounds: int, pause: float, seconds: float) -> dict[str, Any]:
    modes, sandboxes = open_modes()
    try:
        times = latencies(modes, rounds, pause)
        rates = {
            w: {
                f"{m}_{n}_threads": rate(modes[m], w, n, seconds)
                for m in modes
                for n in (1, 2)
            }
            for w in WORKLOADS
        }
        layers = sandboxes[0].layers
    finally:
        for sandbox in sandboxes:
            sandbox.close()
    return {"times": times, "rates": rates, "layers": layers, "pause_ms": pause * 1000}


def report(measured: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "machine": machine(),
        "zygote_layers": measured["layers"],
        "latency_pause_between_runs_ms": measured["pause_ms"],
    }
    for workload, by_mode in measured["times"].items():
        stats = {mode: summary(ts) for mode, ts in by_mode.items()}
        floor = stats["in_process_floor"]["median_ms"]
        full = stats["zygote_all_layers"]["median_ms"]
        fresh = stats["fresh_interpreter"]["median_ms"]
        out[workload] = {
            "latency": stats,
            "overhead_over_floor_ms": {
                mode: round(s["median_ms"] - floor, 3) for mode, s in stats.items()
            },
            "fresh_over_zygote_all_layers": round(fresh / full, 2),
            "executions_per_s_back_to_back": measured["rates"][workload],
        }
    trivial = out["trivial"]
    rates = trivial["executions_per_s_back_to_back"]
    out["targets"] = {
        "full_isolation_overhead_ms<=3": trivial["overhead_over_floor_ms"]["zygote_all_layers"]
        <= 3,
        "fresh/zygote>=10 (latency)": trivial["fresh_over_zygote_all_layers"] >= 10,
        "zygote/fresh>=10 (throughput, 1 thread)": rates["zygote_all_layers_1_threads"]
        >= 10 * rates["fresh_interpreter_1_threads"],
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100, help="latency samples per mode")
    parser.add_argument("--pause-ms", type=float, default=20, help="idle time between runs")
    parser.add_argument("--rate-seconds", type=float, default=2, help="per throughput figure")
    args = parser.parse_args()
    measured = measure(args.rounds, args.pause_ms / 1000, args.rate_seconds)
    print(json.dumps(report(measured), indent=1))


if __name__ == "__main__":
    main()
