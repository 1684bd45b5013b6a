"""selftaught and its peers side by side: one model server, one bound on calls and tokens per
row, the same tasks, every final solution scored by `selftaught evaluate` on the test split.

    nice -n 5 python benchmarks/peers/run.py --quick        # a check that every row runs
    nice -n 5 python benchmarks/peers/run.py                # the full budget (hours; resumable)
    nice -n 5 python benchmarks/peers/run.py --rows openevolve:maxcut,selftaught-repair:lpn
    python benchmarks/peers/run.py --render                 # RESULTS.md again from results.json
    python benchmarks/peers/run.py --rescore --work DIR     # selftaught final solutions again
    python benchmarks/peers/run.py --supersede ROWS --why TEXT --work DIR   # to run them again

Rows (`rows.py`): OpenEvolve, ShinkaEvolve and SkyDiscover (EvoX), each through its own
command line in a venv of its own (made on first use under ~/.cache/selftaught/peers/);
selftaught's seed improver and repair improver at T = 0, and STOP at T = 1 and T = 2 from the
better of the two (by val meta-utility). Every row gets at most `--budget` model calls of at
most `--max-tokens` each, per seed: the counting proxy (proxy.py) between every system and the
one model server counts them and refuses a call past the bound.

Resuming: each seed is recorded in its directory under `--work` when it finishes, each row in
results.json when its seeds have; a re-run skips what is recorded, and re-runs a killed seed
with the replies it already had from the proxy's reply cache (nothing is paid for twice).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import adapters  # noqa: E402
import peer_runs  # noqa: E402
import report  # noqa: E402
import rows  # noqa: E402
from proxy import CountingProxy, ReplyCache  # noqa: E402

PEER_PACKAGES = {
    "openevolve": "openevolve==0.4.0",
    "shinkaevolve": "shinka-evolve==0.0.7",
    "skydiscover": "skydiscover==0.1.0",
}
# What OpenEvolve's examples' requirements.txt name, for every environment that runs
# a candidate (each peer's venv, and this one, where selftaught's sandbox and `selftaught
# evaluate` run it): a model-written program may import scipy. Their matplotlib is left out:
# only the examples' visualize() uses it, and no evaluator calls that.
TASK_REQUIREMENTS = ["scipy>=1.11,<2"]
VENVS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "selftaught" / "peers"
MODEL_ALIAS = "qwen2.5-coder-0.5b"
NICE = 5
GRACE = 20.0  # seconds a system may take to stop by itself once refused a call


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="8 calls per row, 64 tokens per reply, 1 seed, lpn only")  # fmt: skip
    p.add_argument("--budget", type=int, help="model calls per row and seed; default 24")
    p.add_argument("--max-tokens", type=int, help="per reply, every system; default 1024")
    p.add_argument("--seeds", type=int, help="seeds per row; default 3 (quick: 1)")
    p.add_argument("--tasks", help=f"default: {','.join(rows.TASKS)}, OpenEvolve's examples "
                   "only with --openevolve-examples (quick: lpn)")  # fmt: skip
    p.add_argument("--openevolve-examples", type=Path, metavar="DIR",
                   help="an OpenEvolve checkout's examples/ directory, to run its "
                   f"{' and '.join(peer_runs.OPENEVOLVE_EXAMPLES)} (in no package)")  # fmt: skip
    p.add_argument("--systems", default=",".join(rows.SYSTEMS), help="default: all")
    p.add_argument("--rows", help="system:task pairs instead of --tasks x --systems, e.g. "
                   "openevolve:maxcut,selftaught-repair:lpn")  # fmt: skip
    p.add_argument("--stop-from", choices=("auto", "seed", "repair"), default="auto",
                   help="STOP rows' initial improver; auto: the better T = 0 row")  # fmt: skip
    # The server is a flag so that llama.cpp's llama-server with parallel slots (measured in
    # another issue) or any OpenAI-compatible server on loopback can stand in.
    p.add_argument("--server", default="llama-cpp-python",
                   help="'llama-cpp-python' (started here) or the /v1 URL of a running "
                   "OpenAI-compatible server serving the embedded model")  # fmt: skip
    # One thread: on this shared 2-core machine at load 6-8, two llama.cpp threads decoded at
    # 1.1-1.3 tokens/s and one at 10 (measured; RESULTS.md). Give 2 on an idle machine.
    p.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    # Outside the checkout: tools that walk the tree (the architecture tests, linters) would
    # otherwise read the venvs' site-packages.
    p.add_argument("--venvs", type=Path, default=VENVS, help="where the venvs are made")
    p.add_argument("--work", type=Path, default=HERE / "work", help="seeds' directories and "
                   "the reply cache (git-ignored; keep it to resume)")  # fmt: skip
    p.add_argument("--out", type=Path, help="default: results.json, quick/results.json with "
                   "--quick; RESULTS.md is written beside it")  # fmt: skip
    p.add_argument("--render", action="store_true", help="only RESULTS.md from --out")
    p.add_argument("--rescore", action="store_true", help="re-take the recorded selftaught "
                   "seeds' final solutions from their run databases (no call, no run)")  # fmt: skip
    p.add_argument("--supersede", metavar="ROWS", help="system:task pairs whose recorded "
                   "rows are moved to superseded.json (kept, shown on the page) and their "
                   "seeds' directories aside, so that the next run measures them again; "
                   "needs --why")  # fmt: skip
    p.add_argument("--why", help="with --supersede: why the rows are measured again")
    args = p.parse_args(argv)
    if args.supersede and not (args.why or "").strip():
        p.error("--supersede needs --why: say why the rows are measured again")
    for name in ("budget", "max_tokens", "seeds"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be 1 or more")
    args.budget = args.budget or (8 if args.quick else 24)
    args.max_tokens = args.max_tokens or (64 if args.quick else 1024)
    args.seeds = args.seeds or (1 if args.quick else 3)
    every = [t for t in rows.TASKS
             if args.openevolve_examples or t not in peer_runs.OPENEVOLVE_EXAMPLES]  # fmt: skip
    args.tasks = args.tasks or ("lpn" if args.quick else ",".join(every))
    args.mode = "quick" if args.quick else "full"
    args.out = args.out or (report.QUICK if args.quick else report.FULL)
    return args


def interruptible() -> None:
    """Ctrl-C and SIGTERM both stop the benchmark the same way: the running system's process
    group and the model server are stopped, what finished stays recorded. A run started in the
    background (`cmd &` from a script) inherits an ignored SIGINT, hence the explicit handlers."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv)
    except KeyboardInterrupt:
        print("stopped; what finished is recorded: the same command resumes", file=sys.stderr)
        return 130


