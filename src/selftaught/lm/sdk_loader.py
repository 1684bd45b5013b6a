"""An SDK imported and its client built in a background thread, while the run starts.

`import openai` costs about 1.5 s and `import anthropic` 2.5 s on two cores, more than the
rest of a short run's start. Imports hold the GIL, so a thread cannot overlap them with other
Python work; it overlaps them with the host's waits: the sandbox's zygote starting, the seed
solution's check in a child. `RunSession` opens the model first and calls `ready()` once the
sandbox is up, so a missing package or an unusable base URL is still one line before any work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from selftaught.lm.base import LanguageModelError

T = TypeVar("T")


class SdkLoader(Generic[T]):
    """`build()` run once in a daemon thread; `get()` waits for it and returns its result, or
    raises the LanguageModelError it raised (any other exception becomes one)."""

    def __init__(self, name: str, build: Callable[[], T]):
        self.name = name
        self._build = build
        self._result: T | None = None
        self._error: LanguageModelError | None = None
        self._thread = threading.Thread(target=self._run, name=f"selftaught-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._build()
        except LanguageModelError as exc:
            self._error = exc
        except BaseException as exc:  # noqa: BLE001 - surfaced, as one line, by get()
            self._error = LanguageModelError(f"{self.name}: {type(exc).__name__}: {exc}")

    def get(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]


def import_sdk(module: str, what: str, hint: str = "") -> Any:
    """`import module`, or the one line saying which package `what` needs."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise LanguageModelError(f"{what} needs the {module} package{hint} ({exc})") from None
