"""Retries of transient API failures, done here rather than in the SDKs so they can be counted.

`call_with_retries(call, classify, policy, on_retry)` runs `call` until it returns, a failure is
permanent, or `policy.attempts` is spent. `classify(exc)` says whether a failure is transient
and, when the server said so, how long to wait (Retry-After). Transient: HTTP 408, 409, 429 and
5xx (Anthropic's 529 "overloaded" included), timeouts, dropped or reset connections, and a body
that is not the JSON it claims to be. The wait is exponential with jitter, `base * 2**k` capped
at `cap`, of which a random half is drawn (so that many clients hit by one outage spread out),
unless the server gave Retry-After, which is honoured (capped at `max_wait`).

A retried request is still one request to the broker: the backend returns its samples once,
the broker stores them once and writes one `lm_calls` row. Retries only show in the counters.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from selftaught import sizes

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. `attempts` counts the first try (1 = never retry)."""

    attempts: int = 6
    base: float = 1.0  # seconds before the first retry (before jitter)
    cap: float = 60.0  # longest backoff between two attempts
    max_wait: float = 300.0  # longest Retry-After honoured; a longer one is cut to this


@dataclass(frozen=True)
class Verdict:
    """What `classify` says of a failure: retry it or not, and the server's wait if it gave one."""

    transient: bool
    retry_after: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class RetryInfo:
    """Passed to the `on_retry` hook before each wait: which retry, why, and how long."""

    backend: str
    attempt: int  # 1 for the first retry
    reason: str
    wait: float


Classifier = Callable[[BaseException], Verdict]
RetryHook = Callable[[RetryInfo], None]


def call_with_retries(
    call: Callable[[], T],
    classify: Classifier,
    policy: RetryPolicy,
    *,
    name: str,
    on_retry: RetryHook | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """`call()`, retried on transient failures; the last failure is re-raised when out of tries.

    Jitter changes only when a retry happens, never what is sampled, so its randomness is not
    seeded.
    """
    rng = rng or random.Random()
    for attempt in range(1, max(policy.attempts, 1) + 1):
        try:
            return call()
        except Exception as exc:
            verdict = classify(exc)
            if not verdict.transient or attempt >= policy.attempts:
                raise
            wait = backoff(policy, attempt, verdict.retry_after, rng)
            info = RetryInfo(name, attempt, verdict.reason or type(exc).__name__, wait)
            # The reason is a class name or status, never the error text: an error body may
            # echo request headers, and with them the API key.
            log.info("%s: retry %d in %.2f s after %s", name, attempt, wait, info.reason)
            if on_retry is not None:
                on_retry(info)
            sleep(wait)
    raise AssertionError("unreachable")  # the loop returns or raises


def backoff(
    policy: RetryPolicy, attempt: int, retry_after: float | None, rng: random.Random
) -> float:
    """Seconds to wait before retry `attempt` (1-based)."""
    if retry_after is not None:
        # Honour the server, plus a little jitter so that clients told the same do not align.
        return min(max(retry_after, 0.0), policy.max_wait) + rng.uniform(0, policy.base / 10)
    ceiling = min(policy.cap, policy.base * 2 ** (attempt - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from `retry-after-ms` or `Retry-After` (seconds or an HTTP date), else None."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    text = headers.get("retry-after")
    if not text:
        return None
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def sdk_classifier(sdk: Any) -> Classifier:
    """A classifier for the `openai` or `anthropic` SDK module: both share the same error tree
    (APIStatusError with `status_code` and `response`, APITimeoutError, APIConnectionError)."""

    def classify(exc: BaseException) -> Verdict:
        if too_large(exc):  # the same request would be as large again
            return Verdict(False)
        if isinstance(exc, sdk.APIStatusError):
            status = exc.status_code
            response = getattr(exc, "response", None)
            headers = getattr(response, "headers", None)
            return Verdict(status in RETRY_STATUSES, parse_retry_after(headers), f"HTTP {status}")
        if isinstance(exc, sdk.APITimeoutError):
            return Verdict(True, None, "timeout")
        if isinstance(exc, sdk.APIConnectionError):
            return Verdict(True, None, "connection error")
        if isinstance(exc, json.JSONDecodeError | sdk.APIResponseValidationError):
            return Verdict(True, None, "malformed response")
        if isinstance(exc, MalformedResponse):
            return Verdict(True, None, "malformed response")
        return Verdict(False)

    return classify


class ReplyTooLarge(Exception):
    """A response body past `sizes.REPLY_BODY_BYTES` (`http_cap`): never retried."""

    def __init__(self) -> None:
        megabytes = sizes.REPLY_BODY_BYTES / (1 << 20)
        super().__init__(
            f"the server's reply is larger than {megabytes:g} MB, selftaught's cap on one reply "
            "body; it was not read further (ask for fewer samples per call or fewer --max-tokens)"
        )


def too_large(exc: BaseException) -> ReplyTooLarge | None:
    """The `ReplyTooLarge` behind `exc` (the SDKs raise their own error from it), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ReplyTooLarge):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


class MalformedResponse(Exception):
    """A reply that parsed but lacks what every reply has (choices, content): retried."""
