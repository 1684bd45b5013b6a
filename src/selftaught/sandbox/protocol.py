"""The wire format between the host and a sandboxed child.

Every message is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON
(an object). NaN and infinities are refused in both directions (`allow_nan=False` when
writing, a rejecting `parse_constant` when reading). Nothing is ever unpickled or evaluated:
the host only calls `json.loads` on what a child sends, and caps the size first.
"""

from __future__ import annotations

import json
import re
import select
import socket
import struct
import time
from typing import Any

_HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    """The peer sent something that is not a well-formed message."""


class Closed(ProtocolError):
    """The peer closed its end (or died) before a whole message arrived."""


class TooLarge(ProtocolError):
    """The peer announced a message over the cap; its body was not read."""

    def __init__(self, size: int):
        super().__init__(f"message of {size} bytes is over the cap")
        self.size = size


class Timeout(Exception):
    """No whole message arrived before the deadline."""


def encode(message: dict[str, Any]) -> bytes:
    """Length-prefixed JSON; raises ValueError/TypeError for non-JSON data (NaN included)."""
    body = json.dumps(message, allow_nan=False, separators=(",", ":")).encode("utf-8")
    return _HEADER.pack(len(body)) + body


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON data")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):  # 1e999 parses to inf
        raise ValueError(f"{text[:20]} is not a finite number")
    return value


def decode(body: bytes) -> dict[str, Any]:
    """Parse one message body; anything but a JSON object is a ProtocolError."""
    try:
        text = body.decode("utf-8")
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"bad message: {str(exc)[:200]}") from None
    if not isinstance(value, dict):
        raise ProtocolError("bad message: not a JSON object")
    if _SURROGATE_ESCAPE.search(text):
        value = without_surrogates(value)
    return value


# A JSON escape of a UTF-16 surrogate: only then can a parsed string hold a lone one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
REPLACEMENT = "\N{REPLACEMENT CHARACTER}"
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def without_surrogates(value: Any) -> Any:
    """`value` with every lone surrogate in its strings (keys included) replaced by U+FFFD.

    JSON may escape one ("\\udc80") although no UTF-8 text can hold it: such a string makes
    SQLite, hashing and printing raise in the host. Walks with a stack, not recursion, as
    deep as the parser went."""
    root = [value]
    stack: list[Any] = [root]
    while stack:
        container = stack.pop()
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, item in list(items):
            if isinstance(item, str):
                container[key] = _LONE_SURROGATE.sub(REPLACEMENT, item)
            elif isinstance(item, dict | list):
                stack.append(item)
            if isinstance(key, str) and _LONE_SURROGATE.search(key):
                container[_LONE_SURROGATE.sub(REPLACEMENT, key)] = container.pop(key)
    return root[0]


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    """Blocking send of one message."""
    sock.sendall(encode(message))


def _recv_exact_blocking(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(min(n - len(chunks), 1 << 20))
        if not chunk:
            raise Closed("peer closed")
        chunks += chunk
    return bytes(chunks)


def recv(sock: socket.socket, cap: int = 1 << 30) -> dict[str, Any]:
    """Blocking receive of one message (the child side, which trusts its deadline to the host)."""
    (size,) = _HEADER.unpack(_recv_exact_blocking(sock, _HEADER.size))
    if size > cap:
        raise TooLarge(size)
    return decode(_recv_exact_blocking(sock, size))


def _wait(sock: socket.socket, events: int, seconds: float) -> bool:
    """poll(), not select(): the host may hold more than 1024 fds."""
    poller = select.poll()
    poller.register(sock, events | select.POLLHUP | select.POLLERR)
    millis = max(0, int(min(seconds, 3600.0) * 1000) + 1)  # callers loop until their deadline
    return bool(poller.poll(millis))


class Reader:
    """Host-side reader of one child's socket, with a deadline and a size cap per message."""

    def __init__(self, sock: socket.socket, cap: int):
        self.sock = sock
        self.cap = cap
        self._buf = bytearray()
        sock.setblocking(False)

    def _fill(self, n: int, deadline: float) -> None:
        while len(self._buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            if not _wait(self.sock, select.POLLIN, left):
                continue
            try:
                chunk = self.sock.recv(max(n - len(self._buf), 65536))
            except BlockingIOError:
                continue
            except OSError as exc:  # ECONNRESET when the child died mid-write
                raise Closed(str(exc)) from None
            if not chunk:
                raise Closed("peer closed")
            self._buf += chunk

    def read(self, deadline: float) -> dict[str, Any]:
        """The next message; raises Timeout, Closed, TooLarge or ProtocolError."""
        self._fill(_HEADER.size, deadline)
        (size,) = _HEADER.unpack_from(self._buf)
        if size > self.cap:
            raise TooLarge(size)
        self._fill(_HEADER.size + size, deadline)
        body = bytes(self._buf[_HEADER.size : _HEADER.size + size])
        del self._buf[: _HEADER.size + size]
        return decode(body)

    def write(self, message: dict[str, Any], deadline: float) -> None:
        """Send one message to the child without blocking past `deadline` (it may not read)."""
        data = memoryview(encode(message))
        while data:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            if not _wait(self.sock, select.POLLOUT, left):
                continue
            try:
                sent = self.sock.send(data)
            except BlockingIOError:
                continue
            except OSError as exc:  # EPIPE: the child is gone
                raise Closed(str(exc)) from None
            data = data[sent:]
