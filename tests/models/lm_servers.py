"""Loopback servers for the language-model tests: fakes of the OpenAI and Anthropic APIs that
inject faults, a forwarding proxy that injects the same faults in front of a real server, and
llama.cpp's own OpenAI-compatible server on the embedded model.

`FaultServer(faults=[...])` answers POST .../chat/completions (OpenAI) and POST .../messages
(Anthropic). Each request to either takes the next fault off `faults` (none left: a normal
answer, or the upstream's when `upstream` is set). Faults:

    "429" / "429:1.5"     HTTP 429 with Retry-After (default 0; "ms:200" sends retry-after-ms)
    "500", "503", "529"   that status with a JSON error body
    "hang:SECONDS"        sleep before answering (longer than the client's timeout)
    "reset"               close the connection with a TCP RST, no response
    "malformed"           HTTP 200 with a truncated JSON body
    "echo-key:401"        HTTP 401 whose body echoes the request's credentials

`requests` records (path, headers, JSON body) of every request, faulty or not.
"""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FaultServer:
    """A threaded loopback HTTP server; use as a context manager. `url` has no trailing /v1."""

    def __init__(self, faults: list[str] | None = None, upstream: str | None = None):
        self.faults = list(faults or [])
        self.upstream = upstream.rstrip("/") if upstream else None
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.answered = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                return None

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                server._handle(self)

            def do_GET(self) -> None:  # noqa: N802
                server._reply(self, 200, {"object": "list", "data": []})

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ------------------------------------------------------------------------ handling
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length)
        body = json.loads(raw or b"{}")
        with self.lock:
            self.requests.append((h.path, dict(h.headers), body))
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None:
            if self._fault(h, fault):
                return
        with self.lock:
            self.answered += 1
        if self.upstream:
            self._forward(h, raw)
        elif h.path.endswith("/messages"):
            self._reply(h, 200, anthropic_reply(body))
        else:
            self._reply(h, 200, openai_reply(body))

    def _fault(self, h: BaseHTTPRequestHandler, fault: str) -> bool:
        """Apply `fault`; True when the request is answered (or dropped) by it."""
        kind, _, arg = fault.partition(":")
        if kind == "429":
            headers = {}
            if arg.startswith("ms"):
                headers["retry-after-ms"] = arg.partition(":")[2] or "0"
            else:
                headers["Retry-After"] = arg or "0"
            self._reply(h, 429, error_body("rate limited"), headers)
            return True
        if kind in ("500", "502", "503", "529"):
            self._reply(h, int(kind), error_body(f"injected {kind}"))
            return True
        if kind == "hang":
            time.sleep(float(arg or 5))
            return False  # then answer normally: the client has given up by now
        if kind == "reset":
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
            h.close_connection = True
            return True
        if kind == "malformed":
            data = b'{"id": "x", "choices": [{"message": {"content": "cut'
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            return True
        if kind == "huge":  # a reply of `arg` MB, chunked (no Content-Length to refuse early)
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            chunk = b'{"id": "x", "choices": [{"message": {"content": "' + b"x" * (1 << 20)
            try:
                for _ in range(int(arg or 64)):
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    chunk = b"x" * (1 << 20)
                h.wfile.write(b"0\r\n\r\n")
            except OSError:  # the client stopped reading: what the cap is for
                pass
            h.close_connection = True
            return True
        if kind == "echo-key":
            creds = h.headers.get("Authorization") or h.headers.get("x-api-key") or ""
            self._reply(h, int(arg or 401), error_body(f"bad key {creds}"))
            return True
        raise ValueError(f"unknown fault {fault!r}")

    def _forward(self, h: BaseHTTPRequestHandler, raw: bytes) -> None:
        path = h.path[3:] if h.path.startswith("/v1") else h.path
        request = urllib.request.Request(
            self.upstream + path,
            data=raw,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=120) as reply:
            data = reply.read()
            status = reply.status
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    @staticmethod
    def _reply(
        h: BaseHTTPRequestHandler,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)


class QuietServer(ThreadingHTTPServer):
    """Drops the traceback http.server prints when a client hung up (after a client timeout)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def error_body(message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": "api_error", "message": message}}


def last_user_text(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    if isinstance(content, list):  # Anthropic's block form
        return "".join(block.get("text", "") for block in content)
    return content


def openai_reply(body: dict[str, Any]) -> dict[str, Any]:
    """A chat completion with n choices "USER|seed=S|k=K", 10 prompt and 3 tokens per choice."""
    n = int(body.get("n") or 1)
    user = last_user_text(body)
    choices = [
        {
            "index": k,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": f"{user}|seed={body.get('seed')}|k={k}"},
        }
        for k in range(n)
    ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "fake"),
        "choices": choices,
        "usage": {"prompt_tokens": 10, "completion_tokens": 3 * n, "total_tokens": 10 + 3 * n},
    }


def anthropic_reply(body: dict[str, Any]) -> dict[str, Any]:
    """A Messages API answer "USER|t=TEMPERATURE", 12 input and 4 output tokens."""
    user = last_user_text(body)
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "fake"),
        "content": [{"type": "text", "text": f"{user}|t={body.get('temperature')}"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 4},
    }


@contextmanager
def llama_server(log_path: Path, n_ctx: int = 2048, start_seconds: float = 90) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server on the embedded model, with its weights unrepacked
    (see selftaught/lm/llamacpp_server.py); yields its base URL (/v1). benchmarks/lm.py uses it
    too."""
    from selftaught.lm import embedded_gguf

    port = free_port()
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "selftaught.lm.llamacpp_server",
            "--model",
            str(embedded_gguf()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(n_ctx),
            "--n_threads",
            "2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(base + "/models", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"llama_cpp.server did not answer /v1/models within {start_seconds:.0f} s"
                )
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
