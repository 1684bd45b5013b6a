"""The library's own improvers, as source files, and loading of a user's improver file.

An improver is Python source defining `improve_algorithm(initial_solution, utility,
language_model) -> str`. Its source is never executed in the host: `load_improver` only parses it.
"""

from __future__ import annotations

import ast
from importlib import resources
from pathlib import Path

from selftaught.user_code import UserFileError, read_source

SUMMARIES = {
    "seed": "the paper's seed improver: one batch of candidates, keep the best by utility",
    "temperature_sweep": "improve the best so far at temperatures 0.4, 0.7, 1.0 in turn, cached",
    "beam_search": "keep the 3 best, expand each every call; cached; temperature decays",
    "genetic": "population with measured fitness; tournament parents, model crossover, mutation",
    "annealing": "walk over rewrites, accepting worse ones less often as it cools; keep the best",
    "decompose": "rewrite one top-level function at a time and splice it back in",
    "ucb": "candidates as bandit arms: UCB1 spends utility calls on noisy, promising ones",
    "prompt_bandit": "UCB1 over five prompts, rewarded by the utility of what each produced",
    "hints": "every slot of a call gets a different hint (new algorithm, speed, robustness, ...)",
    "epsilon_greedy": "population; improve the best or, with adaptive epsilon, another; cooling",
    "repair": "improve, then send failed candidates back with why they failed (utility.why)",
}


class ImproverError(Exception):
    """An improver name or file is unusable."""


def builtin_source(name: str) -> str:
    if name not in SUMMARIES:
        known = ", ".join(sorted(SUMMARIES))
        raise ImproverError(
            f"unknown improver {name!r}; built-in improvers: {known}, or a .py file"
        )
    return resources.files(__package__).joinpath(f"{name}.py").read_text(encoding="utf-8")


MAX_SOURCE_CHARS = 200_000  # larger "improvers" are not parsed in the host


def improver_problem(source: object, *, signature: bool = True) -> str | None:
    """What keeps `source` from being an improver, or None. Parses, never runs: it must define
    a top-level `improve_algorithm`, with (initial_solution, utility, language_model) when
    `signature` (a model's candidate is held only to the definition, as the paper's loop is)."""
    if not isinstance(source, str):
        return "is not source text"
    if len(source) > MAX_SOURCE_CHARS:
        return f"is longer than {MAX_SOURCE_CHARS} characters"
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return f"syntax error{_where(exc, source)}: {exc.msg}; fix the file and retry"
    except ValueError as exc:  # a NUL byte, before Python 3.12
        return f"cannot be parsed{_where(exc, source)}: {exc}; fix the file and retry"
    except (RecursionError, MemoryError) as exc:
        return f"cannot be parsed ({type(exc).__name__})"
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "improve_algorithm":
            if not signature or len(node.args.args) >= 3 or node.args.vararg:
                return None
            return "improve_algorithm must take (initial_solution, utility, language_model)"
    return "defines no top-level function improve_algorithm"


def _where(exc: Exception, source: str) -> str:
    """" at line N" of a parse error; Python gives no line for a NUL byte, so it is found."""
    line = getattr(exc, "lineno", None)
    if line is None and "\0" in source:
        line = source.count("\n", 0, source.index("\0")) + 1
    return f" at line {line}" if line else ""


def check_improver_source(source: str, origin: str) -> None:
    """`ImproverError` naming `origin` unless `source` is an improver (`improver_problem`)."""
    problem = improver_problem(source)
    if problem is not None:
        raise ImproverError(f"{origin}: {problem}")


def load_improver(name_or_path: str) -> str:
    """Source of a built-in improver (by name), a user's file, or a run directory's last
    adopted improver; checked."""
    if name_or_path in SUMMARIES:
        return builtin_source(name_or_path)
    path = Path(name_or_path)
    if path.is_dir():
        return _from_run(path)
    if not path.exists() and not path.is_symlink():
        known = ", ".join(sorted(SUMMARIES))
        raise ImproverError(f"no improver file {name_or_path!r}; use a .py file or one of: {known}")
    try:
        source = read_source(path)  # a FIFO or a device is refused, a BOM dropped
    except UserFileError as exc:
        raise ImproverError(f"improver file {exc}") from None
    check_improver_source(source, name_or_path)
    return source


def _from_run(run_dir: Path) -> str:
    """The improver in force at the end of a STOP run (its last iteration record)."""
    from selftaught.store import RunReader, StoreError

    try:
        with RunReader.open(run_dir) as store:
            records = store.iterations()
            source = store.get_program(records[-1].improver_sha256) if records else None
    except StoreError as exc:
        raise ImproverError(f"{run_dir}: {exc}") from None
    if source is None:
        raise ImproverError(f"{run_dir} records no finished STOP iteration; run or resume it first")
    return source
