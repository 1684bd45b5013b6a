"""One seed of a peer (OpenEvolve, ShinkaEvolve, SkyDiscover) on one task, through its own
command line, in its own venv, talking to the model only through the counting proxy; and what
each peer isolates, from its installed source.

Every peer is given the same task directory (`prepare`): for a built-in task, the evaluator and
initial program `adapters.py` makes from our task; for an evaluator-form task
(k_module_problem, evaluator_form, and OpenEvolve's examples taken from a checkout), the task's
own `evaluator.py` unchanged, behind a wrapper that counts its calls. Each peer's best program is
returned for `selftaught evaluate` to score on the test split.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import adapters
import yaml

ROOT = Path(__file__).resolve().parents[2]
EVALUATOR_FORM = {
    "k_module_problem": ROOT / "examples" / "tasks" / "k_module_problem",  # vendored
    "evaluator_form": ROOT / "examples" / "tasks" / "evaluator_form",
}
# OpenEvolve's own examples that no package ships (neither the 0.4.0 wheel nor its sdist has
# examples/), run from a checkout of its repository (`--openevolve-examples`), never copied
# into this one: example -> the config its README starts from.
OPENEVOLVE_EXAMPLES = {
    "function_minimization": "config.yaml",
    "circle_packing": "config_phase_1.yaml",
}


def own_scale(task: str) -> bool:
    """Whether `task` is scored on its evaluator's own scale (an evaluator-form task given
    no score range), not on [0, 1]: function_minimization's combined score is 1.26."""
    return task in EVALUATOR_FORM or task in OPENEVOLVE_EXAMPLES


# How an evaluator runs the candidate it is given, where it is not an in-process import.
EVALUATOR_RUNS = {
    "circle_packing": "a child process the task's own evaluator starts (subprocess.Popen)",
}
OE_SYSTEM = (
    "You are an expert software developer tasked with iteratively improving a Python program. "
    "The program is scored by this utility function (higher is better):\n```python\n{}\n```"
)
TEMPERATURE = 0.7  # what selftaught's improvers ask for, where a task sets none


@dataclass(frozen=True)
class PeerTask:
    """What every peer is given for one task: the directory holding evaluator.py and
    initial_program.py, the evaluations counter, and OpenEvolve's settings."""

    directory: Path
    counter: Path
    base_config: dict[str, Any]  # an example's own config.yaml, or {}
    temperature: float | None  # None: the example's own
    system_message: str | None  # None: the example's own


def prepare(task: str, directory: Path) -> PeerTask:
    """The task directory every peer is run on (made afresh)."""
    if directory.exists():
        shutil.rmtree(directory)
    counter = directory / "evaluations.log"
    if task in EVALUATOR_FORM:
        source = EVALUATOR_FORM[task]
        directory.mkdir(parents=True)
        counter.write_text("")
        wrapper = adapters.counting_wrapper(source / "evaluator.py", counter)
        (directory / "evaluator.py").write_text(wrapper)
        shutil.copy(source / "initial_program.py", directory / "initial_program.py")
        config = source / "config.yaml"
        base = yaml.safe_load(config.read_text()) if config.is_file() else {}
        own = bool(base)  # an example with its own settings keeps them
        return PeerTask(directory, counter, base, None if own else TEMPERATURE, None)
    from selftaught.tasks import get_task

    ours = get_task(task)
    adapters.write_openevolve_task(
        directory, task, ours.seed_solution, ours.description, str(ROOT / "src")
    )
    system = OE_SYSTEM.format(ours.description.strip())
    return PeerTask(directory, counter, {}, TEMPERATURE, system)


def add_openevolve_examples(examples: Path, work: Path) -> dict[str, dict[str, str]]:
    """Make each of OPENEVOLVE_EXAMPLES under `examples` (a checkout's examples/ directory) an
    evaluator-form task: its evaluator and initial program copied unchanged into `work`, with
    its starting config as config.yaml, which every system reads. Returns each file's sha256,
    so a reader can check them against upstream. ValueError: a one-line reason."""
    digests = {}
    for name, config in OPENEVOLVE_EXAMPLES.items():
        source = examples / name
        files = {"evaluator.py": "evaluator.py", "initial_program.py": "initial_program.py",
                 config: "config.yaml"}  # fmt: skip
        missing = [f for f in files if not (source / f).is_file()]
        if missing:
            raise ValueError(
                f"{source} has no {', '.join(missing)}: give --openevolve-examples the "
                "examples/ directory of an OpenEvolve checkout"
            )
        copy = work / "openevolve-examples" / name
        copy.mkdir(parents=True, exist_ok=True)
        for theirs, ours in files.items():
            shutil.copyfile(source / theirs, copy / ours)
        digests[name] = {f: hashlib.sha256((source / f).read_bytes()).hexdigest() for f in files}
        EVALUATOR_FORM[name] = copy
    return digests


