"""selftaught and OpenEvolve side by side: one model server, one call budget, the same tasks.

    nice -n 5 python benchmarks/peers/run.py --quick       # under 20 minutes on 2 cores
    python benchmarks/peers/run.py                         # the full budget (hours on 2 cores)
    python benchmarks/peers/run.py --render                # RESULTS.md again from results.json

What it does, in order (RESULTS.md says why each choice was made):
1. installs OpenEvolve (PyPI `openevolve`) into a venv of its own and llama.cpp's server
   (`llama-cpp-python[server]`, the version this environment has, so pip reuses its wheel)
   into another (run through src/selftaught/lm/llamacpp_server.py: weights unrepacked),
   once, under ~/.cache/selftaught/peers/ (`--venvs`);
2. starts the default embedded model (Qwen2.5-Coder-0.5B GGUF) behind llama.cpp's
   OpenAI-compatible server on loopback, and a counting proxy in front of it (proxy.py): both
   systems talk to the proxy, which counts every request, its tokens and its seconds;
3. per task (lpn, string_grid, and OpenEvolve's own k_module_problem): OpenEvolve for `budget`
   iterations on its own evaluator interface (adapters.py makes evaluator.py and
   initial_program.py from our tasks; k_module_problem's evaluator is used unchanged), then
   selftaught's four rows (the paper's seed improver and our library improver, at T = 0 and
   after STOP), each within the same number of model calls, through `selftaught run` (k_module
   through our evaluator-form loader);
4. scores every row's final solution on the test split with `selftaught evaluate`, and writes
   results.json and RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import adapters  # noqa: E402
import report  # noqa: E402
from proxy import CountingProxy  # noqa: E402

OPENEVOLVE = "openevolve==0.4.0"
VENVS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "selftaught" / "peers"
K_MODULE = ROOT / "tests" / "interop_tasks" / "k_module_problem"  # vendored unchanged
LIBRARY_IMPROVER = "ucb"  # see RESULTS.md: best mean in benchmarks/improvers.md, fewest tokens
MODEL_ALIAS = "qwen2.5-coder-0.5b"
NICE = 5
OE_SYSTEM = (
    "You are an expert software developer tasked with iteratively improving a Python program. "
    "The program is scored by this utility function (higher is better):\n```python\n{}\n```"
)


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="4 calls per row, 64 tokens per reply")
    p.add_argument("--budget", type=int, help="model calls per (system, task); default 24")
    p.add_argument("--max-tokens", type=int, help="per reply, both systems; default 1024")
    p.add_argument("--tasks", default="lpn,string_grid,k_module_problem")
    # One thread: on this shared 2-core machine at load 6-8, two llama.cpp threads decoded at
    # 1.1-1.3 tokens/s and one at 10 (measured; RESULTS.md). Give 2 on an idle machine.
    p.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    p.add_argument("--improver", default=LIBRARY_IMPROVER, help="the library improver")
    # Outside the checkout: tools that walk the tree (the architecture tests, linters) would
    # otherwise read two virtual environments' site-packages.
    p.add_argument("--venvs", type=Path, default=VENVS, help="where the two venvs are made")
    p.add_argument("--work", type=Path, default=HERE / "work", help="run directories (ignored)")
    p.add_argument("--out", type=Path, default=HERE / "results.json", help="details.json and "
                   "RESULTS.md are written beside it")  # fmt: skip
    p.add_argument("--render", action="store_true", help="only RESULTS.md from --out")
    args = p.parse_args()
    # Quick: what fits 20 minutes on 2 shared cores, where prompts are read at ~25 tokens/s
    # and replies written at ~5 (measured at load 6-8): a check that everything runs.
    args.budget = args.budget or (4 if args.quick else 24)
    args.max_tokens = args.max_tokens or (64 if args.quick else 1024)
    return args


def main() -> int:
    args = parse()
    if args.render:
        details = json.loads((args.out.parent / "details.json").read_text())
        report.write(json.loads(args.out.read_text()), args.out.parent / "RESULTS.md", details)
        return 0
    started = time.time()
    loads = [os.getloadavg()]
    oe_python = ensure_venv(args.venvs / "openevolve", [OPENEVOLVE])
    llama = importlib.metadata.version("llama-cpp-python")
    server_python = ensure_venv(args.venvs / "server", [f"llama-cpp-python[server]=={llama}"])
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    model_file = embedded_model_path()
    rows, extra = [], {}
    with model_server(server_python, model_file, args) as upstream:
        proxy = CountingProxy(upstream).start()
        try:
            for task in args.tasks.split(","):
                loads.append(os.getloadavg())
                task_rows, notes = run_task(task.strip(), args, proxy, oe_python)
                rows += task_rows
                extra[task] = notes
        finally:
            (args.work / "calls.json").write_text(json.dumps(proxy.dump(), indent=1))
            proxy.stop()
    loads.append(os.getloadavg())
    results = {
        "model": {
            "name": MODEL_ALIAS,
            "file": model_file.name,
            "server": f"llama-cpp-python "
            f"{llama} (llama_cpp.server, weights unrepacked), threads {args.threads}, nice {NICE}",
        },
        "machine": machine(loads, time.time() - started),
        "budget": budget(args, oe_python),
        "systems": rows,
    }
    problems = adapters.check_results(results)
    if problems:
        print("results do not match the schema: " + "; ".join(problems), file=sys.stderr)
        return 1
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    (args.out.parent / "details.json").write_text(json.dumps(extra, indent=2) + "\n")
    report.write(results, args.out.parent / "RESULTS.md", extra)
    print(f"wrote {args.out} and RESULTS.md beside it in {time.time() - started:.0f} s")
    return 0


# ------------------------------------------------------------------------ environments


def ensure_venv(venv: Path, requirements: list[str]) -> Path:
    """`venv`'s python, with `requirements` installed (once; a marker file says it was)."""
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.is_file() and marker.read_text() == "\n".join(requirements):
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(["nice", "-n", "10", *pip, *requirements], check=True)
    marker.write_text("\n".join(requirements))
    return python


