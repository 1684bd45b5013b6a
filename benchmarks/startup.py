"""Start-up: the wall time of short `selftaught` commands, medians of `--rounds` interleaved runs.
Prints one JSON object.

    nice -n 10 python benchmarks/startup.py [--rounds 5]

- `interpreter`: `python -c pass`, the floor;
- `help`: `selftaught --help` (imports the CLI, no model SDK);
- `run_openai_zero_latency`: `selftaught run --iterations 0` (quick preset: the initial
  improver's record meta-utility, 2 invocations scored on val and test in the sandbox) against a
  loopback OpenAI-compatible server that answers at once, so the figure is start-up, sandbox and
  scaffold;
- `run_python_model`: the same run with the scripted `python:` model of the tests (no SDK);
- `import_openai`, `import_anthropic`: what the SDK alone costs, in a fresh interpreter.

Bytecode is written and one warm-up round is discarded, as for a user's second command:
PYTHONDONTWRITEBYTECODE is removed from the commands' environment.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from invocations import LatencyServer
from machine import machine

from selftaught.tasks import resolve_task

ROOT = Path(__file__).resolve().parent.parent
SCRIPTED = f"python:{ROOT / 'tests' / 'models' / 'stop_world.py'}:respond"


def wall(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:6])} failed: {done.stderr.strip()[-600:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    info = machine()
    server = LatencyServer(0.0, resolve_task("lpn").seed_solution)
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    py = sys.executable
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="selftaught-startup-") as where:
        commands = {
            "interpreter": [py, "-c", "pass"],
            "help": [py, "-m", "selftaught", "--help"],
            "import_openai": [py, "-c", "import openai"],
            "import_anthropic": [py, "-c", "import anthropic"],
        }
        for k in range(args.rounds + 1):  # round 0 warms the bytecode and page caches
            runs = {
                "run_openai_zero_latency": ["--model", "openai:bench", "--base-url", server.url],
                "run_python_model": ["--model", SCRIPTED],
            }
            for name, model in runs.items():
                run_dir = str(Path(where) / f"{name}-{k}")
                commands[name] = [py, "-m", "selftaught", "run", "--iterations", "0", *model]
                commands[name] += ["--run-dir", run_dir]
            for name, command in commands.items():
                seconds = wall(command, env)
                if k > 0:
                    times.setdefault(name, []).append(seconds)
    medians = {name: round(statistics.median(s), 2) for name, s in times.items()}
    print(
        json.dumps(
            {
                "benchmark": "start-up",
                "machine": info,
                "rounds": args.rounds,
                "median_seconds": medians,
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "all_seconds": {name: [round(x, 2) for x in s] for name, s in times.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