def evaluations(peer: PeerTask) -> int:
    return len(peer.counter.read_text().splitlines()) if peer.counter.is_file() else 0


def openevolve_command(
    python: Path, peer: PeerTask, where: Path, *, api_base: str, model: str, calls: int,
    max_tokens: int, seed: int,
) -> list[str]:  # fmt: skip
    """OpenEvolve's CLI on `peer`, one LLM call per iteration, writing into `where`."""
    config = adapters.openevolve_config(
        peer.base_config, api_base=api_base, model=model, iterations=calls,
        max_tokens=max_tokens, temperature=peer.temperature, system_message=peer.system_message,
        seed=seed,
    )  # fmt: skip
    path = where / "openevolve.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return [
        str(python), "-m", "openevolve.cli", str(peer.directory / "initial_program.py"),
        str(peer.directory / "evaluator.py"), "--config", str(path),
        "--output", str(where / "output"), "--iterations", str(calls),
    ]  # fmt: skip


def openevolve_best(where: Path) -> tuple[str | None, dict[str, Any]]:
    best = where / "output" / "best" / "best_program.py"
    info = where / "output" / "best" / "best_program_info.json"
    notes = json.loads(info.read_text()) if info.is_file() else {}
    own = {"own_val_metrics": notes.get("metrics"), "best_generation": notes.get("generation")}
    return (best.read_text() if best.is_file() else None), own


def shinka_command(
    python: Path, peer: PeerTask, where: Path, *, api_base: str, model: str, calls: int,
    max_tokens: int,
) -> list[str]:  # fmt: skip
    """shinka_run on a ShinkaEvolve task directory around `peer`'s evaluator: `calls`
    generations (at most one proposal each, plus its meta and fix calls, which the proxy
    counts and bounds), one proposal and one evaluation at a time."""
    task = adapters.write_shinka_task(
        where / "shinka-task", peer.directory / "evaluator.py",
        peer.directory / "initial_program.py", str(ROOT / "src"),
    )  # fmt: skip
    sets = adapters.shinka_overrides(
        model_url=f"local/{model}@{api_base}", max_tokens=max_tokens,
        temperature=peer.temperature or TEMPERATURE,
    )  # fmt: skip
    shinka_run = python.parent / "shinka_run"
    return [
        str(shinka_run), "--task-dir", str(task), "--results_dir", str(where / "output"),
        "--num_generations", str(calls), "--max-evaluation-jobs", "1",
        "--max-proposal-jobs", "1", *sets,
    ]  # fmt: skip


def shinka_best(where: Path) -> tuple[str | None, dict[str, Any]]:
    """The best correct program in ShinkaEvolve's own database (its `best/` directory is
    written only after a later generation completes, so a run stopped at its bound may have
    none)."""
    database = where / "output" / "programs.sqlite"
    if not database.is_file():
        return None, {"own_val_metrics": None}
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        found = db.execute(
            "SELECT code, combined_score, generation FROM programs WHERE correct = 1 "
            "ORDER BY combined_score DESC, generation ASC LIMIT 1"
        ).fetchone()
        count = db.execute("SELECT COUNT(*) FROM programs").fetchone()[0]
    if found is None:
        return None, {"own_val_metrics": None, "programs": count}
    code, score, generation = found
    own = {"combined_score": score}
    return code, {"own_val_metrics": own, "best_generation": generation, "programs": count}


def skydiscover_command(
    python: Path, peer: PeerTask, where: Path, *, api_base: str, model: str, calls: int,
    max_tokens: int, seed: int,
) -> list[str]:  # fmt: skip
    """skydiscover-run with its EvoX search (the model also rewrites the search strategy)."""
    config = adapters.skydiscover_config(
        api_base=api_base, model=model, iterations=calls, max_tokens=max_tokens, seed=seed
    )
    path = where / "skydiscover.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return [
        str(python.parent / "skydiscover-run"), str(peer.directory / "initial_program.py"),
        str(peer.directory / "evaluator.py"), "--config", str(path), "--search", "evox",
        "--output", str(where / "output"), "--iterations", str(calls),
    ]  # fmt: skip


