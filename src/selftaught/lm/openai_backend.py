"""`openai:MODEL`: any OpenAI-compatible chat-completions server, through the official SDK.

The base URL comes from the caller (`--base-url`) or OPENAI_BASE_URL; the key from
OPENAI_API_KEY, or the placeholder "none" when a base URL is given (local servers ignore it).
One request asks for all n samples with the first sample's seed; servers that return fewer
choices (llama.cpp's server ignores n, some hosts cap it) are topped up with single calls, each
with the seed of the sample it fills.

Retries are ours, not the SDK's (its `max_retries` is 0): every HTTP request is retried on 429,
5xx, timeouts, dropped connections and malformed bodies by `retry.call_with_retries`, which
honours Retry-After and reports each retry to the broker's counters. The API key is never
written anywhere: error messages have it replaced by "***" in case a server echoes it.

Token accounting: a request's prompt is billed once whatever n is, so its prompt tokens are put
on the request's first sample and its completion tokens are shared out evenly; sums over samples
are then what was billed.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Any

from selftaught.lm.base import Backend, LanguageModelError, one_line, redact, strip_userinfo
from selftaught.lm.http_cap import capped_client
from selftaught.lm.options import ModelOptions
from selftaught.lm.retry import MalformedResponse, call_with_retries, sdk_classifier, too_large
from selftaught.store import Sample


class OpenAIBackend(Backend):
    """Chat completions from `model` at `base_url` (OpenAI itself when None).

    `identity` is "openai:MODEL" without the URL, so that a run resumed against the same model
    behind another address (a local server restarted on a new port) still hits its cache.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
        options: ModelOptions | None = None,
    ):
        """`max_retries` and `timeout`, when given, override those of `options`."""
        try:
            import openai
        except ImportError as exc:
            raise LanguageModelError(f"openai:{model} needs the openai package ({exc})") from None
        self.openai = openai
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        key = api_key or os.environ.get("OPENAI_API_KEY") or ("none" if base_url else None)
        if key is None:
            raise LanguageModelError(
                f"openai:{model} needs OPENAI_API_KEY set, or a base URL (--base-url or"
                " OPENAI_BASE_URL) for a local OpenAI-compatible server"
            )
        options = options or ModelOptions()
        self.options = options
        self.policy = options.retry_policy()
        if max_retries is not None:
            self.policy = replace(self.policy, attempts=max_retries + 1)
        self.classify = sdk_classifier(openai)
        self._key = key
        self.model = model
        self.base_url = base_url
        self.max_concurrency = options.concurrency
        try:
            self.client = openai.OpenAI(
                base_url=base_url,
                api_key=key,
                max_retries=0,
                timeout=timeout if timeout is not None else options.timeout,
                http_client=capped_client(openai),
            )
        except Exception as exc:  # noqa: BLE001 - httpx.InvalidURL and kin: a bad --base-url
            raise LanguageModelError(
                f"--base-url {strip_userinfo(base_url or '')!r} is not a usable URL"
                f" ({one_line(exc)}); give one like http://127.0.0.1:8000/v1"
            ) from None
        self.name = f"openai:{model}" + (f" at {strip_userinfo(base_url)}" if base_url else "")
        self.identity = f"openai:{model}"
        # Newer OpenAI models refuse `max_tokens` and want `max_completion_tokens`; local servers
        # mostly know only the former. Start with it and switch once if the server says so.
        self._token_param = "max_tokens"
        self._n_supported = True

    def generate(
        self,
        system: str,
        user: str,
        n: int,
        temperature: float,
        max_tokens: int,
        seeds: list[int],
    ) -> list[Sample]:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        samples: list[Sample] = []
        while len(samples) < n:
            want = n - len(samples) if self._n_supported else 1
            samples.extend(
                self._call(messages, want, temperature, max_tokens, seeds[len(samples)])[:want]
            )
        return samples

    def _call(
        self, messages: list[dict[str, str]], n: int, temperature: float, max_tokens: int, seed: int
    ) -> list[Sample]:
        start = time.perf_counter()
        try:
            reply = self._send(messages, n, temperature, max_tokens, seed)
        except self.openai.BadRequestError as exc:
            text = str(exc)
            if "max_completion_tokens" in text and self._token_param == "max_tokens":
                self._token_param = "max_completion_tokens"
            elif n > 1 and self._n_supported:
                self._n_supported = False  # the server refuses n > 1: ask one at a time
                n = 1
            else:
                raise self._error(exc) from exc
            try:
                reply = self._send(messages, n, temperature, max_tokens, seed)
            except Exception as again:
                raise self._error(again) from again
        except Exception as exc:
            if isinstance(exc, LanguageModelError):
                raise
            raise self._error(exc) from exc
        seconds = time.perf_counter() - start
        choices = reply.choices
        usage = reply.usage
        prompt = usage.prompt_tokens if usage else None
        completion = usage.completion_tokens if usage else None
        count = len(choices)
        samples = []
        for k, choice in enumerate(choices):
            share = None
            if completion is not None:
                share = completion // count + (completion % count if k == 0 else 0)
            samples.append(
                Sample(
                    response=(choice.message.content if choice.message else None) or "",
                    prompt_tokens=(prompt if k == 0 else 0) if prompt is not None else None,
                    completion_tokens=share,
                    seconds=seconds / count,
                )
            )
        return samples

    def _send(
        self, messages: list[dict[str, str]], n: int, temperature: float, max_tokens: int, seed: int
    ) -> Any:
        """One request, retried on transient failures; a reply without choices is one."""

        def attempt() -> Any:
            reply = self._create(messages, n, temperature, max_tokens, seed)
            if not getattr(reply, "choices", None):
                raise MalformedResponse("the server returned no choices")
            return reply

        return call_with_retries(
            attempt, self.classify, self.policy, name=self.name, on_retry=self.on_retry
        )

    def _create(
        self, messages: list[dict[str, str]], n: int, temperature: float, max_tokens: int, seed: int
    ) -> Any:
        extra: dict[str, Any] = {self._token_param: max_tokens}
        if self.options.send_seed:
            extra["seed"] = seed
        return self.client.chat.completions.create(
            model=self.model,
            messages=messages,
            n=n,
            temperature=temperature,
            extra_body=self.options.extra_body or None,
            **extra,
        )

    def _error(self, exc: Exception) -> LanguageModelError:
        exc = too_large(exc) or exc  # the SDK's "Connection error." hides why
        text = redact(one_line(exc), [self._key])
        return LanguageModelError(f"{self.name}: {type(exc).__name__}: {text}")

    def close(self) -> None:
        self.client.close()
