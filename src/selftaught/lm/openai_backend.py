"""`openai:MODEL`: any OpenAI-compatible chat-completions server, through the official SDK.

The base URL comes from the caller (`--base-url`) or OPENAI_BASE_URL; the key from
OPENAI_API_KEY, or the placeholder "none" when a base URL is given (local servers ignore it).
One request asks for all n samples with the first sample's seed; servers that return fewer
choices (llama.cpp's server ignores n, some hosts cap it) are topped up with single calls, each
with the seed of the sample it fills. Retries of transient failures are the SDK's (`max_retries`).

Token accounting: a request's prompt is billed once whatever n is, so its prompt tokens are put
on the request's first sample and its completion tokens are shared out evenly; sums over samples
are then what was billed.
"""

from __future__ import annotations

import os
import time
from typing import Any

from selftaught.lm.base import Backend, LanguageModelError, one_line
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
        max_retries: int = 5,
        timeout: float = 600.0,
    ):
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
        self.model = model
        self.base_url = base_url
        self.client = openai.OpenAI(
            base_url=base_url, api_key=key, max_retries=max_retries, timeout=timeout
        )
        self.name = f"openai:{model}" + (f" at {base_url}" if base_url else "")
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
            reply = self._create(messages, n, temperature, max_tokens, seed)
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
                reply = self._create(messages, n, temperature, max_tokens, seed)
            except self.openai.APIError as again:
                raise self._error(again) from again
        except self.openai.APIError as exc:
            raise self._error(exc) from exc
        seconds = time.perf_counter() - start
        choices = reply.choices or []
        if not choices:
            raise LanguageModelError(f"{self.name}: the server returned no choices")
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

    def _create(
        self, messages: list[dict[str, str]], n: int, temperature: float, max_tokens: int, seed: int
    ) -> Any:
        return self.client.chat.completions.create(
            model=self.model,
            messages=messages,
            n=n,
            temperature=temperature,
            seed=seed,
            **{self._token_param: max_tokens},
        )

    def _error(self, exc: Exception) -> LanguageModelError:
        return LanguageModelError(f"{self.name}: {type(exc).__name__}: {one_line(exc)}")

    def close(self) -> None:
        self.client.close()
