"""Model options: what a run may set on its language model besides the spec.

    ModelOptions(temperature=1.0, max_tokens=4096, timeout=120, extra_body={"top_k": 40})
    ModelOptions.from_pairs(["temperature=1", 'extra_body={"top_k": 40}'])   # CLI KEY=VALUE

Options that change what the model answers (`temperature`, `max_tokens`, `extra_body`) are part
of the request key, so that a run with other options never reads another's cache. The others
(`timeout`, `retries`, `backoff`, `send_seed`, `concurrency`) only change how requests are made.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from selftaught.lm.base import LanguageModelError
from selftaught.lm.retry import RetryPolicy


@dataclass(frozen=True)
class ModelOptions:
    """Settings for one language model; every field has a default that suits a remote API.

    temperature  when set, replaces the temperature the improver asked for on every request
                 (for models that accept one value only, e.g. reasoning models want 1)
    max_tokens   when set, replaces the run's max tokens per completion
    timeout      seconds one HTTP request may take before it is abandoned and retried
    retries      retries of a transient failure (429, 5xx, timeout, dropped connection)
    backoff      seconds before the first retry; doubled for each next one (with jitter)
    send_seed    send each sample's seed (servers that reject the `seed` field: False)
    extra_body   extra JSON fields merged into every request body (openai, anthropic)
    concurrency  requests one backend sends at once when a batch needs several
    """

    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float = 600.0
    retries: int = 5
    backoff: float = 1.0
    send_seed: bool = True
    extra_body: dict[str, Any] = field(default_factory=dict)
    concurrency: int = 4

    def __post_init__(self) -> None:
        if self.temperature is not None and not 0.0 <= self.temperature <= 2.0:
            raise LanguageModelError(f"temperature {self.temperature} must be in [0, 2]")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise LanguageModelError(f"max_tokens {self.max_tokens} must be at least 1")
        if self.timeout <= 0:
            raise LanguageModelError(f"timeout {self.timeout} must be positive (seconds)")
        if self.backoff < 0:
            raise LanguageModelError(f"backoff {self.backoff} must be 0 or more (seconds)")
        if self.retries < 0:
            raise LanguageModelError(f"retries {self.retries} must be 0 or more")
        if self.concurrency < 1:
            raise LanguageModelError(f"concurrency {self.concurrency} must be at least 1")
        if not isinstance(self.extra_body, dict):
            raise LanguageModelError("extra_body must be a JSON object")

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(attempts=self.retries + 1, base=self.backoff)

    def key_part(self) -> str:
        """What goes into the model identity: "" for the defaults, so old cache keys still hold."""
        if not self.extra_body:
            return ""
        return "|extra_body=" + json.dumps(self.extra_body, sort_keys=True, separators=(",", ":"))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelOptions:
        """Options from a mapping (a config file section); unknown keys are a one-line error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise LanguageModelError(
                f"unknown model option {unknown[0]!r}; known: {', '.join(sorted(known))}"
            )
        try:
            return cls(**values)
        except TypeError as exc:
            raise LanguageModelError(f"bad model options: {exc}") from None

    @classmethod
    def from_pairs(cls, pairs: list[str]) -> ModelOptions:
        """Options from KEY=VALUE strings; a VALUE is read as JSON when it parses, else text."""
        values: dict[str, Any] = {}
        for pair in pairs:
            name, sep, text = pair.partition("=")
            if not sep or not name.strip():
                raise LanguageModelError(f"model option {pair!r} is not KEY=VALUE")
            try:
                value: Any = json.loads(text)
            except json.JSONDecodeError:
                value = text
            values[name.strip()] = value
        types = {
            "temperature": float,
            "timeout": float,
            "max_tokens": int,
            "retries": int,
            "backoff": float,
            "concurrency": int,
        }
        for name, kind in types.items():
            if name in values and values[name] is not None:
                try:
                    values[name] = kind(values[name])
                except (TypeError, ValueError):
                    raise LanguageModelError(
                        f"model option {name}={values[name]!r} must be a number"
                    ) from None
        return cls.from_dict(values)
