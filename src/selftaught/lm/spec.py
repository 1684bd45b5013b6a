"""Parsing `--model` specs into a ModelSpec, with one-line errors that say how to fix them.

    llamacpp                  the default embedded model, Qwen2.5-Coder-0.5B-Instruct
    llamacpp:NAME             an embedded model that packages ship (`selftaught models`):
                              qwen2.5-coder-0.5b, qwen2.5-coder-1.5b, smollm2-135m
    llamacpp:PATH.gguf        another GGUF file, run in-process by llama.cpp
    openai:MODEL              an OpenAI-compatible chat-completions server (OpenAI or local)
    anthropic:MODEL           Anthropic's Messages API (ANTHROPIC_API_KEY)
    python:FILE.py:FUNC       a user's function fn(system, user, n, temperature) -> list[str]
    python:MODULE:FUNC        the same, from an importable dotted module
    replay:RUN_DIR            serve every request from another run's RUN_DIR/run.db

Parsing checks what can be checked without loading anything (files exist, names are well formed);
it never imports the user's module, loads a model or assembles an embedded one (`lm.embedded`
does that when the backend opens).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from selftaught.lm.embedded import (
    DEFAULT_MODEL,
    MODELS,
    SMOKE_TEST_MODEL,
    EmbeddedModelError,
    model_path,
    names_help,
)
from selftaught.user_code import file_problem

Kind = Literal["llamacpp", "openai", "anthropic", "python", "replay"]

KINDS_HELP = (
    "use llamacpp, llamacpp:NAME, llamacpp:PATH.gguf, openai:MODEL, anthropic:MODEL,"
    " python:FILE.py:FUNC or replay:RUN_DIR"
)

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class ModelSpecError(ValueError):
    """A malformed model spec; the message is one line saying what is wrong and how to fix it."""


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec.

    llamacpp: `path` is the GGUF file, or None and `model` the name of an embedded model
    (`lm.embedded`, assembled when the backend opens). openai, anthropic: `model` is the model
    name. python: `module` is a .py path or a dotted module name, `function` the callable's
    name. replay: `path` is the run directory. `text` is the spec as given.
    """

    kind: Kind
    text: str
    path: Path | None = None
    model: str | None = None
    module: str | None = None
    function: str | None = None


def embedded_gguf() -> Path | None:
    """The verified SmolLM2-135M file, the fast model for smoke tests; None if not installed."""
    try:
        return model_path(SMOKE_TEST_MODEL)
    except EmbeddedModelError:
        return None


def parse_model_spec(spec: str) -> ModelSpec:
    """Parse a model spec; raise ModelSpecError with a one-line message if it is malformed."""
    text = (spec or "").strip()
    if not text:
        raise ModelSpecError(f"empty model spec; {KINDS_HELP}")
    kind, sep, rest = text.partition(":")
    if kind == "llamacpp":
        return _llamacpp(text, rest if sep else None)
    if kind in ("openai", "anthropic"):
        return _remote(kind, text, rest)
    if kind == "python":
        return _python(text, rest)
    if kind == "replay":
        return _replay(text, rest)
    raise ModelSpecError(f"unknown model kind {kind!r} in {text!r}; {KINDS_HELP}")


def _llamacpp(text: str, rest: str | None) -> ModelSpec:
    if rest is None:
        return ModelSpec("llamacpp", text, model=DEFAULT_MODEL)
    if not rest:
        raise ModelSpecError(
            f"no model after 'llamacpp:' in {text!r}; use {names_help()} or llamacpp:PATH.gguf"
        )
    path = Path(rest).expanduser()
    if path.suffix.lower() != ".gguf":
        if rest in MODELS:
            return ModelSpec("llamacpp", text, model=rest)
        raise ModelSpecError(
            f"{rest!r} is neither an embedded model nor a .gguf file; use {names_help()}"
            " or llamacpp:PATH.gguf"
        )
    if (problem := file_problem(path)) is not None:  # a FIFO would hang the hashing read
        raise ModelSpecError(f"model file {rest!r} {problem} (in llamacpp:PATH.gguf)")
    return ModelSpec("llamacpp", text, path=path.resolve())


def _remote(kind: Kind, text: str, rest: str) -> ModelSpec:
    model = rest.strip()
    if not model:
        example = "gpt-4o-mini" if kind == "openai" else "claude-3-5-haiku-latest"
        raise ModelSpecError(f"no model name in {text!r}; use {kind}:MODEL, e.g. {kind}:{example}")
    return ModelSpec(kind, text, model=model)


def _python(text: str, rest: str) -> ModelSpec:
    module, sep, function = rest.rpartition(":")
    if not sep or not module or not function:
        raise ModelSpecError(
            f"{text!r} needs a module and a function; use python:FILE.py:FUNC or python:MODULE:FUNC"
        )
    if not _IDENTIFIER.fullmatch(function):
        raise ModelSpecError(
            f"{function!r} in {text!r} is not a Python function name; use python:FILE.py:FUNC"
        )
    if module.endswith(".py"):
        path = Path(module).expanduser()
        if (problem := file_problem(path)) is not None:
            raise ModelSpecError(f"python file {module!r} {problem} (in {text!r})")
        return ModelSpec("python", text, module=str(path.resolve()), function=function)
    if not _DOTTED.fullmatch(module):
        raise ModelSpecError(
            f"{module!r} in {text!r} is neither a .py file nor a dotted module name;"
            " use python:FILE.py:FUNC or python:package.module:FUNC"
        )
    return ModelSpec("python", text, module=module, function=function)


def _replay(text: str, rest: str) -> ModelSpec:
    if not rest:
        raise ModelSpecError(f"no run directory in {text!r}; use replay:RUN_DIR")
    run_dir = Path(rest).expanduser()
    if not (run_dir / "run.db").is_file():
        raise ModelSpecError(
            f"no run database at {str(run_dir / 'run.db')!r}; replay:RUN_DIR needs the directory"
            " of a finished or killed selftaught run"
        )
    return ModelSpec("replay", text, path=run_dir.resolve())


def absolute_spec(spec: str) -> str:
    """`spec` with its file or directory made absolute, so that a run resumes from anywhere."""
    parsed = parse_model_spec(spec)
    if parsed.kind == "python" and parsed.module and parsed.module.endswith(".py"):
        return f"python:{parsed.module}:{parsed.function}"
    if parsed.kind in ("llamacpp", "replay") and ":" in parsed.text and parsed.path is not None:
        return f"{parsed.kind}:{parsed.path}"
    return parsed.text
