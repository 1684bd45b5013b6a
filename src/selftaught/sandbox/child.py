"""The code that runs inside a sandboxed child, after its confinement is in place.

`run_job(sock, job, layers, audit)` runs one job sent by the host and returns; the caller
then exits with `os._exit`. Messages to the host (see `protocol`):

- `{"t": "hello", "layers": [...]}` first, once the child is confined;
- solution mode: `{"t": "ready"}` when the source has loaded (or `{"t": "load_error",
  "status", "error"}`), then `{"t": "out", "i", "status", "output" | "error"}` per instance;
- improver mode: `{"t": "call", "method", "params"}` per proxy call (the host answers
  `{"t": "reply", "ok": true, "value"}` or `{"t": "reply", "ok": false, "kind", "message"}`),
  then `{"t": "result", "status", "result" | "error"}`.

Every message carries the audit entries recorded since the previous one; a new entry is
also sent at once as `{"t": "audit"}` when no other send is under way.
Outputs are converted to plain JSON here for convenience; NaN and infinities are refused
(status "error", text "output is not JSON data"), as are sets and arbitrary objects. The
host re-validates everything on parse, so nothing here is trusted.
"""

from __future__ import annotations

import errno
import math
import random
import sys
import threading
import types
from typing import Any

import numpy

from selftaught.sandbox import arrays, helpers, protocol, proxies
from selftaught.sandbox.audit import AuditLog

ERROR_CHARS = 500
NOT_JSON = "output is not JSON data"


class NotJSON(Exception):
    pass


def to_json(value: Any, depth: int = 0) -> Any:
    """Plain JSON data from `value` (numpy arrays and scalars included); raises NotJSON."""
    if depth > 100:
        raise NotJSON("nested too deeply")
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        number = float.__float__(value)
        if not math.isfinite(number):
            raise NotJSON("NaN or infinity")
        return number
    if isinstance(value, (list, tuple)):
        return [to_json(v, depth + 1) for v in list(value)]
    if isinstance(value, dict):
        if not all(type(k) is str for k in value):
            raise NotJSON("dict keys must be str")
        return {k: to_json(v, depth + 1) for k, v in dict.items(value)}
    if isinstance(value, numpy.ndarray):
        return to_json(numpy.asarray(value).tolist(), depth + 1)
    if isinstance(value, numpy.generic):
        return to_json(value.item(), depth + 1)
    raise NotJSON(type(value).__name__)


def describe(exc: BaseException) -> str:
    """`Type: message`, capped, then " (candidate line N)" when the candidate's own code raised
    it (what `utility.why` shows an improver; selftaught/feedback.py); survives a hostile
    __str__."""
    try:
        text = f"{type(exc).__name__}: {exc}"
    except BaseException:  # noqa: BLE001
        text = type(exc).__name__
    line = candidate_line(exc)
    suffix = f" (candidate line {line})" if line else ""
    return text[: ERROR_CHARS - len(suffix)] + suffix


def candidate_line(exc: BaseException) -> int | None:
    """The line of the candidate's source (compiled as "<candidate>") the exception points
    at: the innermost such frame of its traceback, or a SyntaxError's own line."""
    try:
        if isinstance(exc, SyntaxError) and exc.filename == "<candidate>":
            return int(exc.lineno) if exc.lineno else None
        line, tb = None, exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == "<candidate>":
                line = tb.tb_lineno
            tb = tb.tb_next
        return line
    except BaseException:  # noqa: BLE001 - a hostile exception object must not break the report
        return None


def status_of(exc: BaseException) -> str:
    """The outcome class of an exception that escaped the candidate. Inside a child every
    EPERM/EACCES is a layer refusing a system call (seccomp, Landlock): a sandbox violation."""
    if isinstance(exc, MemoryError):
        return "memory_limit"
    if isinstance(exc, OSError) and exc.errno in (errno.EPERM, errno.EACCES):
        return "sandbox_violation"
    return "error"


class Channel:
    """The child's end of its socket: sends messages with the audit entries attached."""

    def __init__(self, sock: Any, audit: AuditLog | None):
        self.sock = sock
        self.audit = audit
        self.lock = threading.Lock()  # improver code may call proxies from several threads
        if audit is not None:
            audit.on_entry = self.flush_audit

    def send(self, message: dict[str, Any]) -> None:
        with self.lock:
            self._send(message)

    def _send(self, message: dict[str, Any]) -> None:
        if self.audit is not None:
            message["audit"] = self.audit.take()
        protocol.send(self.sock, message)

    def flush_audit(self) -> None:
        """Send new audit entries now; if a send is under way (maybe in this very thread,
        inside the hook), they go with the next message instead."""
        if self.lock.acquire(blocking=False):
            try:
                self._send({"t": "audit"})
            except Exception:  # noqa: BLE001 - never let the hook break the candidate
                pass
            finally:
                self.lock.release()

    def call(self, method: str, params: dict[str, Any]) -> Any:
        with self.lock:
            self._send({"t": "call", "method": method, "params": params})
            reply = protocol.recv(self.sock)
        if reply.get("ok"):
            return reply.get("value")
        proxies.raise_remote(str(reply.get("kind")), str(reply.get("message")))


