"""`anthropic:MODEL`: Anthropic's Messages API through the official `anthropic` SDK.

The key comes from ANTHROPIC_API_KEY (or `api_key`), the base URL from the caller or
ANTHROPIC_BASE_URL (the placeholder key "none" is used with a base URL and no key, for
proxies and test servers). The API has no `n` and no `seed`: the broker sends one request per
sample (`splits_samples`), up to `options.concurrency` at once, and samples are reproducible
only through the run's cache. Anthropic's temperature range is [0, 1]: a higher requested
temperature is sent as 1.

Retries are ours (the SDK's `max_retries` is 0), with the same policy as `openai:`: 429, 5xx
and 529 "overloaded", timeouts, dropped connections and malformed bodies, honouring Retry-After.
"""

from __future__ import annotations

import os
import time
from typing import Any

from selftaught.lm.base import Backend, LanguageModelError, one_line, redact, strip_userinfo
from selftaught.lm.http_cap import capped_client
from selftaught.lm.options import ModelOptions
from selftaught.lm.retry import MalformedResponse, call_with_retries, sdk_classifier, too_large
from selftaught.store import Sample

KEY_ENV = "ANTHROPIC_API_KEY"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"


class AnthropicBackend(Backend):
    """Messages from `model`; `identity` is "anthropic:MODEL" (the URL is not part of it)."""

    splits_samples = True

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        options: ModelOptions | None = None,
    ):
        try:
            import anthropic
        except ImportError as exc:
            raise LanguageModelError(
                f"anthropic:{model} needs the anthropic package: pip install anthropic ({exc})"
            ) from None
        self.anthropic = anthropic
        base_url = base_url or os.environ.get(BASE_URL_ENV) or None
        key = api_key or os.environ.get(KEY_ENV) or ("none" if base_url else None)
        if key is None:
            raise LanguageModelError(
                f"anthropic:{model} needs {KEY_ENV} set (or a base URL for a compatible proxy)"
            )
        self.options = options or ModelOptions()
        self.policy = self.options.retry_policy()
        self.classify = sdk_classifier(anthropic)
        self._key = key
        self.model = model
        self.max_concurrency = self.options.concurrency
        self.client = anthropic.Anthropic(
            api_key=key, base_url=base_url, max_retries=0, timeout=self.options.timeout,
            http_client=capped_client(anthropic),
        )  # fmt: skip
        self.name = f"anthropic:{model}" + (f" at {strip_userinfo(base_url)}" if base_url else "")
        self.identity = f"anthropic:{model}"

    def generate(
        self,
        system: str,
        user: str,
        n: int,
        temperature: float,
        max_tokens: int,
        seeds: list[int],
    ) -> list[Sample]:
        # The broker splits requests, so n is 1 there; a direct caller may still ask for more.
        return [self._one(system, user, min(temperature, 1.0), max_tokens) for _ in range(n)]

    def _one(self, system: str, user: str, temperature: float, max_tokens: int) -> Sample:
        start = time.perf_counter()

        def attempt() -> Any:
            reply = self.client.messages.create(
                model=self.model,
                system=system,
                messages=[{"role": "user", "content": user}],
                max_tokens=max_tokens,
                # Sent as a body field: recent SDKs no longer list `temperature` as a keyword.
                # A `temperature` in extra_body wins (e.g. to send what a model requires).
                extra_body={"temperature": temperature, **self.options.extra_body},
            )
            if getattr(reply, "content", None) is None:
                raise MalformedResponse("the server returned no content")
            return reply

        try:
            reply = call_with_retries(
                attempt, self.classify, self.policy, name=self.name, on_retry=self.on_retry
            )
        except Exception as exc:
            exc = too_large(exc) or exc  # the SDK's "Connection error." hides why
            text = redact(one_line(exc), [self._key])
            raise LanguageModelError(f"{self.name}: {type(exc).__name__}: {text}") from exc
        text = "".join(
            block.text for block in reply.content if getattr(block, "type", "") == "text"
        )
        usage = reply.usage
        return Sample(
            response=text,
            prompt_tokens=getattr(usage, "input_tokens", None),
            completion_tokens=getattr(usage, "output_tokens", None),
            seconds=time.perf_counter() - start,
        )

    def close(self) -> None:
        self.client.close()
