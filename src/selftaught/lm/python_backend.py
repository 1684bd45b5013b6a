"""`python:FILE.py:FUNC` / `python:MODULE:FUNC`: a user's own function as the language model.

The Python API's `model=callable` is recorded as this spec (the function's file and name).

The function runs in the host (it is the user's code, trusted like a config file) with the
signature `fn(system: str, user: str, n: int, temperature: float) -> list[str]` and must return
exactly `n` strings. It gets no seed: a function that wants reproducible output derives its
randomness from its arguments. Useful for scripted test models and for wrapping any other API.
"""

from __future__ import annotations

import hashlib
import importlib
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from selftaught.lm.base import Backend, LanguageModelError, one_line
from selftaught.store import Sample
from selftaught.user_code import UserFileError, import_file

UserModel = Callable[[str, str, int, float], list[str]]


class PythonBackend(Backend):
    """Calls a user function once per request, with n = number of samples wanted."""

    def __init__(self, module: str, function: str):
        loaded = _load_module(module)
        fn = getattr(loaded, function, None)
        label = f"python:{module}:{function}"
        if not callable(fn):
            raise LanguageModelError(
                f"{label}: module has no function {function!r}; check the name after the last ':'"
            )
        self.fn: UserModel = fn
        self.name = f"python:{Path(module).name}:{function}"
        # The source hash is part of the identity so that editing the scripted model invalidates
        # responses cached from the old one.
        self.identity = f"python:{Path(module).stem}:{function}@{_source_digest(loaded)}"

    def generate(
        self,
        system: str,
        user: str,
        n: int,
        temperature: float,
        max_tokens: int,
        seeds: list[int],
    ) -> list[Sample]:
        start = time.perf_counter()
        try:
            responses = self.fn(system, user, n, temperature)
        except Exception as exc:
            raise LanguageModelError(
                f"{self.name} raised {type(exc).__name__}: {one_line(exc)}"
            ) from exc
        if not isinstance(responses, list | tuple) or len(responses) != n:
            got = (
                f"{len(responses)} items"
                if isinstance(responses, list | tuple)
                else (type(responses).__name__)
            )
            raise LanguageModelError(f"{self.name} must return a list of {n} strings, got {got}")
        bad = [i for i, r in enumerate(responses) if not isinstance(r, str)]
        if bad:
            raise LanguageModelError(
                f"{self.name} must return strings;"
                f" item {bad[0]} is {type(responses[bad[0]]).__name__}"
            )
        seconds = (time.perf_counter() - start) / max(n, 1)
        return [Sample(response=r, seconds=seconds) for r in responses]


def _load_module(module: str) -> ModuleType:
    """Import a .py file by path (under a private name) or a dotted module by name."""
    try:
        if module.endswith(".py"):
            path = Path(module)
            name = "selftaught_user_model_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
            return import_file(path, name)
        return importlib.import_module(module)
    except SystemExit as exc:  # would end selftaught silently, with the file's exit code
        raise LanguageModelError(
            f"python:{module}: it called sys.exit({exc.code!r}) while being imported;"
            " a model file defines a function and must not exit"
        ) from None
    except UserFileError as exc:
        raise LanguageModelError(f"python:{module}: {exc}") from None
    except BaseException as exc:  # even KeyboardInterrupt: one line, not a silent exit 130
        raise LanguageModelError(
            f"python:{module}: import failed with {type(exc).__name__}: {one_line(exc)}"
        ) from None


def _source_digest(module: ModuleType) -> str:
    path = getattr(module, "__file__", None)
    try:
        data = Path(path).read_bytes() if path else b""
    except OSError:
        data = b""
    return hashlib.sha256(data).hexdigest()[:16]