class _Rehearsal(Channel):
    """A channel that encodes what it would send and drops it."""

    def __init__(self) -> None:
        super().__init__(None, None)

    def _send(self, message: dict[str, Any]) -> None:
        protocol.encode(message)


REHEARSAL = "import numpy\ndef f(x):\n    return [numpy.arange(2), x * 2, 0.5]\n"


def rehearse() -> None:
    """Run a small trusted job with no socket. In the zygote this runs what is lazy once per
    process; in a pooled child it makes private, ahead of its job, the copy-on-write pages
    that loading and running a program touch, which would otherwise fault on the clock."""
    inputs = [[1], arrays.pack_args([numpy.arange(3)], True), [[1, 2]]]
    job = {"source": REHEARSAL, "entry": "f", "inputs": inputs, "offset": 0, "seed": 0}
    job = protocol.decode(protocol.encode(job | {"array_args": True})[4:])
    run_solution(_Rehearsal(), job)
    sys.modules.pop("candidate", None)


def load(source: str) -> types.ModuleType:
    """Execute `source` as a fresh module named `candidate`."""
    module = types.ModuleType("candidate")
    module.__file__ = "<candidate>"
    sys.modules["candidate"] = module  # dataclasses and typing look their module up
    exec(compile(source, "<candidate>", "exec"), module.__dict__)
    return module


def seed_all(seed: int) -> None:
    random.seed(seed)
    numpy.random.seed(seed % 2**32)


def run_job(sock: Any, job: dict[str, Any], layers: list[str], audit: AuditLog | None) -> None:
    channel = Channel(sock, audit)
    channel.send({"t": "hello", "layers": layers})
    if job.get("mode") == "improver":
        run_improver(channel, job)
    else:
        run_solution(channel, job)


def _arguments(args: list[Any], array_args: bool) -> list[Any]:
    converted = []
    for arg in args:
        if arrays.is_packed(arg):
            arg = arrays.unpack_arg(arg)
        elif array_args and isinstance(arg, list):
            try:
                arg = numpy.array(arg)
            except ValueError:  # ragged: leave it a list
                pass
        converted.append(arg)
    return converted


def run_solution(channel: Channel, job: dict[str, Any]) -> None:
    try:
        function = getattr(load(job["source"]), job["entry"], None)
        if not callable(function):
            raise NameError(f"no function named {job['entry']!r}")
    except BaseException as exc:  # noqa: BLE001 - SystemExit in module code too
        channel.send({"t": "load_error", "status": status_of(exc), "error": describe(exc)})
        return
    channel.send({"t": "ready"})
    offset, seed = int(job["offset"]), int(job["seed"])
    for i, args in enumerate(job["inputs"], start=offset):
        message = _one_instance(function, args, seed + i, job["array_args"]) | {"i": i}
        try:
            channel.send(message)
        except (ValueError, TypeError, RecursionError):  # what to_json let through
            channel.send({"t": "out", "i": i, "status": "error", "error": NOT_JSON})


def _one_instance(function: Any, args: list[Any], seed: int, array_args: bool) -> dict[str, Any]:
    try:
        seed_all(seed)
        output = function(*_arguments(args, array_args))
    except BaseException as exc:  # noqa: BLE001 - sys.exit() is a per-instance error too
        return {"t": "out", "status": status_of(exc), "error": describe(exc)}
    try:
        data = to_json(output)
    except (NotJSON, RecursionError):
        return {"t": "out", "status": "error", "error": NOT_JSON}
    except MemoryError:
        return {"t": "out", "status": "memory_limit", "error": "MemoryError"}
    return {"t": "out", "status": "ok", "output": data}


def run_improver(channel: Channel, job: dict[str, Any]) -> None:
    sys.modules["helpers"] = helpers  # `from helpers import extract_code`
    spec = job["spec"]
    try:
        seed_all(int(job["seed"]))
        function = load(job["source"]).improve_algorithm
        utility, language_model = proxies.child_handles(channel.call, spec)
        result = function(spec["initial_solution"], utility, language_model)
    except BaseException as exc:  # noqa: BLE001
        channel.send({"t": "result", "status": status_of(exc), "error": describe(exc)})
        return
    try:
        data = to_json(result)
    except (NotJSON, RecursionError):
        channel.send({"t": "result", "status": "error", "error": "result is not JSON data"})
        return
    channel.send({"t": "result", "status": "ok", "result": data})