def run(argv: list[str] | None = None) -> int:
    args = parse(argv)
    interruptible()
    work = args.work / f"{args.mode}-{args.budget}x{args.max_tokens}"
    try:
        if args.render:
            page(read_results(args.out), args)
            return 0
        if args.rescore:
            return rescore(args, work, read_results(args.out))
        if args.supersede:
            return supersede(args, work, read_results(args.out))
        wanted = rows.select(args.rows, args.tasks, args.systems)
        check_budget(wanted, args)
        examples = openevolve_examples(wanted, args, work)
        results = start_results(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if examples:
        results["budget"]["openevolve_examples"] = examples
    # A row recorded with fewer seeds than asked for now runs again (its seeds are reused).
    done = {(r["system"], r["task"]) for r in results["systems"] if r["seeds"] >= args.seeds}
    todo = [pair for pair in wanted if pair not in done]
    missing = stop_rows_unstarted(todo, done, args.stop_from)
    if missing:
        print(f"error: STOP rows start from the better of selftaught-seed and "
              f"selftaught-repair; add {','.join(missing)} to --rows, or give "
              f"--stop-from seed|repair", file=sys.stderr)  # fmt: skip
        return 2
    print(f"{len(wanted) - len(todo)} of {len(wanted)} rows already in {args.out}", flush=True)
    if not todo:
        return 0
    try:
        ensure_task_requirements({task for _, task in todo})
    except subprocess.CalledProcessError as exc:
        print(f"error: pip install {' '.join(TASK_REQUIREMENTS)} failed (exit {exc.returncode}); "
              "its output is above: install it, then run again", file=sys.stderr)  # fmt: skip
        return 2
    pythons, unavailable = peer_pythons({s for s, _ in todo}, args.venvs)
    known = results["budget"]["unavailable"]  # what this run checked replaces what was said
    results["budget"]["unavailable"] = {
        **{k: v for k, v in known.items() if k not in pythons},
        **unavailable,
    }
    with model_server(args, work) as upstream:
        proxy = CountingProxy(upstream, cache=ReplyCache(work / "replies")).start()
        proxy.calls_limit, proxy.max_tokens = args.budget, args.max_tokens
        try:
            runnable = [pair for pair in todo if pair[0] not in unavailable]
            started = time.monotonic()
            for done, (system, task) in enumerate(runnable, 1):
                row = run_row(Row(system, task, work, args, proxy, pythons.get(system)), results)
                results["systems"] = rows.merge(results["systems"], row)
                record(results, args)
                print(pace(done, len(runnable), time.monotonic() - started), flush=True)
            skipped = [(system, task) for system, task in todo if system in unavailable]
            for system, task in skipped:
                print(f"skipped {system}:{task}: {unavailable[system]}", flush=True)
            if skipped:
                record(results, args)  # why they were skipped is part of the results
        finally:
            proxy.stop()
    return 0


def pace(done: int, total: int, seconds: float) -> str:
    """A progress line: rows done this sitting, and the time the rest would take at its pace."""
    left = (total - done) * seconds / done
    return (f"{done} of {total} rows done this sitting ({seconds / 3600:.1f} h); "
            f"about {left / 3600:.1f} h left at this pace")  # fmt: skip


def stop_rows_unstarted(
    todo: list[tuple[str, str]], done: set[tuple[str, str]], stop_from: str
) -> list[str]:
    """The T = 0 rows that STOP rows in `todo` start from and that neither ran nor will."""
    if stop_from != "auto":
        return []
    needed = {(t0, task) for system, task in todo if system in rows.STOP_ROWS
              for t0 in rows.T0_ROWS}  # fmt: skip
    return sorted(f"{s}:{t}" for s, t in needed - done - set(todo))


def openevolve_examples(
    wanted: list[tuple[str, str]], args: argparse.Namespace, work: Path
) -> dict[str, Any] | None:
    """Where OpenEvolve's examples among `wanted` come from, and their files' sha256 (None:
    none is wanted). ValueError: one is wanted and no checkout was given, or it lacks one."""
    asked = sorted({task for _, task in wanted} & set(peer_runs.OPENEVOLVE_EXAMPLES))
    if not asked:
        return None
    if not args.openevolve_examples:
        raise ValueError(
            f"{', '.join(asked)}: OpenEvolve's examples ship in no package; give "
            "--openevolve-examples DIR, the examples/ directory of an OpenEvolve checkout"
        )
    sha256 = peer_runs.add_openevolve_examples(args.openevolve_examples, work)
    return {"from": str(args.openevolve_examples), "sha256": sha256}


def check_budget(wanted: list[tuple[str, str]], args: argparse.Namespace) -> None:
    """ValueError if a selftaught row asked for cannot fit the budget."""
    for system, _ in wanted:
        if system in rows.STOP_ROWS:
            for improver in ("seed", "repair"):
                adapters.improver_shape(improver, args.budget, rows.STOP_ROWS[system])
        elif system in rows.T0_ROWS:
            adapters.improver_shape(rows.T0_ROWS[system], args.budget, 0)


def start_results(args: argparse.Namespace) -> dict[str, Any]:
    """results.json as recorded under this budget, or a new one. A file recorded under
    another budget is moved aside whole (nothing recorded is lost)."""
    signature = rows.signature(args.mode, args.budget, args.max_tokens)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.is_file():
        old = read_results(args.out)
        budget = old.get("budget") or {}
        if {k: budget.get(k) for k in signature} == signature:
            old["budget"].setdefault("unavailable", {})
            old["budget"]["command"] = command()  # the latest sitting's, which covers the rest
            return old
        aside = args.out.with_name(f"{args.out.stem}.{budget.get('mode')}-"
                                   f"{time.strftime('%Y%m%d-%H%M%S')}.json")  # fmt: skip
        args.out.rename(aside)
        print(f"{args.out} held another budget's rows: moved to {aside.name}", flush=True)
    return {
        "model": model_record(args),
        "machine": machine([os.getloadavg()], 0.0),
        "budget": {
            **signature,
            "seeds": args.seeds,
            "unavailable": {},
            "command": command(),
        },  # fmt: skip
        "systems": [],
    }


def command() -> str:
    return " ".join(["nice -n 5 python benchmarks/peers/run.py", *sys.argv[1:]])


def read_results(path: Path) -> dict[str, Any]:
    """The results recorded in `path`; ValueError, saying what is wrong, if there are none."""
    if not path.is_file():
        raise ValueError(f"{path} does not exist; run the benchmark first")
    try:
        results = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not readable JSON ({exc}); restore it with "
                         f"`git checkout -- {path}`, or move it aside") from None  # fmt: skip
    if not isinstance(results, dict) or not isinstance(results.get("systems"), list):
        raise ValueError(f"{path} holds no rows (no \"systems\" list); restore it with "
                         f"`git checkout -- {path}`, or move it aside")  # fmt: skip
    return results