def embedded_model_path() -> Path:
    from selftaught.lm.embedded import DEFAULT_MODEL, model_path

    return model_path(DEFAULT_MODEL)


# llama_cpp.server with the weights unrepacked (it segfaults on AVX-512/AMX CPUs otherwise),
# run by path in the server's venv, which has llama.cpp and not selftaught
UNREPACKED_SERVER = Path(__file__).resolve().parents[2] / "src/selftaught/lm/llamacpp_server.py"


@contextlib.contextmanager
def model_server(python: Path, model: Path, args: argparse.Namespace) -> Iterator[str]:
    """llama.cpp's server on a free loopback port, niced; its log in the work directory."""
    port = free_port()
    log = (args.work / "server.log").open("w")
    command = [
        "nice", "-n", str(NICE), str(python), str(UNREPACKED_SERVER),
        "--model", str(model), "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_threads", str(args.threads), "--n_threads_batch", str(args.threads),
        "--n_ctx", "8192", "--cache", "true", "--cache_type", "ram", "--cache_size", str(1 << 30),
    ]  # fmt: skip
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/v1/models", server, seconds=300)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the model server exited ({process.returncode}); see server.log")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=5) as reply:
                if reply.status == 200:
                    return
        time.sleep(1)
    raise SystemExit(f"the model server did not answer {url} within {seconds:.0f} s")


# ------------------------------------------------------------------------ one task


@dataclass
class TaskRun:
    """What every row of one task shares: the task, where its runs go, the settings, the
    proxy, and the notes the report reads."""

    task: str
    spec: str  # what `selftaught` is given: a built-in name or k_module_problem's directory
    where: Path
    args: argparse.Namespace
    proxy: CountingProxy
    notes: dict[str, Any]


