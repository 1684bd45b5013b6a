"""The one interface every language-model backend implements.

A backend turns one request (a system line, a user message, sampling settings) into `n`
samples. It knows nothing about caching, budgets or batching: the broker does those. Each
sample gets its own seed from the broker, so a backend that honours seeds makes every sample
reproducible on its own, whatever else was asked before it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any

from selftaught.store import Sample


class LanguageModelError(Exception):
    """A backend could not answer. The message is one line saying what failed and why."""


class Backend(ABC):
    """A source of samples.

    `identity` names the model for the response cache: two backends with the same identity are
    taken to give the same response to the same request and seed, so it must change whenever the
    model does. `name` is a short human label for progress lines and errors.
    """

    name: str
    identity: str
    #: False for a backend that can only serve recorded samples (replay): the broker then treats
    #: a sample it cannot look up as an error instead of calling `generate`.
    generates: bool = True
    #: Requests of this backend the broker may send at once (distinct messages of one batch, or
    #: the samples of one request when `splits_samples`). 1 for in-process backends: llama.cpp
    #: serialises anyway, and a user's scripted model need not be thread-safe.
    max_concurrency: int = 1
    #: True when a request for n samples costs n requests anyway (no `n` in the API): the broker
    #: then sends n one-sample requests, concurrently up to `max_concurrency`.
    splits_samples: bool = False
    #: Set by the broker: called before each retry of a transient failure, for the counters.
    on_retry: Callable[[Any], None] | None = None

    @abstractmethod
    def generate(
        self,
        system: str,
        user: str,
        n: int,
        temperature: float,
        max_tokens: int,
        seeds: list[int],
    ) -> list[Sample]:
        """Return exactly `n` samples for one request; `seeds[k]` is the seed of sample k.

        Raises LanguageModelError (one-line message) when the model cannot answer.
        """

    def lookup(self, request_key: str, index: int) -> Sample | None:
        """A recorded sample for (request_key, index), for backends that serve a cache."""
        return None

    def close(self) -> None:
        """Release what the backend holds (connections, files); the default holds nothing."""
        return None


def one_line(text: object, limit: int = 300) -> str:
    """Squeeze an error text onto one line of at most `limit` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret (an API key) replaced by "***": error bodies may echo headers."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def strip_userinfo(url: str) -> str:
    """`url` without "user:password@": a base URL may carry credentials, a label must not."""
    scheme, sep, rest = url.partition("://")
    host, at, tail = rest.partition("@")
    if sep and at and "/" not in host:
        return f"{scheme}://{tail}"
    return url