def skydiscover_best(where: Path) -> tuple[str | None, dict[str, Any]]:
    candidates = sorted((where / "output").rglob("best_program*.py"))
    return (candidates[0].read_text() if candidates else None), {
        "best_files": [str(p.relative_to(where)) for p in candidates]
    }


def skydiscover_unavailable(python: Path) -> str | None:
    """Why SkyDiscover's EvoX mode cannot run from this install, or None. skydiscover 0.1.0's
    wheel on PyPI lacks skydiscover/search/evox/config/ (search.yaml, the guide's system
    prompt), which EvoX opens by a fixed path at start-up. They are published nowhere for 0.1.0
    (checked 2026-12-07): the sdist lacks them too, and upstream's (skydiscover-ai/skydiscover,
    every commit from bf6bd52 to 59643ef, all at version 0.0.0) belong to a later, renamed API:
    with 0.1.0 their search.yaml fails with `TypeError: SearchConfig.__init__() got an unexpected
    keyword argument 'num_context_programs'`, then `Unknown search type: 'evox_meta'`."""
    site = next(python.parent.parent.glob("lib/python*/site-packages"), None)
    missing = [
        name
        for name in ("search.yaml", "evox_search_sys_prompt.txt")
        if site is None or not (site / "skydiscover/search/evox/config" / name).is_file()
    ]
    if not missing:
        return None
    return (
        f"skydiscover 0.1.0 from PyPI: the wheel has no skydiscover/search/evox/config/ "
        f"({', '.join(missing)}); `skydiscover-run --search evox` stops at start-up with "
        f"FileNotFoundError: Config file not found: "
        f".../skydiscover/search/evox/config/search.yaml; the sdist lacks them too, and "
        f"upstream's (skydiscover-ai/skydiscover@bf6bd52..59643ef) are for a later, renamed API: "
        f"with 0.1.0 they fail with TypeError: SearchConfig.__init__() got an unexpected keyword "
        f"argument 'num_context_programs'"
    )


# ------------------------------------------------------------------------ isolation

_UNRESTRICTED = {"network": "unrestricted (no namespace, no filter)",
                 "files": "unrestricted: the user's own file access"}  # fmt: skip
_RUNS_HERE = ("a plain child Python process started by our generated evaluator (no namespace, "
              "no rlimits); outputs scored by our scorer in the evaluating process")  # fmt: skip
ISOLATION = {
    "openevolve": {
        "where_candidates_run": "the evaluator's `evaluate(program_path)` in a thread of a "
        "worker process (ProcessPoolExecutor, which also makes the LLM calls)",
        **_UNRESTRICTED,
        "processes": "unrestricted; evaluator.timeout is asyncio.wait_for on a thread, which "
        "is abandoned, not killed",
        "keys": "workers get the parent's whole environment (_worker_init) and the LLM config "
        "with its api_key; an in-process candidate can read both",
    },
    "shinkaevolve": {
        "where_candidates_run": "`python evaluate.py` as a local job (a child process per "
        "evaluation, shinka/launch/local.py), results read back from metrics.json",
        **_UNRESTRICTED,
        "processes": "unrestricted; a job past its time gets process.kill() (the job's own "
        "process, not its children; shinka/launch/local.py)",
        "keys": "the job gets os.environ.copy() of the launcher, provider keys included",
    },
    "skydiscover": {
        "where_candidates_run": "the evaluator's `evaluate(program_path)` imported into the "
        "evaluating process (evaluation/evaluator.py, importlib); optional container mode off",
        **_UNRESTRICTED,
        "processes": "unrestricted",
        "keys": "the evaluating process holds the LLM config and the environment",
    },
}


def isolation(system: str, task: str) -> dict[str, Any]:
    """What `system` isolates on `task` (from its installed source; no layers measured)."""
    own = dict(ISOLATION[system])
    if task not in EVALUATOR_FORM:
        own["candidate"] = _RUNS_HERE
    else:
        own["candidate"] = EVALUATOR_RUNS.get(
            task, "wherever the task's own evaluator runs it (in-process import)"
        )
    return {**own, "profile": None, "layers": []}
