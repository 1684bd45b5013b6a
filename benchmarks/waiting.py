"""What a waiting child costs (docs/reliability.md, "What a waiting child costs"); prints JSON.

    .venv/bin/python benchmarks/waiting.py [--task lpn] [--split val]

Times one real evaluation (the task's split, every instance in a zygote child) of a solution
that sleeps in every instance and of one that stops itself (SIGSTOP), and one invocation of an
improver that stops itself, each twice: with the wait limit (the instance limit plus
`WAIT_MARGIN` of time neither on a CPU nor waiting for one) and with the wall-clock backstop
alone (the host reading no run-queue wait, as before the wait limit existed). The children
sleep, so the machine's load hardly matters; the figures are wall seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from selftaught.sandbox import HandleSpec, Limits, driver, open_sandbox, runs
from selftaught.sandbox.doctor import machine
from selftaught.tasks import get_task
from selftaught.utility import Evaluator

SLEEPS = "import time\n\ndef algorithm(*args):\n    time.sleep(1000)\n"
STOPS = "import os, signal\n\ndef algorithm(*args):\n    os.kill(os.getpid(), signal.SIGSTOP)\n"
STOPPED_IMPROVER = (
    "import os, signal\n\ndef improve_algorithm(initial_solution, utility, language_model):\n"
    "    os.kill(os.getpid(), signal.SIGSTOP)\n"
)
IMPROVER_SECONDS = 10.0


def evaluation(task_name: str, split: str, source: str) -> dict[str, Any]:
    task = get_task(task_name)
    with open_sandbox() as sandbox:
        start = time.monotonic()
        result = Evaluator(task, sandbox, None).evaluate(source, split)
        seconds = time.monotonic() - start
    reasons = sorted({str(row.get("reason"))[:40] for row in result.instances})
    return {"seconds": round(seconds, 2), "instances": len(result.instances),
            "instance_seconds": task.instance_seconds, "reasons": reasons}  # fmt: skip


def improver() -> dict[str, Any]:
    limits = Limits(IMPROVER_SECONDS, IMPROVER_SECONDS, memory_mb=1024)
    spec = HandleSpec("def algorithm(x):\n    return x\n", 2, "utility", 2, 2)
    with open_sandbox() as sandbox:
        start = time.monotonic()
        run = sandbox.run_improver(
            STOPPED_IMPROVER, spec, lambda m, p: None, seed=0, limits=limits
        )
        seconds = time.monotonic() - start
    return {"seconds": round(seconds, 2), "limit": IMPROVER_SECONDS, "status": run.status,
            "reason": run.error}  # fmt: skip


def measure(task: str, split: str) -> dict[str, Any]:
    return {
        "sleeping_solution": evaluation(task, split, SLEEPS),
        "stopped_solution": evaluation(task, split, STOPS),
        "stopped_improver": improver(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="lpn")
    parser.add_argument("--split", default="val")
    args = parser.parse_args()
    after = measure(args.task, args.split)
    split = driver.Session.split
    driver.Session.split = lambda self: None  # the host as it was: no schedstat read
    try:
        before = measure(args.task, args.split)
    finally:
        driver.Session.split = split
    print(json.dumps({
        "benchmark": "waiting", "task": args.task, "split": args.split,
        "wait_margin": runs.WAIT_MARGIN, "wall_backstop": runs.WALL_BACKSTOP,
        "with_wait_limit": after, "backstop_only": before, "machine": machine(),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
