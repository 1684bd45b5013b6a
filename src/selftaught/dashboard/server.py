"""The dashboard's HTTP server: the standard library's `ThreadingHTTPServer`, read-only.

Contract:
- every request must carry the server's token (`?token=...`, compared in constant time);
  any other gets 403 with no content from a run, the event streams and static files included;
- routes (GET only): `/` the runs list; `/run/KEY` a run's page; `/events` the runs list's
  event stream, `/events/KEY` a run's; `/overlay?runs=KEY&runs=KEY` the overlaid curves (SVG);
  `/static/NAME` the page's script and style sheets (package data, no CDN);
- every response forbids inline script and any other origin (Content-Security-Policy
  `default-src 'self'`), framing, sniffing and sending the token on in a Referer;
- nothing is written to any run: pages read through `store.RunReader`.
"""

from __future__ import annotations

import hmac
import queue
import socket
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from selftaught.dashboard.pages import overlay, run_page, runs_page
from selftaught.dashboard.runs import RunIndex
from selftaught.dashboard.watch import Hub
from selftaught.report.assets import CSS, PAGER_JS
from selftaught.report.diff import style_css
from selftaught.store import StoreError

HEARTBEAT_SECONDS = 10.0
# Nothing inline at all: the pages' script and styles are files this server serves (data:
# images only for the empty icon that keeps the browser from asking for /favicon.ico).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
)
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css"}


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True  # an open event stream never holds the process at exit
    allow_reuse_address = False  # a busy port is an error, never shared

    def __init__(self, address: tuple[str, int], token: str, index: RunIndex, hub: Hub):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.token = token
        self.index = index
        self.hub = hub
        self.closing = False


class Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the terminal belongs to the run beside it

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        given = (query.get("token") or [""])[0]
        if not hmac.compare_digest(given.encode(), self.server.token.encode()):
            self._send(HTTPStatus.FORBIDDEN, "text/plain", b"403: this URL needs the token "
                       b"the dashboard printed when it started\n")  # fmt: skip
            return
        path = unquote(url.path)
        try:
            self._route(path, query)
        except StoreError as exc:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", f"{exc}\n".encode())
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _route(self, path: str, query: dict[str, list[str]]) -> None:
        if path == "/":
            html = runs_page(self.server.token, self.server.index.paths)
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", html.encode())
        elif path.startswith("/run/"):
            key = path.removeprefix("/run/")
            run_dir = self._run(key)
            if run_dir is not None:
                html = run_page(self.server.token, key, run_dir)
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", html.encode())
        elif path == "/events":
            self._stream(None)
        elif path.startswith("/events/"):
            key = path.removeprefix("/events/")
            if self._run(key) is not None:
                self._stream(key)
        elif path == "/overlay":
            runs = {k: p for k in query.get("runs", []) if (p := self.server.index.path(k))}
            self._send(HTTPStatus.OK, "image/svg+xml", overlay(runs).encode())
        elif path.startswith("/static/"):
            self._static(path.removeprefix("/static/"))
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"no such page\n")

    def _run(self, key: str) -> Path | None:
        run_dir = self.server.index.path(key)
        if run_dir is None:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"no such run\n")
        return run_dir

    def _static(self, name: str) -> None:
        generated = {"report.css": CSS + "\n" + style_css(), "pager.js": PAGER_JS}
        if name in generated:
            kind = STATIC_TYPES[Path(name).suffix]
            self._send(HTTPStatus.OK, kind, generated[name].encode(), cache=True)
            return
        files = resources.files("selftaught.dashboard").joinpath("static")
        if name not in {"dashboard.js", "dashboard.css"}:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"no such file\n")
            return
        body = files.joinpath(name).read_bytes()
        self._send(HTTPStatus.OK, STATIC_TYPES[Path(name).suffix], body, cache=True)

    def _stream(self, run: str | None) -> None:
        """Server-sent events until the page goes away or the server closes."""
        self.send_response(HTTPStatus.OK)
        self._headers("text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(b"retry: 1000\n\n")
        self.wfile.flush()
        subscriber = self.server.hub.subscribe(run)
        try:
            last = time.monotonic()
            while not self.server.closing:
                try:
                    text = subscriber.queue.get(timeout=0.5)
                except queue.Empty:
                    if time.monotonic() - last > HEARTBEAT_SECONDS:
                        self.wfile.write(b": heartbeat\n\n")
                        self.wfile.flush()
                        last = time.monotonic()
                    continue
                self.wfile.write(text.encode())
                self.wfile.flush()
                last = time.monotonic()
        finally:
            self.server.hub.unsubscribe(subscriber)
            self.close_connection = True

    def _send(self, status: HTTPStatus, kind: str, body: bytes, *, cache: bool = False) -> None:
        self.send_response(status)
        self._headers(kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "private, max-age=300" if cache else "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _headers(self, kind: str) -> None:
        self.send_header("Content-Type", kind)
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