def rescore(args: argparse.Namespace, work: Path, results: dict[str, Any]) -> int:
    """Every recorded row aggregated again from its seeds, the selftaught seeds' final
    solutions taken again from their run databases by today's `final_solution` (`settle`).
    Nothing is paid for or run again. Run it with the benchmark stopped: a running one
    writes results.json from its own copy after its next row."""
    signature = rows.signature(args.mode, args.budget, args.max_tokens)
    for i, row in enumerate(results["systems"]):
        scored = work / row["task"] / "seed_solution.json"
        if not scored.is_file():
            print(f"error: {scored} is missing: give --work the directory the rows were run "
                  "in", file=sys.stderr)  # fmt: skip
            return 2
        u_s = json.loads(scored.read_text())["score"]
        seeds = []
        for seed in range(row["seeds"]):
            where = work / row["task"] / row["system"] / f"seed{seed}"
            done = rows.recorded_seed(where, signature)
            if done is None:
                print(f"error: {where} holds no seed recorded under {signature}; keep the "
                      "work directory the rows were run in (--work)", file=sys.stderr)  # fmt: skip
                return 2
            seeds.append(done if row["system"] in rows.PEERS else settle(where, done, u_s))
        results["systems"][i] = rows.aggregate(
            row["system"], row["task"], seeds, row["isolation"], u_s,
            own_scale=peer_runs.own_scale(row["task"]))  # fmt: skip
    write(results, args)
    return 0


