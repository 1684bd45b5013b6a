"""A counting proxy on loopback, between both systems and the one model server.

Every request either system sends to the model passes through here, so both systems' calls,
tokens and model seconds are counted the same way, on the server's side of the wire: one
record per HTTP request to `/v1/chat/completions` (or `/v1/completions`), with the server's
own `usage` figures, the request's `max_tokens` and `n`, and how long the server took. The
driver labels each row's traffic (`label`) and reads what was spent under that label.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

COUNTED = ("/v1/chat/completions", "/v1/completions")


@dataclass(frozen=True)
class Call:
    """One request the model server answered (or refused)."""

    label: str
    path: str
    status: int
    max_tokens: int | None
    n: int
    choices: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float  # from the first byte sent upstream to the last byte read back


class CountingProxy:
    """Forwards every request to `upstream` (http://host:port) and records the counted ones."""

    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 0):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.label = "unlabelled"
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> CountingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def spent(self, label: str) -> dict[str, Any]:
        """What was spent under `label`: requests, completions, tokens, seconds, max_tokens."""
        with self._lock:
            own = [c for c in self.calls if c.label == label]
        return summarize(own)

    def dump(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(c) for c in self.calls]


def summarize(calls: list[Call]) -> dict[str, Any]:
    ok = [c for c in calls if c.status == 200]
    return {
        "requests": len(calls),
        "failed_requests": len(calls) - len(ok),
        "completions": sum(c.choices for c in ok),
        "prompt_tokens": sum(c.prompt_tokens for c in ok),
        "completion_tokens": sum(c.completion_tokens for c in ok),
        "model_seconds": sum(c.seconds for c in calls),
        "max_tokens_seen": sorted({c.max_tokens for c in calls if c.max_tokens is not None}),
    }


def _handler(proxy: CountingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            pass  # the driver prints what matters; a line per request would drown it

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._forward(b"")

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            self._forward(self.rfile.read(length))

        def _forward(self, body: bytes) -> None:
            label = proxy.label  # the row this request belongs to, read when it arrives
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
            }
            started = time.perf_counter()
            # No timeout: a long generation on a loaded machine is not a failure here; the
            # clients have their own.
            upstream = http.client.HTTPConnection(*proxy.upstream)
            try:
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                reply = upstream.getresponse()
                data, status = reply.read(), reply.status
                reply_headers = reply.getheaders()
            except OSError as exc:
                data, status = json.dumps({"error": f"proxy: {exc}"}).encode(), 502
                reply_headers = [("Content-Type", "application/json")]
            finally:
                upstream.close()
            seconds = time.perf_counter() - started
            if self.path.split("?")[0] in COUNTED and self.command == "POST":
                proxy.record(_call(label, self.path, status, body, data, seconds))
            self.send_response(status)
            for key, value in reply_headers:
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _call(label: str, path: str, status: int, body: bytes, data: bytes, seconds: float) -> Call:
    request = _json(body)
    reply = _json(data) if status == 200 else {}
    usage = reply.get("usage") or {}
    max_tokens = request.get("max_tokens", request.get("max_completion_tokens"))
    return Call(
        label=label,
        path=path,
        status=status,
        max_tokens=int(max_tokens) if isinstance(max_tokens, int | float) else None,
        n=int(request.get("n") or 1),
        choices=len(reply.get("choices") or []),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        seconds=seconds,
    )


def _json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
