"""Shared by the report tests: one real finished run per test process, and stores made by hand.

No tests here; the test modules import `finished_run` and the builders.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import ROOT, SCRIPTED, last_json, run_cli

from selftaught.store import RunStore, Sample

_CACHE: dict[str, Path] = {}


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 2-iteration STOP run on the scripted model (seconds), made once per process."""
    if "run" not in _CACHE:
        run_dir = tmp_path_factory.mktemp("report") / "run"
        result = run_cli(
            "run",
            "--iterations",
            "2",
            "--repetitions",
            "2",
            "--model",
            SCRIPTED,
            "--improver",
            "seed",  # the scripted model answers the seed improver's prompts
            "--run-dir",
            str(run_dir),
            "--json",
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert last_json(result.stdout)["iterations"][1]["adopted"] is True
        _CACHE["run"] = run_dir
    return _CACHE["run"]


def copy_run(source: Path, target: Path) -> Path:
    """A copy of a closed run directory's database (the run that made it has exited)."""
    target.mkdir(parents=True)
    shutil.copy(source / "run.db", target / "run.db")
    return target


def killed_after_t0(finished: Path, target: Path) -> Path:
    """The finished run as it was when killed during t=1: t=0 recorded, not finished."""
    run_dir = copy_run(finished, target)
    db = sqlite3.connect(run_dir / "run.db")  # raw: rows deleted as a kill would leave them
    db.execute("DELETE FROM iterations WHERE t > 0")
    db.execute("DELETE FROM meta WHERE key = 'finished'")
    db.commit()
    db.close()
    return run_dir


def synthetic_store(run_dir: Path, *, evaluations: int, lm_calls: int, events: int) -> Path:
    """A store written through RunStore with many rows, as a long run would leave it."""
    store = RunStore.open_run(run_dir, create=True)
    seed_improver = (
        "def improve_algorithm(initial_solution, utility, language_model):\n"
        "    return initial_solution\n"
    )
    better = seed_improver.replace(
        "return initial_solution",
        "population = [initial_solution]  # genetic crossover\n    return population[0]",
    )
    store.set_meta(
        "config",
        {
            "task": "lpn",
            "model": "python:m.py:f",
            "preset": "quick",
            "iterations": 2,
            "seed": 0,
            "gate": "better",
            "improver": "seed",
            "budgets": {"repetitions": 2},
        },
    )
    initial = store.put_program(seed_improver, "improver")
    candidate = store.put_program(better, "improver")
    store.set_meta("initial_improver", initial)
    runs = [{"task": "lpn", "repetition": r, "val": 0.4 + 0.05 * r, "test": 0.5} for r in range(4)]
    store.put_meta_utility(initial, "record", 0.475, 0.5, {"runs": runs})
    store.put_meta_utility(candidate, "record", 0.9, 0.85, {"runs": runs})
    store.put_iteration(
        0,
        {
            "t": 0,
            "meta_utility_val": 0.475,
            "meta_utility_test": 0.5,
            "candidate_val": None,
            "candidate_test": None,
            "adopted": None,
            "improver_sha256": initial,
            "candidate_sha256": None,
        },
    )
    store.put_iteration(
        1,
        {
            "t": 1,
            "meta_utility_val": 0.9,
            "meta_utility_test": 0.85,
            "candidate_val": 0.9,
            "candidate_test": 0.85,
            "adopted": True,
            "improver_sha256": candidate,
            "candidate_sha256": candidate,
        },
    )
    store.db.execute("BEGIN")  # one transaction: 10,000 single-row commits take seconds
    instances = [{"score": 1.0, "status": "ok", "seconds": 0.01}] * 20
    for i in range(evaluations):
        program = store.put_program(f"def algorithm(*a):\n    return {i}\n", "solution")
        store.put_evaluation(
            program,
            "lpn",
            "val" if i % 2 else "test",
            i,
            {
                "score": (i % 97) / 97,
                "instances": instances,
                "seconds": 0.2,
                "layers": ["zygote"],
                "failure": "timeout" if i % 31 == 0 else None,
            },
        )
    for i in range(lm_calls):
        store.record_lm_call(
            f"key{i}",
            {
                "user": ("def improve_algorithm" if i % 5 == 0 else "Improve") + " x" * 500,
                "scope": f"t={i % 2}",
            },
            0,
            [Sample("r", 300 + i % 50, 80, 0.2 + (i % 7) / 10)],
            cached=int(i % 3 == 0),
        )
    for i in range(events):
        store.record_event("static:exec", initial, {"line": 2, "detail": f"exec call {i}"})
    store.db.execute("COMMIT")
    store.set_meta("finished", True)
    store.close()
    return run_dir


def events_store(run_dir: Path, events: list[tuple[str, dict | str]]) -> Path:
    """A finished store holding `events` (kind, detail) in order, written through RunStore; a
    detail given as a string is stored as that raw text (a damaged row)."""
    store = RunStore.open_run(run_dir, create=True)
    store.set_meta("config", {"task": "lpn", "iterations": 2})
    program = store.put_program("def improve_algorithm(s, u, l):\n    return s\n", "improver")
    for kind, detail in events:
        if isinstance(detail, str):
            store.db.execute(
                "INSERT INTO events (kind, program, detail, created) VALUES (?, ?, ?, 0)",
                (kind, program, detail),
            )
        else:
            store.record_event(kind, program, detail)
    store.set_meta("finished", True)
    store.close()
    return run_dir


def many_events_store(run_dir: Path, n: int, kinds: list[str], iterations: int) -> Path:
    """A store with `n` events: event i has kind kinds[i % len(kinds)] and t = i % iterations,
    inserted by one executemany (100,000 record_event calls would take most of a minute)."""
    store = RunStore.open_run(run_dir, create=True)
    store.set_meta("config", {"task": "lpn", "iterations": iterations})
    store.set_meta("finished", True)
    store.close()
    rows = (
        (kinds[i % len(kinds)], "p", f'{{"t": {i % iterations}, "detail": "event {i}"}}')
        for i in range(n)
    )
    db = sqlite3.connect(run_dir / "run.db")  # raw: many events at once, faster than RunStore
    with db:
        db.executemany(
            "INSERT INTO events (kind, program, detail, created) VALUES (?, ?, ?, 0)", rows
        )
    db.close()
    return run_dir


@pytest.fixture(scope="session")
def safety_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 1-iteration run in which a scripted model (tests/models/safety_world.py) tries
    every kind of attempt, so that the run records safety events of many kinds at t=0 and 1."""
    if "safety" not in _CACHE:
        run_dir = tmp_path_factory.mktemp("report-safety") / "run"
        model = f"python:{ROOT / 'tests' / 'models' / 'safety_world.py'}:respond"
        result = run_cli(
            "run", "--preset", "paper", "--iterations", "1", "--repetitions", "1",
            "--sandbox-warning", "--model", model, "--run-dir", str(run_dir), "--json",
            timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        _CACHE["safety"] = run_dir
    return _CACHE["safety"]


def long_lineage_store(run_dir: Path, adoptions: int) -> Path:
    """A finished `--gate paper` run in which every iteration adopted a new improver: a spine
    of `adoptions` + 1 improvers, each the parent of the next, written through RunStore."""
    store = RunStore.open_run(run_dir, create=True)
    store.set_meta("config", {"task": "lpn", "iterations": adoptions, "gate": "paper"})
    store.db.execute("BEGIN")  # one transaction: thousands of single-row commits take seconds
    shas = [
        store.put_program(
            f"def improve_algorithm(initial_solution, utility, language_model):\n"
            f"    return initial_solution  # version {t}\n",
            "improver",
        )
        for t in range(adoptions + 1)
    ]
    store.set_meta("initial_improver", shas[0])
    for t, sha in enumerate(shas):
        store.put_meta_utility(sha, "record", 0.5, 0.5, {"runs": []})
        store.put_iteration(
            t,
            {
                "t": t, "meta_utility_val": 0.5, "meta_utility_test": 0.5,
                "candidate_val": 0.5 if t else None, "candidate_test": 0.5 if t else None,
                "adopted": True if t else None, "improver_sha256": sha,
                "candidate_sha256": sha if t else None,
            },
        )  # fmt: skip
    store.db.execute("COMMIT")
    store.set_meta("finished", True)
    store.close()
    return run_dir


PLANTED = "\"'><script>pwn({})</script><img src=x onerror=pwn({})>"


def planted_run(
    finished: Path, target: Path, *, numbers: bool, keys: bool, keep: tuple[str, ...] = ()
) -> Path:
    """A copy of a finished run in which every stored text (with `numbers`, every stored
    number too; with `keys`, every key of its JSON) is markup: each column's text, each string
    leaf of its JSON. The same
    original becomes the same markup everywhere, so that hashes still join programs to records.
    Only the meta keys and the schema facts stay, so that the run still opens, and the columns
    named in `keep` (the host's own words, such as a split, so that sections still join)."""
    run_dir = copy_run(finished, target)
    mapping: dict[object, str] = {}

    def plant(value: object) -> object:
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float) and not numbers:
            return value
        if value not in mapping:
            mapping[value] = PLANTED.format(len(mapping), len(mapping))
        return mapping[value]

    def walk(value: object) -> object:
        if isinstance(value, dict):
            return {(plant(k) if keys else k): walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return plant(value)

    def cell(value: object) -> object:
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
            except ValueError:
                return plant(value)
            return json.dumps(walk(parsed)) if isinstance(parsed, dict | list) else plant(value)
        return value if isinstance(value, bytes) else plant(value)

    db = sqlite3.connect(run_dir / "run.db")  # raw: markup planted in every stored field
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        info = list(db.execute(f"PRAGMA table_info({table})"))
        columns = [r[1] for r in info]
        kept = {r[1] for r in info if r[5] and r[2].upper() == "INTEGER"} | set(keep)  # rowids
        for row in db.execute(f"SELECT rowid, * FROM {table}").fetchall():
            rowid, values = row[0], dict(zip(columns, row[1:], strict=True))
            if table == "meta" and values["key"] in ("schema_version", "kind"):
                continue
            changed = {c: (v if (table == "meta" and c == "key") or c in kept else cell(v))
                       for c, v in values.items()}  # fmt: skip
            sets = ", ".join(f"{c} = ?" for c in changed)
            db.execute(f"UPDATE {table} SET {sets} WHERE rowid = ?", [*changed.values(), rowid])
    db.commit()
    db.close()
    return run_dir
