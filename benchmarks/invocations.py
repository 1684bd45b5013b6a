"""Concurrent improver invocations: the wall time of one meta-utility at concurrency 1, 2, 4, 8.

    python benchmarks/invocations.py [--repetitions 8] [--latency 2.0]

Each level runs `selftaught run --iterations 0` (the record meta-utility of the seed improver:
`--repetitions` independent invocations, each scored on val and test in the sandbox) against a
loopback OpenAI-compatible server that answers every request after `--latency` seconds (2 s:
about what a hosted model takes to write a few hundred tokens) and, like a hosted API or a
batching server with free slots, holds any number of requests at once. Answers are the task's
seed solution with a distinct comment per sample, so every candidate is a new program that the
sandbox evaluates. Concurrency 1 is the baseline measured
in the same run; the figures are wall seconds, the speed-up over it, the most requests the
server held at once, and the scaffold's seconds: the wall time during which the server held no
request (process start-up, sandboxed executions, the scaffold itself), also as a share of wall.
Results must be the same at every level (`same_records`).

A local model in the host process serves one request at a time, so there the gain is only the
overlap of sandboxed evaluations with generation; this benchmark shows the case the feature is
for, a server that answers requests in parallel. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from machine import machine

from selftaught.store import RunReader
from selftaught.tasks import resolve_task

ROOT = Path(__file__).resolve().parent.parent


class LatencyServer:
    """Chat completions after a fixed latency; `peak` is the most requests held at once and
    `busy` the seconds during which at least one request was held."""

    def __init__(self, latency: float, solution: str):
        self.latency, self.solution = latency, solution
        self.lock = threading.Lock()
        self.in_flight = self.peak = 0
        self.busy = 0.0
        self._busy_since = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                data = json.dumps(server.answer(body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if self.in_flight == 0:
                self._busy_since = time.perf_counter()
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(self.latency)
        with self.lock:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.busy += time.perf_counter() - self._busy_since
        n = int(body.get("n") or 1)
        code = [f"```python\n# sample {body.get('seed')}:{k}\n{self.solution}```" for k in range(n)]
        message = [{"role": "assistant", "content": c} for c in code]
        return {
            "id": "bench",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model"),
            "choices": [
                {"index": k, "finish_reason": "stop", "message": m} for k, m in enumerate(message)
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50 * n},
        }


def level(server: LatencyServer, concurrency: int, repetitions: int, where: Path) -> dict[str, Any]:
    with server.lock:
        server.peak = 0
        server.busy = 0.0
    run_dir = where / f"c{concurrency}"
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "selftaught",
            "run",
            "--iterations",
            "0",
            "--repetitions",
            str(repetitions),
            "--concurrency",
            str(concurrency),
            "--model",
            "openai:bench",
            "--base-url",
            server.url,
            "--model-option",
            f"concurrency={max(concurrency, 1)}",
            "--run-dir",
            str(run_dir),
            "--json",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        env={**os.environ, "OPENAI_API_KEY": "sk-bench"},
        cwd=ROOT,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"run at concurrency {concurrency} failed: {done.stderr.strip()[-500:]}")
    with RunReader.open(run_dir) as reader:
        records = [row["detail"] for row in reader.rows("meta_utilities", "detail")]
        calls, evaluations = reader.count("lm_calls"), reader.count("evaluations")
    scaffold = seconds - server.busy  # start-up, sandbox, scaffold: no request at the server
    return {
        "concurrency": concurrency,
        "seconds": round(seconds, 2),
        "server_busy_seconds": round(server.busy, 2),
        "scaffold_seconds": round(scaffold, 2),
        "scaffold_share_of_wall": round(scaffold / seconds, 3),
        "server_peak_requests": server.peak,
        "lm_requests": calls,
        "evaluations": evaluations,
        "records": records,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=8)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--levels", default="1,2,4,8")
    args = parser.parse_args()
    info = machine()
    server = LatencyServer(args.latency, resolve_task("lpn").seed_solution)
    levels = [int(x) for x in args.levels.split(",")]
    with tempfile.TemporaryDirectory(prefix="selftaught-bench-") as where:
        results = [level(server, c, args.repetitions, Path(where)) for c in levels]
    records = [row.pop("records") for row in results]
    for row, recorded in zip(results, records, strict=True):
        row["speedup_vs_first"] = round(results[0]["seconds"] / row["seconds"], 2)
        row["same_records"] = recorded == records[0]
    print(
        json.dumps(
            {
                "benchmark": "concurrent improver invocations",
                "machine": info,
                "latency_seconds": args.latency,
                "repetitions": args.repetitions,
                "levels": results,
            }
        )
    )


if __name__ == "__main__":
    main()
