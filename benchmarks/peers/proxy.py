"""A counting proxy on loopback, between both systems and the one model server.

Every request either system sends to the model passes through here, so both systems' calls,
tokens and model seconds are counted the same way, on the server's side of the wire: one
record per HTTP request to `/v1/chat/completions` (or `/v1/completions`), with the server's
own `usage` figures, the request's `max_tokens` and `n`, and how long the server took. The
driver labels each row's traffic (`label`) and reads what was spent under that label.

With a `ReplyCache`, a reply the server already gave is not paid for again: a row killed
part-way and run again gets the answers it already had from disk, in the order it asked. The
key is the label, the request's bytes and how many times that label sent those bytes before,
so two identical unseeded requests still get two draws and no row sees another's replies. A
cached reply is counted as the call it is (the system asked for it), with the seconds the
server spent on it the first time, and marked `cached`.

The proxy also holds every row to its bound, whatever the system does: a request that asks for
more than `max_tokens` (or names no limit) is sent with `max_tokens`, and once a label has had
`calls` answers, further requests get 429 without reaching the server (counted as refused).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

COUNTED = ("/v1/chat/completions", "/v1/completions")
SPENT = "proxy: this row's call budget is spent"


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
    cached: bool = False  # answered from the ReplyCache: paid for by an earlier run


class ReplyCache:
    """Successful replies on disk, one JSON file per request (see the module docstring)."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def key(label: str, path: str, body: bytes, occurrence: int) -> str:
        digest = hashlib.sha256()
        for part in (label.encode(), path.encode(), body, str(occurrence).encode()):
            digest.update(len(part).to_bytes(8, "big") + part)
        return digest.hexdigest()

    def get(self, key: str) -> tuple[bytes, float] | None:
        try:
            entry = json.loads((self.directory / f"{key}.json").read_text())
            return entry["reply"].encode(), float(entry["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, data: bytes, seconds: float) -> None:
        entry = {"reply": data.decode("utf-8", "replace"), "seconds": seconds}
        final = self.directory / f"{key}.json"
        partial = final.with_suffix(".part")
        partial.write_text(json.dumps(entry))
        partial.replace(final)  # a kill mid-write leaves no half entry


class CountingProxy:
    """Forwards every request to `upstream` (http://host:port) and records the counted ones."""

    def __init__(
        self,
        upstream: str,
        host: str = "127.0.0.1",
        port: int = 0,
        cache: ReplyCache | None = None,
    ):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.label = "unlabelled"
        self.calls: list[Call] = []
        self.cache = cache
        self.calls_limit: int | None = None  # answers per label; None: no limit
        self.max_tokens: int | None = None  # per request; None: what the client asks
        self._sent: Counter[tuple[str, str, bytes]] = Counter()
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

    def answered(self, label: str) -> int:
        with self._lock:
            return sum(1 for c in self.calls if c.label == label and c.status == 200)

    def bounded(self, body: bytes) -> bytes:
        """`body` with max_tokens at most the bound (unchanged without one, or if not JSON)."""
        request = _json(body)
        if self.max_tokens is None or not request:
            return body
        asked = request.get("max_tokens", request.get("max_completion_tokens"))
        if isinstance(asked, int) and 0 < asked <= self.max_tokens:
            return body
        request.pop("max_completion_tokens", None)
        request["max_tokens"] = self.max_tokens
        return json.dumps(request).encode()

    def cache_key(self, label: str, path: str, body: bytes) -> str | None:
        """The cache key of this request (None without a cache); counts it as sent."""
        if self.cache is None:
            return None
        with self._lock:
            occurrence = self._sent[(label, path, body)]
            self._sent[(label, path, body)] += 1
        return self.cache.key(label, path, body, occurrence)

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
        "answered": len(ok),
        "failed_requests": len(calls) - len(ok),
        "refused_requests": sum(c.status == 429 for c in calls),
        "cached_requests": sum(c.cached for c in calls),
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
            counted = self.path.split("?")[0] in COUNTED and self.command == "POST"
            if counted:
                body = proxy.bounded(body)
                if proxy.calls_limit is not None and proxy.answered(label) >= proxy.calls_limit:
                    data = json.dumps({"error": {"message": SPENT, "type": "budget"}}).encode()
                    proxy.record(_call(label, self.path, 429, body, data, 0.0))
                    self._reply(429, [("Content-Type", "application/json")], data)
                    return
            key = proxy.cache_key(label, self.path, body) if counted else None
            hit = proxy.cache.get(key) if key is not None and proxy.cache else None
            if hit is not None:
                data, seconds = hit
                proxy.record(_call(label, self.path, 200, body, data, seconds, cached=True))
                self._reply(200, [("Content-Type", "application/json")], data)
                return
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in ("host", "connection", "content-length")  # body may change
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
            if counted:
                proxy.record(_call(label, self.path, status, body, data, seconds))
                if key is not None and proxy.cache and status == 200:
                    proxy.cache.put(key, data, seconds)
            self._reply(status, reply_headers, data)

        def _reply(self, status: int, reply_headers: list[tuple[str, str]], data: bytes) -> None:
            self.send_response(status)
            for key, value in reply_headers:
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            try:
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                # The client left first (a peer stopped or timed out): the reply is already
                # counted and cached, and a traceback in the run's log would say it failed.
                self.close_connection = True

    return Handler


def _call(
    label: str,
    path: str,
    status: int,
    body: bytes,
    data: bytes,
    seconds: float,
    cached: bool = False,
) -> Call:
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
        cached=cached,
    )


def _json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
