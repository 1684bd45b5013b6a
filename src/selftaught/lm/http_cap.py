"""The HTTP client of the SDK backends (`openai:`, `anthropic:`): it stops reading a response
body past `sizes.REPLY_BODY_BYTES`, so that a server (or a proxy in front of it) that sends
300 MB never has the host hold 300 MB (docs/reliability.md, "Size caps").

A body past the cap is `retry.ReplyTooLarge`: the SDK wraps it as a connection error, which
the retry policy does not retry (`retry.too_large` finds it in the chain: the same request
would be as large again) and the backend reports as itself.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from selftaught import sizes
from selftaught.lm.retry import ReplyTooLarge


def capped_client(sdk: Any) -> Any:
    """The SDK's default httpx client (its timeouts, redirects), on a capped transport of the
    same httpx the SDK uses (the anthropic SDK ships its own fork, `httpx2`)."""
    client_class = sdk.DefaultHttpxClient
    httpx = importlib.import_module(client_class.__mro__[1].__module__.partition(".")[0])
    return client_class(transport=_capped_transport(httpx)())


@functools.cache
def _capped_transport(httpx: ModuleType) -> type:
    """httpx's own transport, with every response body read through the cap."""

    class CappedStream(httpx.SyncByteStream):
        def __init__(self, inner: Any):
            self.inner = inner

        def __iter__(self) -> Iterator[bytes]:
            total = 0
            for chunk in self.inner:
                total += len(chunk)
                if total > sizes.REPLY_BODY_BYTES:
                    raise ReplyTooLarge()
                yield chunk

        def close(self) -> None:
            self.inner.close()

    class CappedTransport(httpx.HTTPTransport):
        def handle_request(self, request: Any) -> Any:
            response = super().handle_request(request)
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > sizes.REPLY_BODY_BYTES:
                response.close()  # refused before reading any of it
                raise ReplyTooLarge()
            response.stream = CappedStream(response.stream)
            return response

    return CappedTransport
