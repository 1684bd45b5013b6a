"""The static scan and the wire protocol: pure functions, no processes."""

from __future__ import annotations

import socket
import struct

import pytest

from selftaught.sandbox import protocol
from selftaught.sandbox.scan import scan


def kinds(source):
    return {(f["kind"], f["detail"]) for f in scan(source)}


def test_scan_finds_risky_imports_and_calls():
    found = kinds(
        "import ctypes, subprocess as sp\n"
        "from socket import socket\n"
        "import os, gc, inspect, resource, signal, multiprocessing\n"
        "os.fork(); os.execv('/bin/sh', []); os.system('id'); os.kill(1, 9)\n"
        "exec('1'); eval('2')\n"
        "import sys\nsys._getframe(1)\n"
    )
    for module in ("ctypes", "subprocess", "socket", "gc", "inspect", "resource", "signal",
                   "multiprocessing"):  # fmt: skip
        assert ("import", module) in found
    for call in ("os.fork", "os.execv", "os.system", "os.kill", "exec", "eval", "sys._getframe"):
        assert ("call", call) in found
    assert ("import", "os") not in found and ("import", "sys") not in found


def test_scan_resolves_aliases():
    found = kinds("import os as o\nfrom os import system as s\no.fork()\ns('x')\n")
    assert ("call", "os.fork") in found and ("call", "os.system") in found


def test_scan_finds_handle_tampering_and_use_sandbox():
    found = kinds(
        "def improve_algorithm(s, utility, language_model):\n"
        "    utility.budget = 10 ** 9\n"
        "    del language_model.budget\n"
        "    setattr(utility, 'uses', 0)\n"
        "    utility(s, use_sandbox=False)\n"
        "    utility(s, use_sandbox=flag)\n"
        "    utility(s, 0)\n"
        "    utility(s, use_sandbox=True)\n"
        "    return ().__class__.__bases__[0].__subclasses__(), __builtins__\n"
    )
    assert {("handle_assignment", "utility.budget"), ("handle_assignment", "language_model.budget"),
            ("handle_assignment", "setattr(utility, ...)")} <= found  # fmt: skip
    assert {d for k, d in found if k == "use_sandbox"} == {"False", "flag", "0"}
    assert {("introspection", "__subclasses__"), ("introspection", "__builtins__")} <= found


def test_scan_is_quiet_on_ordinary_code():
    source = (
        "import numpy as np\nimport random, math, itertools, os.path\n"
        "def algorithm(x):\n    return np.sort(x) + os.path.sep.count('/')\n"
    )
    assert scan(source) == []


def test_scan_syntax_error_is_one_finding():
    (finding,) = scan("def f(:\n")
    assert (finding["kind"], finding["line"]) == ("syntax_error", 1)
    assert [f["kind"] for f in scan("x = '\0'\nimport ctypes\n")] == ["syntax_error"]


def test_protocol_round_trip_and_refusals():
    a, b = socket.socketpair()
    try:
        protocol.send(a, {"x": [1, 2.5, "é", None]})
        assert protocol.Reader(b, 1000).read(deadline=float("inf")) == {"x": [1, 2.5, "é", None]}
        with pytest.raises(ValueError):
            protocol.encode({"x": float("nan")})
        reader = protocol.Reader(b, 100)
        for body in (b'{"x": NaN}', b"[1]", b"\xff", b"{" * 100):
            a.sendall(struct.pack(">I", len(body)) + body)
            with pytest.raises(protocol.ProtocolError):
                reader.read(deadline=float("inf"))
        a.sendall(struct.pack(">I", 101))
        with pytest.raises(protocol.TooLarge):
            reader.read(deadline=float("inf"))
    finally:
        a.close()
        b.close()


def test_protocol_timeout_and_close():
    import time

    a, b = socket.socketpair()
    reader = protocol.Reader(b, 100)
    with pytest.raises(protocol.Timeout):
        reader.read(deadline=time.monotonic() + 0.05)
    a.sendall(struct.pack(">I", 10) + b"{")
    a.close()
    with pytest.raises(protocol.Closed):
        reader.read(deadline=time.monotonic() + 1)
    b.close()