def run_task(
    task: str, args: argparse.Namespace, proxy: CountingProxy, oe_python: Path
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """OpenEvolve's row and selftaught's four rows on `task`, and what the report needs."""
    where = args.work / task
    where.mkdir(parents=True)
    spec = str(K_MODULE) if task == "k_module_problem" else task
    seed = evaluate(where / "seed", seed_solution(task), spec)
    notes: dict[str, Any] = {"seed_test_utility": seed["score"], "seed_evaluation": seed}
    run = TaskRun(task, spec, where, args, proxy, notes)
    rows = [run_openevolve(run, oe_python)]
    for system, shape in adapters.shapes(args.budget, args.improver).items():
        rows += run_selftaught(run, system, shape)
    return rows, notes


def seed_solution(task: str) -> str:
    if task == "k_module_problem":
        return (K_MODULE / "initial_program.py").read_text()
    from selftaught.tasks import get_task

    return get_task(task).seed_solution


def selftaught_command(*words: str) -> list[str]:
    return ["nice", "-n", str(NICE), sys.executable, "-m", "selftaught", *words]


def evaluate(where: Path, solution: str | None, spec: str) -> dict[str, Any]:
    """`selftaught evaluate` of `solution` on the test split: score, layers, profile."""
    if solution is None:
        return {"score": 0.0, "layers": [], "profile": None, "failure": "no program"}
    where.parent.mkdir(parents=True, exist_ok=True)
    path = where.with_suffix(".py")
    path.write_text(solution)
    words = ["evaluate", "--task", spec, "--solution", str(path), "--split", "test", "--json"]
    done = subprocess.run(
        selftaught_command(*words), capture_output=True, text=True, env=selftaught_env()
    )
    if done.returncode != 0:
        return {"score": 0.0, "layers": [], "profile": None, "failure": done.stderr.strip()}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_openevolve(run: TaskRun, oe_python: Path) -> dict[str, Any]:
    task, spec, where = run.task, run.spec, run.where
    args, proxy, notes = run.args, run.proxy, run.notes
    directory = where / "openevolve-task"
    counter = directory / "evaluations.log"
    if task == "k_module_problem":
        directory.mkdir(parents=True)
        counter.write_text("")
        (directory / "evaluator.py").write_text(
            adapters.counting_wrapper(K_MODULE / "evaluator.py", counter)
        )
        shutil.copy(K_MODULE / "initial_program.py", directory / "initial_program.py")
        import yaml

        base = yaml.safe_load((K_MODULE / "config.yaml").read_text())
        temperature, system = None, None  # the example's own (0.9, its system message)
    else:
        from selftaught.tasks import get_task

        our = get_task(task)
        src = str(ROOT / "src")
        adapters.write_openevolve_task(directory, task, our.seed_solution, our.description, src)
        base, temperature, system = {}, 0.7, OE_SYSTEM.format(our.description.strip())
    config = adapters.openevolve_config(
        base, api_base=proxy.base_url, model=MODEL_ALIAS, iterations=args.budget,
        max_tokens=args.max_tokens, temperature=temperature, system_message=system,
    )  # fmt: skip
    config_path = directory / "config.yaml"
    import yaml

    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    output = where / "openevolve-output"
    command = [
        "nice", "-n", str(NICE), str(oe_python), "-m", "openevolve.cli",
        str(directory / "initial_program.py"), str(directory / "evaluator.py"),
        "--config", str(config_path), "--output", str(output), "--iterations", str(args.budget),
    ]  # fmt: skip
    label = f"openevolve/{task}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    wall, done = timed(label, proxy, command, where / "openevolve.log", env)
    best_path = output / "best" / "best_program.py"
    best = best_path.read_text() if best_path.is_file() else None
    info_path = output / "best" / "best_program_info.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    scored = evaluate(where / "openevolve-best", best, spec)
    notes["openevolve"] = {
        "exit": done, "own_val_metrics": info.get("metrics"), "test_failure": scored["failure"],
        "best_generation": info.get("generation"), "spent": proxy.spent(label),
    }  # fmt: skip
    executions = len(counter.read_text().splitlines()) if counter.is_file() else 0
    return row("openevolve", task, scored["score"], proxy.spent(label), wall, executions,
               isolation_openevolve(task))  # fmt: skip


def run_selftaught(run: TaskRun, system: str, shape: adapters.Shape) -> list[dict[str, Any]]:
    """The T = 0 row (a run with --iterations 0) and the STOP row (a run of `shape.iterations`
    that reads its t = 0 back from the first run's cache, so it pays for it once: the STOP
    row's calls, tokens and seconds are both runs' sums)."""
    task, notes = run.task, run.notes
    zero = run_once(run, f"{system}-t0", replace(shape, iterations=0), None, run.args.budget)
    # The STOP run replays t = 0 from the first run's cache; what it may still pay for is
    # what the first run left of the row's budget (the host enforces it: a run-wide cap).
    left = run.args.budget - zero["spent"]["requests"]
    stop = run_once(run, system, shape, run.where / f"{system}-t0", left)
    isolation = isolation_selftaught(notes["seed_evaluation"])
    t0_row = row(f"{system}-t0", task, zero["score"], zero["spent"], zero["wall"],
                 zero["executions"], isolation)  # fmt: skip
    both = {k: zero["spent"][k] + stop["spent"][k] for k in ("requests", "prompt_tokens",
            "completion_tokens", "model_seconds")}  # fmt: skip
    notes[system]["row_spent"] = both
    stop_row = row(system, task, stop["score"], both, zero["wall"] + stop["wall"],
                   zero["executions"] + stop["executions"], isolation)  # fmt: skip
    return [t0_row, stop_row]


def run_once(
    run: TaskRun, name: str, shape: adapters.Shape, cache_from: Path | None, cap: int
) -> dict[str, Any]:
    """One `selftaught run`: its final test meta-utility, spend, wall and evaluations."""
    where, args, proxy = run.where, run.args, run.proxy
    config = where / f"{name}.toml"
    config.write_text(selftaught_toml(shape, run.spec, proxy.base_url, args, cache_from, cap))
    label = f"{name}/{run.task}"
    log = where / f"{name}.log"
    command = selftaught_command("run", "--config", str(config), "--run-dir", str(where / name),
                                 "--json")  # fmt: skip
    wall, done = timed(label, proxy, command, log, selftaught_env())
    summary = last_json(log) or recorded(where / name)  # exit 3 (the cap) prints no summary
    iterations = summary.get("iterations") or [{}]
    spent = proxy.spent(label)
    run.notes[name] = {
        "exit": done, "shape": shape.__dict__, "most_calls": shape.most_calls,
        "iterations": iterations, "selftaught_lm_calls": summary.get("lm_calls"),
        "spent": spent, "cache_from": None if cache_from is None else cache_from.name,
    }  # fmt: skip
    score = iterations[-1].get("meta_utility_test")
    return {"score": float(score or 0.0), "spent": spent, "wall": wall,
            "executions": int(summary.get("evaluations") or 0)}  # fmt: skip


def selftaught_env() -> dict[str, str]:
    """This checkout's selftaught, whatever the venv has installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    return env


def selftaught_toml(
    shape: adapters.Shape,
    spec: str,
    base_url: str,
    args: argparse.Namespace,
    cache: Path | None,
    cap: int,
) -> str:
    cache_line = "" if cache is None else f"cache_from = {json.dumps(str(cache))}"
    return adapters.dedent(f"""
        {cache_line}
        task = {json.dumps(spec)}
        model = "openai:{MODEL_ALIAS}"
        base_url = {json.dumps(base_url)}
        iterations = {shape.iterations}
        improver = {json.dumps(shape.improver)}
        gate = "better"
        seed = 0
        concurrency = 1
        repetitions = {shape.repetitions}
        responses_per_call = {shape.responses_per_call}
        lm_calls = {shape.lm_calls}
        utility_calls = {shape.utility_calls}
        meta_utility_calls = {shape.meta_utility_calls}
        temperature = 0.7
        max_tokens = {args.max_tokens}

        [caps]
        calls = {cap}

        [model_options]
        timeout = 3600.0
        retries = 0
        concurrency = 1
    """)


def timed(
    label: str, proxy: CountingProxy, command: list[str], log: Path, env: dict[str, str]
) -> tuple[float, int]:
    """Run `command` with the proxy's traffic labelled; (wall seconds, exit code)."""
    proxy.label = label
    print(f"[{time.strftime('%H:%M:%S')}] {label} ...", flush=True)
    started = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    wall = time.monotonic() - started
    proxy.label = "between rows"
    spent = proxy.spent(label)
    print(f"    {wall:.0f} s, exit {done.returncode}, {spent['requests']} requests, "
          f"{spent['completion_tokens']} completion tokens", flush=True)  # fmt: skip
    return wall, done.returncode


def recorded(run_dir: Path) -> dict[str, Any]:
    """What a run stopped by its cap recorded: the iterations it finished, its evaluations."""
    from selftaught.store import RunReader, StoreError

    try:
        reader = RunReader(run_dir / "run.db")
        iterations = [r.to_dict() for r in reader.iterations()]
        return {"iterations": iterations, "evaluations": reader.count("evaluations")}
    except StoreError:
        return {}


def last_json(log: Path) -> dict[str, Any]:
    for line in reversed(log.read_text(errors="replace").splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                return json.loads(line)
    return {}


def row(
    system: str,
    task: str,
    score: float,
    spent: dict[str, Any],
    wall: float,
    executions: int,
    isolation: dict[str, Any],
) -> dict[str, Any]:
    return {
        "system": system,
        "task": task,
        "best_test_utility": round(float(score), 4),
        "lm_calls": spent["requests"],
        "tokens": spent["prompt_tokens"] + spent["completion_tokens"],
        "wall_seconds": round(wall, 1),
        "scaffold_seconds": round(max(wall - spent["model_seconds"], 0.0), 1),
        "executions_per_s": round(executions / wall, 3) if wall > 0 else 0.0,
        "isolation": isolation,
    }


# ------------------------------------------------------------------------ isolation


def isolation_selftaught(evaluated: dict[str, Any]) -> dict[str, Any]:
    """What selftaught's sandbox applied to this task's evaluation here (the layers are the
    ones `selftaught evaluate` reported on this machine, not a claim)."""
    layers = evaluated.get("layers") or []
    return {
        "where_candidates_run": "a sandboxed child of a warm zygote; scores computed in the host"
        if evaluated.get("profile") != "evaluator"
        else "a sandboxed child running the task's evaluator on the candidate; utility in the host",
        "network": "none (empty network namespace; seccomp refuses socket)"
        if "netns" in " ".join(layers) or "seccomp" in " ".join(layers)
        else "see layers",
        "files": "writes only in a size-capped tmpfs scratch directory (Landlock)",
        "processes": "none (seccomp refuses fork/exec)"
        if evaluated.get("profile") == "strict"
        else "the interpreter only, in a pids cgroup, killed with the evaluation",
        "keys": "scrubbed environment; the model is reached only through the host's broker",
        "profile": evaluated.get("profile"),
        "layers": layers,
    }


def isolation_openevolve(task: str) -> dict[str, Any]:
    """What OpenEvolve 0.4.0 isolates, from its source (evaluator.py, process_parallel.py)."""
    runs = (
        "in the evaluating process itself (a worker; the initial program: the main process): "
        "the example's evaluator exec's the candidate (importlib exec_module) in the thread "
        "that evaluates it"
        if task == "k_module_problem"
        else "a plain child Python process started by our generated evaluator (no namespace, "
        "no rlimits); outputs scored by our scorer in the evaluating process"
    )
    return {
        "where_candidates_run": runs,
        "network": "unrestricted (no namespace, no filter)",
        "files": "unrestricted: the candidate is a NamedTemporaryFile in $TMPDIR and runs with "
        "the user's file access",
        "processes": "unrestricted; evaluator.timeout is asyncio.wait_for on a thread, which "
        "is abandoned, not killed",
        "keys": "worker processes get the parent's whole environment (os.environ copied in "
        "_worker_init) and the LLM config with api_key; in-process candidates can read both",
        "profile": None,
        "layers": [],
    }


# ------------------------------------------------------------------------ the record


def machine(loads: list[tuple[float, float, float]], seconds: float) -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average_1min": [round(load[0], 2) for load in loads],
        "run_seconds": round(seconds, 1),
    }


def budget(args: argparse.Namespace, oe_python: Path) -> dict[str, Any]:
    oe = subprocess.run(
        [str(oe_python), "-c", "import openevolve; print(openevolve.__version__)"],
        capture_output=True, text=True,
    )  # fmt: skip
    return {
        "mode": "quick" if args.quick else "full",
        "model_calls_per_row": args.budget,
        "max_tokens": args.max_tokens,
        "library_improver": args.improver,
        "openevolve": oe.stdout.strip(),
        "selftaught_shapes": {
            name: {**shape.__dict__, "most_calls": shape.most_calls}
            for name, shape in adapters.shapes(args.budget, args.improver).items()
        },
        "command": " ".join(["nice -n 5 python benchmarks/peers/run.py", *sys.argv[1:]]),
    }


if __name__ == "__main__":
    raise SystemExit(main())
