"""RESULTS.md from the full run's results.json and the quick run's quick/results.json (run.py
writes the page after every row; `run.py --render` redoes only this). The prose that does not
depend on the figures lives here too, so that a re-run keeps the page whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FULL, QUICK = HERE / "results.json", HERE / "quick" / "results.json"

ROLES = {
    "openevolve": "OpenEvolve 0.4.0, its evolutionary loop (one call per iteration)",
    "shinkaevolve": "ShinkaEvolve 0.0.7, `shinka_run` (one proposal per generation)",
    "skydiscover": "SkyDiscover 0.1.0, EvoX (the model also rewrites the search strategy)",
    "selftaught-seed": "selftaught, the paper's seed improver, T = 0",
    "selftaught-repair": "selftaught, the repair improver, T = 0",
    "selftaught-stop1": "selftaught, STOP T = 1 from the better T = 0 improver",
    "selftaught-stop2": "selftaught, STOP T = 2 from the better T = 0 improver",
}

INTRO = """# selftaught and its peers on one model server and one bound

Each row is one system on one task, run once per seed, with at most **{calls} model calls of at
most {tokens} tokens** per seed, counted and enforced by one counting proxy in front of one
model server (a call past the bound is refused there, a request for more tokens is sent with
the bound). Peers run through their own command lines, each from PyPI in a venv of its own;
selftaught through `selftaught run`. Every row's final solution is scored on the task's test
split by `selftaught evaluate`, so one scorer and one split judge every system.
"""

COMMANDS = """## Running it

```bash
# venvs are made on first use under ~/.cache/selftaught/peers/ (openevolve, shinkaevolve,
# skydiscover, server), each `pip install`ing its pinned PyPI release
nice -n 5 python benchmarks/peers/run.py --quick    # 8 calls x 64 tokens, lpn, 1 seed
nice -n 5 python benchmarks/peers/run.py            # full: 24 x 1024, 5 tasks, 3 seeds
# ... and OpenEvolve's function_minimization and circle_packing, from a checkout of its repo
nice -n 5 python benchmarks/peers/run.py --openevolve-examples ~/openevolve/examples
nice -n 5 python benchmarks/peers/run.py --rows openevolve:maxcut,selftaught-repair:lpn
nice -n 5 python benchmarks/peers/run.py --server http://127.0.0.1:8080/v1   # a running server
python benchmarks/peers/run.py --render                           # this page again
python benchmarks/peers/run.py --rescore --work DIR    # final solutions again, from run dbs
python benchmarks/peers/run.py --supersede ROWS --why TEXT --work DIR   # measure rows again
```

- **Spanning sittings.** Each seed is recorded (`seed.json` in its directory under
  `benchmarks/peers/work/`, git-ignored) when it finishes, each row in results.json when its
  seeds have. Run the same command again: recorded rows and seeds are skipped, and a seed
  killed part-way is run again with the replies it already had served from the proxy's reply
  cache (`work/<mode>-<calls>x<tokens>/replies/`, keyed by the row, the request and its
  occurrence), so no call is paid twice. selftaught's rows resume the same way rather than
  through `cache_from`: a reply selftaught replayed from its own cache would never reach the
  proxy, and the row's calls would be undercounted. A results.json recorded under another
  budget is moved aside whole, never overwritten.
- **Rows.** `--rows system:task,...` or `--systems` x `--tasks`. STOP rows start from the
  T = 0 improver (seed or repair) with the higher mean val meta-utility on the task, so they
  run after both T = 0 rows, or with `--stop-from seed|repair`.
