"""The dashboard's cost to a run and its delay: a scripted STOP run's wall time unwatched and
watched by two live pages (two server-sent-event clients of `selftaught serve`'s run stream,
what two browser tabs open), and the delay from a row being written to it reaching a page.
Prints one JSON object.

    nice -n 10 python benchmarks/dashboard.py [--rounds 5]

- the run: `selftaught run --iterations 2 --repetitions 2` on the scripted model of the tests
  (tests/models/stop_world.py), in a subprocess, rounds unwatched and watched interleaved;
- watched: the dashboard serves in this process (as `selftaught serve` would in its own), and
  two clients read the run's event stream from as soon as its run.db exists;
- `wall_growth`: median watched wall time over median unwatched, minus one (the target: at most
  0.05);
- `delay_seconds`: per streamed row (model calls, evaluations, invocations) written after the
  client connected, the time it arrived minus its `created` time (stamped just before the
  write commits): median and 95th percentile (the target: median under 1 s);
- `dashboard_cpu_seconds_per_run`: the CPU this process (server, watcher and both clients)
  used during a watched run: what the dashboard takes from a machine with no core to spare
  (the clients' share included); `watcher_cpu_seconds_per_run`: the watching thread's alone;
- `long_run_render_seconds`: on a store of a long run (`--rows` model calls and evaluations,
  written as tests/models/report_runs.synthetic_store writes them), the time of one render of
  the report's live panels and of the cheap ones, and the gaps the watcher then keeps between
  renders (at least five times a render: at most a fifth of a core).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from machine import machine

from selftaught.dashboard import start_dashboard

ROOT = Path(__file__).resolve().parent.parent
SCRIPTED = f"python:{ROOT / 'tests' / 'models' / 'stop_world.py'}:respond"
STREAMED = ("lm_calls", "evaluations", "invocations")


def run_command(run_dir: Path) -> list[str]:
    return [sys.executable, "-m", "selftaught", "run", "--model", SCRIPTED, "--iterations", "2",
            "--repetitions", "2", "--run-dir", str(run_dir)]  # fmt: skip


class Client(threading.Thread):
    """One page's event stream: when each streamed row arrived, against when it was written."""

    def __init__(self, url: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.url, self.stop = url, stop
        self.delays: list[float] = []
        self.connected = 0.0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=30) as stream:
                    self.connected = time.time()
                    self._read(stream)
                    return
            except urllib.error.HTTPError:  # 404 until the run's database exists
                time.sleep(0.02)

    def _read(self, stream) -> None:  # noqa: ANN001 - an HTTP response
        event = None
        for raw in stream:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "rows":
                arrived = time.time()
                rows = json.loads(line.removeprefix("data: "))
                for table in STREAMED:
                    for row in rows.get(table, []):
                        if row["created"] > self.connected:  # not the backfill of older rows
                            self.delays.append(arrived - row["created"])
            if self.stop.is_set():
                return


def cpu_seconds() -> float:
    """This process's CPU time: the dashboard's server and watcher, and the two clients."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_run(
    where: Path, name: str, watched: bool
) -> tuple[float, list[float], tuple[float, float]]:
    run_dir = where / name
    if not watched:
        started = time.perf_counter()
        subprocess.run(run_command(run_dir), check=True, capture_output=True, cwd=ROOT)
        return time.perf_counter() - started, [], (0.0, 0.0)
    cpu = cpu_seconds()
    with start_dashboard([run_dir]) as dashboard:
        base, token = dashboard.url.split("/?token=")
        stop = threading.Event()
        clients = [Client(f"{base}/events/{name}?token={token}", stop) for _ in range(2)]
        started = time.perf_counter()
        process = subprocess.Popen(run_command(run_dir), cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
        for client in clients:
            client.start()
        process.wait()
        seconds = time.perf_counter() - started
        cpu = cpu_seconds() - cpu
        watcher = dashboard.watcher_cpu_seconds
        time.sleep(1.0)  # the last rows reach the pages
        stop.set()
    if process.returncode != 0:
        raise SystemExit(f"the run failed ({process.returncode})")
    return seconds, [d for c in clients for d in c.delays], (cpu, watcher)


def render_times(run_dir: Path, rows: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "tests" / "models"))
    from report_runs import synthetic_store

    from selftaught.dashboard.pages import live_panels, quick_panels
    from selftaught.dashboard.watch import PANEL_SECONDS, REPORT_SECONDS, SHARE
    from selftaught.store import RunReader

    synthetic_store(run_dir, evaluations=rows, lm_calls=rows, events=rows // 10)
    started = time.perf_counter()
    live_panels(run_dir)
    report = time.perf_counter() - started
    with RunReader.open(run_dir) as reader:
        started = time.perf_counter()
        quick_panels(reader, reader.meta())
        quick = time.perf_counter() - started
    return {"rows": rows, "report_panels": report, "now_and_budgets": quick,
            "report_gap": max(REPORT_SECONDS, SHARE * report),
            "now_and_budgets_gap": max(PANEL_SECONDS, SHARE * quick)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    info = machine()
    walls: dict[str, list[float]] = {"unwatched": [], "watched": []}
    delays: list[float] = []
    cpu: list[float] = []
    watcher: list[float] = []
    with tempfile.TemporaryDirectory(prefix="selftaught-dashboard-") as where:
        one_run(Path(where), "warm-up", False)
        for i in range(args.rounds):
            for mode in ("unwatched", "watched") if i % 2 == 0 else ("watched", "unwatched"):
                seconds, seen, used = one_run(Path(where), f"{mode}-{i}", mode == "watched")
                walls[mode].append(seconds)
                delays += seen
                if mode == "watched":
                    cpu.append(used[0])
                    watcher.append(used[1])
        long_run = render_times(Path(where) / "long", args.rows)
    median = {mode: statistics.median(values) for mode, values in walls.items()}
    delays.sort()
    print(json.dumps({
        "machine": info,
        "rounds": args.rounds,
        "run": "selftaught run --iterations 2 --repetitions 2, scripted model",
        "wall_seconds": walls,
        "median_wall_seconds": median,
        "wall_growth": median["watched"] / median["unwatched"] - 1.0,
        "clients": 2,
        "dashboard_cpu_seconds_per_run": statistics.median(cpu),
        "watcher_cpu_seconds_per_run": statistics.median(watcher),
        "long_run_render_seconds": long_run,
        "rows_timed": len(delays),
        "delay_seconds": {
            "median": statistics.median(delays) if delays else None,
            "p95": delays[int(0.95 * (len(delays) - 1))] if delays else None,
            "max": delays[-1] if delays else None,
        },
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