def supersede(args: argparse.Namespace, work: Path, results: dict[str, Any]) -> int:
    """The rows of --supersede moved, as they were recorded, to superseded.json beside
    results.json (with --why and the date), and their seeds' directories under
    `work/superseded/`: the next run measures them again from nothing. Replies in the
    proxy's cache stay: a request made again is answered as the model answered it. Run it
    with the benchmark stopped, as --rescore."""
    pairs = set(rows.select(args.supersede, args.tasks, args.systems))
    found = [r for r in results["systems"] if (r["system"], r["task"]) in pairs]
    if len(found) != len(pairs):
        absent = sorted(pairs - {(r["system"], r["task"]) for r in found})
        raise ValueError(f"no recorded row for {', '.join(f'{s}:{t}' for s, t in absent)} in "
                         f"{args.out}; nothing was moved")  # fmt: skip
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    for row in found:
        seeds = work / row["task"] / row["system"]
        if seeds.exists():
            aside = work / "superseded" / stamp / row["task"] / row["system"]
            aside.parent.mkdir(parents=True, exist_ok=True)
            seeds.rename(aside)
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    old = report.read_superseded(report.superseded_path(args.out))
    kept = old + [{"why": args.why.strip(), "date": date, "row": row} for row in found]
    write_json(report.superseded_path(args.out), kept)  # first: a row is never in neither file
    results["systems"] = [r for r in results["systems"] if r not in found]
    write(results, args)
    for row in found:
        print(f"superseded {row['system']}:{row['task']} (test {row['best_test_utility']:.3f}); "
              "the same command without --supersede measures it again", flush=True)  # fmt: skip
    return 0


def settle(where: Path, done: dict[str, Any], u_s: float) -> dict[str, Any]:
    """A selftaught seed recorded when a row took its improvers' best even below the seed
    solution on val, given the seed solution (scored as u(s) was) and rewritten; any other
    seed as it was."""
    final = final_solution(where / "run")
    if not final.set_aside or done.get("set_aside"):
        return done
    done |= {"test_utility": u_s, "val_utility": final.val, "set_aside": final.set_aside}
    done["notes"]["final_solution"] = "the seed solution"
    rows.write_seed(where, done)
    print(f"    {where}: the improvers' best (val {final.set_aside['val']:.3f}) set aside for "
          f"the seed solution (val {final.val:.3f}); test {u_s:.3f}", flush=True)  # fmt: skip
    return done