- **Tasks.** lpn, string_grid, maxcut (selftaught's own), and four evaluator-form tasks every
  system runs unchanged: OpenEvolve's own function_minimization, circle_packing and
  k_module_problem examples, and examples/tasks/evaluator_form (Rastrigin). k_module_problem
  is vendored (examples/tasks/k_module_problem/VENDORED.md). The other two ship in no package
  (the openevolve 0.4.0 wheel and sdist have no `examples/`) and are not copied into this
  repository: `--openevolve-examples DIR` takes them from an OpenEvolve checkout's
  `examples/` (here commit 411fb59), copies each one's evaluator.py and initial_program.py
  unchanged into the work directory with the config its README starts from as config.yaml
  (circle_packing: config_phase_1.yaml), and records the files' sha256 in results.json
  (`budget.openevolve_examples`). Without it they are left out. Their requirements.txt names
  scipy, which a model-written program may import: the benchmark installs it into each peer's
  venv and into selftaught's (matplotlib, for their `visualize()` only, is left out).
- **Every peer on every kind of task.** Besides the quick run below, OpenEvolve and
  ShinkaEvolve were run at 2 calls x 64 tokens on maxcut, k_module_problem (ShinkaEvolve) and
  evaluator_form (`--quick --budget 2 --rows ...`, 2026-12-07, load about 8): each ran, spent
  its 2 calls, and its best program was scored on test (maxcut 0.254 and 0.278,
  evaluator_form 0.030 and 0.030, k_module_problem 0.000, as its seed solution). selftaught's
  rows likewise on string_grid (repair 0.450), maxcut (seed improver 0.000: its replies held
  no program), k_module_problem (repair 0.000) and evaluator_form (repair 0.030). On
  OpenEvolve's function_minimization and circle_packing (`--quick --budget 2
  --openevolve-examples DIR --rows ...`, 2026-12-07, beside the full run) OpenEvolve,
  ShinkaEvolve and selftaught's seed and repair improvers each ran and spent 2 calls, and each
  best program scored its seed solution's 1.259 and 0.364 on test: at 64 tokens no reply held
  a whole program. ShinkaEvolve first scored 0 on function_minimization: its evaluator imports
  `openevolve.evaluation_result`, which ShinkaEvolve's venv lacks, so every program was
  incorrect; its evaluate.py now provides that type.
- **Earlier runs.** [string_grid-1024/](string_grid-1024/RESULTS.md): OpenEvolve and
  selftaught on string_grid at 3 calls x 1024 tokens, one seed, before this harness (kept as
  it was; its schema is the old one).
"""

NOT_RUN = """## Full mode

Not run yet: `nice -n 5 python benchmarks/peers/run.py`. Its size: 6 rows that run here x 7
tasks x 3 seeds = 126 seeds of up to 24 calls of up to 1024 tokens. At the rate measured in
[string_grid-1024/](string_grid-1024/RESULTS.md) on this machine at load 5 to 8 (about 70 s
per call at 1024 tokens, one llama.cpp thread), that is about 60 hours; it resumes where it
stopped, so it can be run a few rows at a time (`--rows`), or against a faster server
(`--server URL`).
"""

SETTINGS = """## What each system is given

- **One server, one concurrency.** The default embedded model behind an OpenAI-compatible
  server on loopback (`--server llama-cpp-python`: llama.cpp's `llama_cpp.server` with the
  weights unrepacked, in the venv `~/.cache/selftaught/peers/server`; or any running server
  given by URL, e.g. llama.cpp's `llama-server` with parallel slots), one request at a time
  for every system: OpenEvolve one worker and `parallel_evaluations: 1`, ShinkaEvolve
  `--max-proposal-jobs 1 --max-evaluation-jobs 1`, selftaught `concurrency = 1`.
- **OpenEvolve 0.4.0** (`python -m openevolve.cli`): `max_iterations` = the call bound (one
  call per iteration), no LLM feedback, no retries; its own prompts and database settings
  (its examples: the example's config, its temperature and system message, with its
  `primary_model`/`secondary_model` dropped for our one model; otherwise its defaults,
  temperature 0.7, the utility's source in its system message). Two settings for a small
  model on a local server, on every task:
  - whole-program rewrites (`diff_based_evolution: false`), as recommended for small models
    (OpenEvolve #241); measured here, none of the 0.5B's diffs on lpn applied (72 calls);
  - the seed (`database.random_seed`) seeds its database, not the model (`random_seed:
    null`). With a top-level `random_seed` (default 42) OpenEvolve sends one fixed seed with
    every request, which llama.cpp honours exactly: a call that adds no program leaves the
    prompt as it was, and every later call replays the same reply.

  Rows recorded before 2026-12-07 14:40 UTC ran with OpenEvolve's defaults (diffs, one
  seed on every request) and were superseded, not kept in results.json: lpn 0.469 [0.469,
  0.469], where each seed's 24 calls were one reply (seed 0: two; told apart by their token
  counts), none of whose diffs applied, so every seed kept its initial program;
  k_module_problem 0.083 [0.000, 0.442], whose config already rewrites whole programs, with
  18 or 19 different replies of 24 by the same count.
- **ShinkaEvolve 0.0.7** (`shinka_run --task-dir`): `--num_generations` = the call bound,
  the task's evaluator behind a generated evaluate.py (which gives OpenEvolve's evaluators
  the `openevolve.evaluation_result` type they import, from `selftaught.interop`, the
  stand-in selftaught's sandbox uses),
  our server as its one model (`local/<model>@<url>`), `temperatures [0.7]`, `max_tokens` =
  the bound, no embedding model (it would call an embeddings API outside the bound; its
  novelty check by code similarity is then off), everything else its defaults (diff, full and
  cross patches 0.6/0.3/0.1, up to 3 resamples of a patch that does not apply, meta
  recommendations every 10 generations). A generation may take more than one call (a
  resample is a call), so ShinkaEvolve reaches the bound before its last generation: the
  proxy refuses the next call, ShinkaEvolve retries a refused call with backoff for minutes,
  so the driver stops its process group 20 s after the first refusal and takes the best
  correct program from its own database (`programs.sqlite`); its wall time ends at the
  refusal. It sends no seed and draws its
  patch type with Python's unseeded `random`, so seeds differ by sampling alone, and a
  killed ShinkaEvolve seed run again replays from the cache only the calls it asks again
  the same way (measured: 1 of 2).
- **The peers' initial program** is the task's seed solution inside one EVOLVE-BLOCK (built-in
  tasks; `adapters.py`). selftaught's sandbox seeds a program's randomness from its text, so
  on lpn, whose seed solution guesses at random, that initial program scores 0.469 on test
  where the seed solution scores 0.500: a peer row at 0.469 kept its initial program.
- **SkyDiscover 0.1.0**, EvoX (`skydiscover-run --search evox`): where it can run, the same
  server for its solution and guide models, `max_iterations` = the call bound, one
  evaluation at a time, no retries; the proxy's refusal and the driver's stop bound it as
  they bound ShinkaEvolve.
- **selftaught** (`selftaught run`, `seed` = the seed): T = 0 rows are runs with
  `--iterations 0` of the seed improver (one call for n responses) or the repair improver
  (n calls of one response), n as large as the bound allows (two repetitions from 24 calls
  on); STOP rows run T = 1 or 2 iterations from the T = 0 improver with the higher mean val
  meta-utility, each invocation as large as the worst case of the whole run allows (a
  library-style improver measures the incumbent and its candidate: two meta-utility calls).
  The host caps each run at the bound (`[caps] calls`), and the proxy refuses past it too.
  A row's result is its run's final solution, taken as a peer's best program is: the best
  by val of the seed solution and the solutions its improvers returned, scored on test. A
  peer's archive starts with its initial program, so its best is never below that on val;
  the paper's seed improver returns its best candidate even when it is worse than the
  solution it was given. Where every solution the improvers returned was below the seed
  solution on val, the seed solution stands and the improvers' best is listed beside it
  ("set aside"; `set_aside` in results.json). The last iteration's meta-utility (the
  improver's mean over its repetitions, what STOP optimises) is in results.json beside it
  per seed (`meta_utility_val`, `meta_utility_test`). Rows recorded before 2026-12-07
  12:00 UTC reported the meta-utility, and rows recorded before 2026-12-07 19:00 UTC took
  the improvers' best even below the seed solution; both were re-scored from their run
  databases, no call repaid.
"""

ISOLATION_ROWS = [
    ("where a candidate runs",
     "a child of a warm zygote, one per evaluation; built-in tasks: outputs come back as "
     "plain JSON and the host scores them; evaluator-form tasks: the evaluator runs in the "
     "child with the candidate"),
    ("network", "none: an empty network namespace, and seccomp refuses `socket`"),
    ("files", "writes only in a size-capped tmpfs scratch directory (Landlock)"),
    ("processes", "strict profile: no fork or exec; evaluator profile: the interpreter only, "
     "in a pids cgroup, all killed with the evaluation"),
    ("keys", "scrubbed environment; the model is reached only through the host's broker"),
]  # fmt: skip

PEER_ISOLATION = {
    "where a candidate runs": "where_candidates_run",
    "network": "network",
    "files": "files",
    "processes": "processes",
    "keys": "keys",
}


def write(
    path: Path,
    full: dict[str, Any] | None,
    quick: dict[str, Any] | None,
    superseded: list[dict[str, Any]] = (),
) -> None:
    path.write_text(render(full, quick, superseded))


def write_default() -> None:
    """RESULTS.md beside this file from both default result files (either may be absent)
    and the full mode's superseded rows."""
    full = json.loads(FULL.read_text()) if FULL.is_file() else None
    quick = json.loads(QUICK.read_text()) if QUICK.is_file() else None
    write(HERE / "RESULTS.md", full, quick, read_superseded(superseded_path(FULL)))


def superseded_path(results: Path) -> Path:
    """Where the rows superseded from `results` are kept: superseded.json beside it."""
    return results.with_name("superseded.json")


def read_superseded(path: Path) -> list[dict[str, Any]]:
    """The superseded rows kept in `path` (none: []); ValueError, one line, if damaged."""
    if not path.is_file():
        return []
    try:
        kept = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not readable JSON ({exc}); restore it with "
                         f"`git checkout -- {path}`") from None  # fmt: skip
    if not isinstance(kept, list) or not all(_is_superseded(k) for k in kept):
        raise ValueError(f"{path} is not a list of {{why, date, row}}; restore it with "
                         f"`git checkout -- {path}`")  # fmt: skip
    return kept


def _is_superseded(kept: Any) -> bool:
    if not isinstance(kept, dict):
        return False
    return all(isinstance(kept.get(k), t) for k, t in (("why", str), ("date", str), ("row", dict)))


def render(
    full: dict[str, Any] | None,
    quick: dict[str, Any] | None,
    superseded: list[dict[str, Any]] = (),
) -> str:
    # The bound the full mode holds every row to; the quick section states its own.
    budget = (full or {}).get("budget") or {"model_calls_per_row": 24, "max_tokens": 1024}
    parts = [INTRO.format(calls=budget["model_calls_per_row"], tokens=budget["max_tokens"])]
    if full:
        parts.append("## Full mode\n\n" + progress(full) + section(full))
        parts += superseded_section(superseded)
    else:
        parts.append(NOT_RUN)
    if quick:
        parts.append("## Quick mode\n\nA check that every row runs end to end, not a "
                     "measure of which system searches better: replies are cut at "
                     f"{quick['budget']['max_tokens']} tokens.\n\n" + section(quick))  # fmt: skip
    parts.append(SETTINGS)
    parts.append(COMMANDS)
    parts.append(isolation([*(full or {}).get("systems", []), *(quick or {}).get("systems", [])]))
    return "\n".join(parts)


def progress(full: dict[str, Any], tasks: int = 7, examples: int = 2) -> str:
    """Where a full run that spans sittings stands: its rows so far against the whole (every
    system of ROLES that can run here, on `tasks` tasks, or `tasks - examples` without
    OpenEvolve's examples: rows.TASKS and OPENEVOLVE_EXAMPLES, which a test holds equal)."""
    if not full["budget"].get("openevolve_examples"):
        tasks -= examples
    runnable = (len(ROLES) - len(full["budget"].get("unavailable") or {})) * tasks
    done = len(full["systems"])
    if done >= runnable:
        return ""
    return (
        f"**Part-way: {done} of {runnable} rows recorded** (every system that runs here on "
        f"{tasks} tasks). `nice -n 5 python benchmarks/peers/run.py` runs the rest "
        "(`--openevolve-examples DIR` for OpenEvolve's examples); a recorded seed is never "
        "run again.\n\n"
    )


def section(results: dict[str, Any]) -> str:
    b, m = results["budget"], results["machine"]
    loads = ", ".join(str(x) for x in m["load_average_1min"])
    lines = [
        f"`{b.get('command', '')}`: {b['model_calls_per_row']} calls x {b['max_tokens']} "
        f"tokens per row and seed, {b.get('seeds', '?')} seed(s) per row.",
        "",
        f"Machine: {m['cpus']} cores ({m['cpu']}), {m['system']}, Python {m['python']}, "
        f"{m['date']}; load average (1 min) at the start and after each row: {loads} (the "
        f"cores are shared with other work). Model: {results['model']['name']} "
        f"(`{results['model']['file']}`), {results['model']['server']}.",
        "",
    ]
    for system, why in (b.get("unavailable") or {}).items():
        lines += [f"**{system} could not run here:** {why}.", ""]
    lines += overview(results["systems"])
    for task in dict.fromkeys(r["task"] for r in results["systems"]):
        lines += task_table(task, [r for r in results["systems"] if r["task"] == task])
    lines += seeds_list(results["systems"])
    lines += [
        "Test utility: mean over seeds of the final solution's test-split utility, with its "
        "95% t interval (one seed: none), clipped to [0, 1] on the built-in tasks, whose "
        "utilities live there, and not on evaluator-form tasks (k_module_problem, "
        "evaluator_form, OpenEvolve's examples), scored on their evaluator's own scale. "
        "Calls, prompt and completion tokens: the most any "
        "seed spent, counted at the server by the proxy. Per 1,000 tokens: (test utility - "
        "u(s)) / (tokens / 1000), u(s) the task's seed solution on the same split. A winner "
        "is named only where its interval lies above every other row's.",
        "",
    ]
    return "\n".join(lines)


def overview(rows: list[dict[str, Any]]) -> list[str]:
    """Every system's mean test utility on every task at a glance (the tables below give the
    intervals), each task's winner in bold, and the task's seed solution for reference."""
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    systems = list(dict.fromkeys(r["system"] for r in rows))
    mean = {(r["system"], r["task"]): r for r in rows}
    won = {t: winner([r for r in rows if r["task"] == t]).strip("`") for t in tasks}
    lines = ["| mean test utility | " + " | ".join(tasks) + " |",
             "|---|" + "---|" * len(tasks),
             "| seed solution, u(s) | " + " | ".join(
                 f"{next(r for r in rows if r['task'] == t)['seed_test_utility']:.3f}"
                 for t in tasks) + " |"]  # fmt: skip
    for system in systems:
        cells = []
        for task in tasks:
            row = mean.get((system, task))
            cell = "–" if row is None else f"{row['best_test_utility']:.3f}"
            cells.append(f"**{cell}**" if won[task] == system else cell)
        lines.append(f"| `{system}` | " + " | ".join(cells) + " |")
    named = any(won[t] in systems for t in tasks)
    note = (
        "Bold: the task's winner, its interval above every other row's."
        if named
        else "No task has a winner: on each, some other row's interval overlaps the best's."
    )
    return [*lines, "", f"{note} –: not run yet.", ""]  # fmt: skip


def seeds_list(rows: list[dict[str, Any]]) -> list[str]:
    """Each seed of each row: its test utility, calls (cached), exit and wall time. An exit
    of -15 is a peer stopped by the driver after the proxy refused it a call past the bound."""
    lines = ["Every seed (exit -15: stopped at the bound by the driver):", ""]
    for r in rows:
        seeds = "; ".join(
            f"seed {s['seed']}: {s['test_utility']:.3f}{_set_aside(s)}, {s['lm_calls']} calls "
            f"({s['cached']} cached), exit {s['exit']}, {s['wall_seconds']:.0f} s"
            for s in r["per_seed"]
        )
        lines.append(f"- `{r['system']}` on {r['task']}: {seeds}")
    return [*lines, ""]


def _set_aside(seed: dict[str, Any]) -> str:
    """Where a selftaught seed's improvers returned only solutions below the seed solution
    on val, what was set aside (see "What each system is given")."""
    aside = seed.get("set_aside")
    if not aside:
        return ""
    test = "–" if aside["test"] is None else f"{aside['test']:.3f}"
    return (f" (the seed solution; the improvers' best, set aside: val {aside['val']:.3f}"
            f" < {seed['val_utility']:.3f}, test {test})")  # fmt: skip


def superseded_section(superseded: list[dict[str, Any]]) -> list[str]:
    """The rows measured and then measured again, as they were recorded, and why."""
    if not superseded:
        return []
    lines = ["### Superseded rows", "",
             "Rows recorded and then measured again (`run.py --supersede`), kept as they were "
             "in superseded.json; the tables above hold the new rows.", ""]  # fmt: skip
    for kept in superseded:
        r = kept["row"]
        ci = "–" if r.get("ci") is None else f"[{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]"
        seeds = ", ".join(f"{s['test_utility']:.3f}" for s in r.get("per_seed", []))
        lines.append(f"- `{r['system']}` on {r['task']}: test {r['best_test_utility']:.3f} {ci} "
                     f"(seeds {seeds}), superseded {kept['date']}. Why: {kept['why']}")  # fmt: skip
    return ["\n".join([*lines, ""])]


def task_table(task: str, rows: list[dict[str, Any]]) -> list[str]:
    seed = rows[0]["seed_test_utility"]
    lines = [
        f"### {task} (u(s) = {seed:.3f})",
        "",
        "| system | what ran | test utility | 95% interval | seeds | calls | prompt tokens "
        "| completion tokens | wall s | gain per 1,000 tokens |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ci = "–" if r["ci"] is None else f"[{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]"
        gain = (r["best_test_utility"] - seed) / (r["tokens"] / 1000) if r["tokens"] else 0.0
        lines.append(
            f"| `{r['system']}` | {ROLES.get(r['system'], '')} | {r['best_test_utility']:.3f} "
            f"| {ci} | {r['seeds']} | {r['lm_calls']} | {r['prompt_tokens']} "
            f"| {r['completion_tokens']} | {r['wall_seconds']:.0f} | {gain:+.4f} |"
        )
    lines += ["", f"Winner: {winner(rows)}.", ""]
    return lines


def winner(rows: list[dict[str, Any]]) -> str:
    """The row whose interval lies above every other row's, or why there is none."""
    if len(rows) < 2:
        return "none named (one row so far)"
    if any(r["ci"] is None for r in rows):
        return "none named (an interval needs two seeds or more)"
    best = max(rows, key=lambda r: r["best_test_utility"])
    if all(best["ci"][0] > r["ci"][1] for r in rows if r is not best):
        return f"`{best['system']}`"
    return "none (the intervals overlap)"


def isolation(systems: list[dict[str, Any]]) -> str:
    """selftaught's layers as measured here, beside each peer's, from its installed source:
    from the rows of both modes, so that a full mode part-way through hides no system."""
    peers = {}
    layers = {}
    for r in systems:
        if r["system"].startswith("selftaught"):
            layers[r["task"]] = r["isolation"].get("layers") or []
        else:
            peers.setdefault(r["system"], r["isolation"])
    names = list(peers)
    head = "| | selftaught | " + " | ".join(names) + " |"
    lines = ["## What each system isolates", "",
             "selftaught: its sandbox's layers as `selftaught evaluate` reported them on this "
             "machine; the peers: from their installed source (OpenEvolve: evaluator.py, "
             "process_parallel.py; ShinkaEvolve: launch/local.py; SkyDiscover: "
             "evaluation/evaluator.py). No peer isolates the network, files or keys.", "",
             head, "|---|---|" + "---|" * len(names)]  # fmt: skip
    for what, ours in ISOLATION_ROWS:
        theirs = " | ".join(peers[n].get(PEER_ISOLATION[what], "") for n in names)
        lines.append(f"| {what} | {ours} | {theirs} |")
    lines.append("")
    for task, found in layers.items():
        lines.append(f"- selftaught's layers on {task}: {', '.join(found) or 'none reported'}")
    return "\n".join(lines) + "\n"