def record(results: dict[str, Any], args: argparse.Namespace) -> None:
    """results.json and RESULTS.md with the rows so far (the machine's load appended)."""
    results["machine"]["load_average_1min"].append(round(os.getloadavg()[0], 2))
    results["machine"]["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    problems = rows.check_results(results)
    if problems:
        print("results off the schema or bound: " + "; ".join(problems), file=sys.stderr)
    write(results, args)


def write(results: dict[str, Any], args: argparse.Namespace) -> None:
    """results.json and its page."""
    write_json(args.out, results)
    page(results, args)


def write_json(path: Path, value: Any) -> None:
    """`value` in `path`, written whole, then renamed: a kill leaves no half file."""
    partial = path.with_suffix(".json.part")
    partial.write_text(json.dumps(value, indent=2) + "\n")
    partial.replace(path)


def page(results: dict[str, Any], args: argparse.Namespace) -> None:
    """RESULTS.md: both default result files' sections, or only `--out`'s beside it."""
    if args.out.resolve() in (report.FULL, report.QUICK):
        report.write_default()
        return
    full = results if results["budget"]["mode"] == "full" else None
    quick = None if full else results
    superseded = report.read_superseded(report.superseded_path(args.out))
    report.write(args.out.parent / "RESULTS.md", full, quick, superseded)


def model_record(args: argparse.Namespace) -> dict[str, Any]:
    if args.server != "llama-cpp-python":
        server = f"{args.server} (given with --server)"
    else:
        llama = importlib.metadata.version("llama-cpp-python")
        server = (f"llama-cpp-python {llama} (llama_cpp.server, weights unrepacked), "
                  f"threads {args.threads}, nice {NICE}")  # fmt: skip
    return {"name": MODEL_ALIAS, "file": embedded_model_path().name, "server": server}


def peer_pythons(systems: set[str], venvs: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """Each wanted peer's venv python (made on first use), and why a peer cannot run."""
    pythons, unavailable = {}, {}
    for system in sorted(systems & set(rows.PEERS)):
        try:
            pythons[system] = ensure_venv(
                venvs / system, [PEER_PACKAGES[system], *TASK_REQUIREMENTS]
            )
        except subprocess.CalledProcessError as exc:
            unavailable[system] = (
                f"pip install {PEER_PACKAGES[system]} failed (exit "
                f"{exc.returncode}); its output is above"
            )
            continue
        if system == "skydiscover":
            why = peer_runs.skydiscover_unavailable(pythons[system])
            if why:
                unavailable[system] = why
    return pythons, unavailable


# ------------------------------------------------------------------------ environments


def ensure_task_requirements(tasks: set[str]) -> None:
    """TASK_REQUIREMENTS in this interpreter's environment (installed on first use) when a
    task of `tasks` is one of OpenEvolve's examples, so that selftaught runs a candidate with
    the same packages as the peers do."""
    if tasks & set(peer_runs.OPENEVOLVE_EXAMPLES) and importlib.util.find_spec("scipy") is None:
        print(f"installing {' '.join(TASK_REQUIREMENTS)} (OpenEvolve's examples' requirements)",
              flush=True)  # fmt: skip
        pip_install(Path(sys.executable), TASK_REQUIREMENTS)


def pip_install(python: Path, requirements: list[str]) -> None:
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(["nice", "-n", "10", *pip, *requirements], check=True)


def ensure_venv(venv: Path, requirements: list[str]) -> Path:
    """`venv`'s python, with `requirements` installed (once; a marker file says it was)."""
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.is_file() and marker.read_text() == "\n".join(requirements):
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip_install(python, requirements)
    marker.write_text("\n".join(requirements))
    return python


def embedded_model_path() -> Path:
    from selftaught.lm.embedded import DEFAULT_MODEL, model_path

    return model_path(DEFAULT_MODEL)


# llama_cpp.server with the weights unrepacked (it segfaults on AVX-512/AMX CPUs otherwise),
# run by path in the server's venv, which has llama.cpp and not selftaught
UNREPACKED_SERVER = Path(__file__).resolve().parents[2] / "src/selftaught/lm/llamacpp_server.py"


@contextlib.contextmanager
def model_server(args: argparse.Namespace, work: Path) -> Iterator[str]:
    """The model server's root URL: `--server`'s, or llama.cpp's server started on a free
    loopback port, niced, in a venv of its own; its log in the work directory."""
    if args.server != "llama-cpp-python":
        yield args.server.rstrip("/").removesuffix("/v1")
        return
    llama = importlib.metadata.version("llama-cpp-python")
    python = ensure_venv(args.venvs / "server", [f"llama-cpp-python[server]=={llama}"])
    model = embedded_model_path()
    port = free_port()
    work.mkdir(parents=True, exist_ok=True)
    log = (work / "server.log").open("w")
    command = [
        "nice", "-n", str(NICE), str(python), str(UNREPACKED_SERVER),
        "--model", str(model), "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_threads", str(args.threads), "--n_threads_batch", str(args.threads),
        "--n_ctx", "8192", "--logits_all", "false",
    ]  # fmt: skip
    # The server's default `logits_all` keeps n_ctx x n_vocab float32 logits (5 GB at 8192 x
    # 151,936) and computes them for every prompt token; no row asks for logprobs. With
    # `--cache` each cached state copied them: the server reached 15 GB within 5 minutes of a
    # full-mode row. Without the cache it still reuses the prefix shared with the last prompt.
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


# ------------------------------------------------------------------------ one row


@dataclass
class Row:
    """One (system, task) row being run: where its seeds go, the settings, the proxy."""

    system: str
    task: str
    work: Path
    args: argparse.Namespace
    proxy: CountingProxy
    python: Path | None  # a peer's venv python

    @property
    def spec(self) -> str:
        """What `selftaught` is given: a built-in task's name or an evaluator-form directory."""
        form = peer_runs.EVALUATOR_FORM.get(self.task)
        return str(form) if form else self.task

    def where(self, seed: int) -> Path:
        return self.work / self.task / self.system / f"seed{seed}"

    def label(self, seed: int) -> str:
        return f"{self.system}/{self.task}/seed{seed}"


def run_row(row: Row, results: dict[str, Any]) -> dict[str, Any]:
    """Every seed of `row` (a recorded seed is read back, not run), then the row."""
    signature = rows.signature(row.args.mode, row.args.budget, row.args.max_tokens)
    seed_solution = task_seed(row)
    seeds = []
    for seed in range(row.args.seeds):
        where = row.where(seed)
        done = rows.recorded_seed(where, signature)
        if done is None:
            if where.exists():  # killed part-way: its replies are in the proxy's cache
                shutil.rmtree(where)
            where.mkdir(parents=True)
            done = run_seed(row, seed, results) | {"seed": seed, "budget": signature}
            rows.write_seed(where, done)
        else:
            print(f"    {row.label(seed)}: recorded in {where}", flush=True)
        seeds.append(done)
    if row.system in rows.PEERS:
        isolation = peer_runs.isolation(row.system, row.task)
    else:
        isolation = isolation_selftaught(seed_solution)
    return rows.aggregate(row.system, row.task, seeds, isolation, seed_solution["score"],
                          own_scale=peer_runs.own_scale(row.task))  # fmt: skip


def task_seed(row: Row) -> dict[str, Any]:
    """`selftaught evaluate` of the task's seed solution on test (u(s), the sandbox's layers),
    once per task."""
    path = row.work / row.task / "seed_solution.json"
    if path.is_file():
        return json.loads(path.read_text())
    scored = evaluate(row.work / row.task / "seed_solution", seed_source(row.task), row.spec)
    path.write_text(json.dumps(scored, indent=1) + "\n")
    return scored


def seed_source(task: str) -> str:
    """The program every system starts from on `task`."""
    if task in peer_runs.EVALUATOR_FORM:
        return (peer_runs.EVALUATOR_FORM[task] / "initial_program.py").read_text()
    from selftaught.tasks import get_task

    return get_task(task).seed_solution


def run_seed(row: Row, seed: int, results: dict[str, Any]) -> dict[str, Any]:
    """One seed of `row`: its test utility, val utility, spend, wall time and notes."""
    label, where = row.label(seed), row.where(seed)
    if row.system in rows.PEERS:
        outcome = run_peer(row, seed)
    else:
        improver = stop_improver(row, results) if row.system in rows.STOP_ROWS else None
        outcome = run_selftaught(row, seed, improver)
    spent = row.proxy.spent(label)
    outcome["spent"] = spent
    outcome["wall_seconds"] = round(outcome["wall_seconds"], 1)
    print(f"    {label}: test {outcome['test_utility']:.3f}, {spent['answered']} calls "
          f"({spent['cached_requests']} from the cache), {spent['completion_tokens']} "
          f"completion tokens", flush=True)  # fmt: skip
    (where / "calls.json").write_text(json.dumps(
        [c for c in row.proxy.dump() if c["label"] == label], indent=1))  # fmt: skip
    return outcome


def run_peer(row: Row, seed: int) -> dict[str, Any]:
    where, args, proxy = row.where(seed), row.args, row.proxy
    assert row.python is not None
    peer = peer_runs.prepare(row.task, where / "task")
    common = dict(api_base=proxy.base_url, model=MODEL_ALIAS, calls=args.budget,
                  max_tokens=args.max_tokens)  # fmt: skip
    if row.system == "openevolve":
        command = peer_runs.openevolve_command(row.python, peer, where, **common, seed=seed)
        best_of = peer_runs.openevolve_best
    elif row.system == "shinkaevolve":
        command = peer_runs.shinka_command(row.python, peer, where, **common)
        best_of = peer_runs.shinka_best
    else:
        command = peer_runs.skydiscover_command(row.python, peer, where, **common, seed=seed)
        best_of = peer_runs.skydiscover_best
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    env["OPENAI_API_KEY"] = "none"  # a client that insists on a key gets a dummy, never ours
    wall, code = timed(row.label(seed), proxy, ["nice", "-n", str(NICE), *command],
                       where / "peer.log", env, where)  # fmt: skip
    best, notes = best_of(where)
    scored = evaluate(where / "best", best, row.spec)
    own = (notes.get("own_val_metrics") or {}) if isinstance(notes, dict) else {}
    val = own.get("combined_score") if isinstance(own, dict) else None
    return {"test_utility": float(scored["score"]), "val_utility": val, "wall_seconds": wall,
            "exit": code, "executions": peer_runs.evaluations(peer),
            "notes": {**notes, "test_failure": scored["failure"]}}  # fmt: skip


def stop_improver(row: Row, results: dict[str, Any]) -> str:
    """The STOP rows' initial improver: --stop-from, or the T = 0 row of the task with the
    higher mean val meta-utility over its seeds (ties: the paper's seed improver)."""
    if row.args.stop_from != "auto":
        return row.args.stop_from
    means = {}
    for system, improver in rows.T0_ROWS.items():
        found = [r for r in results["systems"] if (r["system"], r["task"]) == (system, row.task)]
        vals = [s["meta_utility_val"] for r in found for s in r["per_seed"]
                if s.get("meta_utility_val") is not None]  # fmt: skip
        if not vals:
            raise SystemExit(f"error: {row.system}:{row.task} starts from the better of "
                             f"selftaught-seed:{row.task} and selftaught-repair:{row.task}; "
                             f"run those rows first, or give --stop-from seed|repair")  # fmt: skip
        means[improver] = sum(vals) / len(vals)
    return "repair" if means["repair"] > means["seed"] else "seed"


def run_selftaught(row: Row, seed: int, stop_from: str | None) -> dict[str, Any]:
    """One `selftaught run` (T = 0 rows: --iterations 0) under a run-wide cap of the budget."""
    args, where = row.args, row.where(seed)
    if stop_from is None:
        shape = adapters.improver_shape(rows.T0_ROWS[row.system], args.budget, 0)
    else:
        shape = adapters.improver_shape(stop_from, args.budget, rows.STOP_ROWS[row.system])
    config = where / "run.toml"
    config.write_text(selftaught_toml(shape, row.spec, row.proxy.base_url, args, seed))
    command = selftaught_command("run", "--config", str(config), "--run-dir",
                                 str(where / "run"), "--json")  # fmt: skip
    log = where / "selftaught.log"
    wall, code = timed(row.label(seed), row.proxy, command, log, selftaught_env(), where)
    summary = last_json(log) or recorded(where / "run")  # exit 3 (the cap) prints no summary
    iterations = summary.get("iterations") or []
    last = iterations[-1] if iterations else {}
    final = final_solution(where / "run")
    # The seed solution's test score is u(s), already taken once per task: not again per seed.
    scored = task_seed(row) if final.source is None else evaluate(
        where / "final", final.source, row.spec)  # fmt: skip
    return {"test_utility": float(scored["score"]), "val_utility": final.val,
            "set_aside": final.set_aside,
            "meta_utility_val": last.get("meta_utility_val"),
            "meta_utility_test": last.get("meta_utility_test"),
            "wall_seconds": wall, "exit": code,
            "executions": int(summary.get("evaluations") or 0),
            "notes": {"shape": shape.__dict__, "most_calls": shape.most_calls,
                      "iterations": iterations, "test_failure": scored["failure"],
                      "final_solution": "the seed solution" if final.source is None
                      else "returned"}}  # fmt: skip


@dataclass(frozen=True)
class FinalSolution:
    """A selftaught row's final solution: its source (None: the seed solution stands), its
    val score, and the improvers' best {"val", "test"} when it was set aside below the seed's."""

    source: str | None
    val: float | None
    set_aside: dict[str, float | None] | None = None


def final_solution(run_dir: Path) -> FinalSolution:
    """A selftaught run's final solution, taken as a peer's best program is: the best by val
    of the seed solution and the solutions its improvers returned. A peer's archive starts
    with its initial program, so its best is never below that on val; the paper's seed
    improver returns its best candidate even when it is worse than the solution it was
    given, and such a solution is set aside (and recorded) rather than scored. The last
    iteration's meta-utility (an improver's mean over its repetitions) is kept beside it in
    the seed's record: it picks the STOP rows' improver."""
    from selftaught.store import RunReader, StoreError

    try:
        reader = RunReader(run_dir / "run.db")
        scores = reader.solution_scores()
    except StoreError:
        return FinalSolution(None, None)  # no run database: nothing was returned
    if not scores:
        return FinalSolution(None, None)  # stopped before any improver ran
    one = scores[0]  # a row's run is on one task
    if not one.best_program:
        return FinalSolution(None, one.seed_val)
    if one.seed_val is not None and one.best_val is not None and one.best_val < one.seed_val:
        return FinalSolution(None, one.seed_val, {"val": one.best_val, "test": one.best_test})
    return FinalSolution(reader.get_program(one.best_program), one.best_val)


def selftaught_toml(
    shape: adapters.Shape, spec: str, base_url: str, args: argparse.Namespace, seed: int
) -> str:
    return adapters.dedent(f"""
        task = {json.dumps(spec)}
        model = "openai:{MODEL_ALIAS}"
        base_url = {json.dumps(base_url)}
        iterations = {shape.iterations}
        improver = {json.dumps(shape.improver)}
        gate = "better"
        seed = {seed}
        concurrency = 1
        repetitions = {shape.repetitions}
        responses_per_call = {shape.responses_per_call}
        lm_calls = {shape.lm_calls}
        utility_calls = {shape.utility_calls}
        meta_utility_calls = {shape.meta_utility_calls}
        temperature = 0.7
        max_tokens = {args.max_tokens}

        [caps]
        calls = {args.budget}

        [model_options]
        timeout = 3600.0
        retries = 0
        concurrency = 1
    """)


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


def selftaught_env() -> dict[str, str]:
    """This checkout's selftaught, whatever the venv has installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    return env


def timed(
    label: str,
    proxy: CountingProxy,
    command: list[str],
    log: Path,
    env: dict[str, str],
    cwd: Path,
) -> tuple[float, int]:
    """Run `command` in `cwd` with the proxy's traffic labelled; (wall seconds, exit code).

    A system that asks past its bound (the proxy refused a call) and does not stop by itself
    within `GRACE` seconds is stopped: ShinkaEvolve, for one, retries a refused call for
    minutes. Its process group gets SIGTERM, then SIGKILL; what it recorded is read after.
    Its wall time then ends at the refusal: the grace and the stopping are ours, not its."""
    proxy.label = label
    print(f"[{time.strftime('%H:%M:%S')}] {label} ...", flush=True)
    started = time.monotonic()
    with log.open("w") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                 cwd=cwd, start_new_session=True)  # fmt: skip
        try:
            stopped_at = watch(child, label, proxy)
        except BaseException:  # interrupted: the system's own session goes with the driver
            stop_group(child)
            raise
    wall = (stopped_at or time.monotonic()) - started
    proxy.label = "between rows"
    spent = proxy.spent(label)
    print(f"    {wall:.0f} s, exit {child.returncode}, {spent['requests']} requests, "
          f"{spent['completion_tokens']} completion tokens", flush=True)  # fmt: skip
    return wall, child.returncode


def watch(child: subprocess.Popen, label: str, proxy: CountingProxy) -> float | None:
    """Waits for `child`, stopping it `GRACE` seconds after the proxy first refused it; when
    it was first refused if it had to be stopped, else None."""
    refused_at = None
    while child.poll() is None:
        time.sleep(1)
        if refused_at is None and proxy.spent(label)["refused_requests"]:
            refused_at = time.monotonic()
        if refused_at is not None and time.monotonic() - refused_at > GRACE:
            stop_group(child)
            return refused_at
    return None


def stop_group(child: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 30)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=wait)
            return


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


if __name__ == "__main__":
    raise SystemExit(main())
