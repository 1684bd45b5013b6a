"""The host's side of the zygote: start it, ask it for children, hear how they ended.

`ZygoteSandbox` implements `api.Sandbox`. Per execution the host makes a fresh socketpair,
passes one end to the zygote (SCM_RIGHTS), and talks to the child directly over the other,
so any number of children can be alive at once (an improver child waiting while the host,
serving its call, runs more children). A reader thread demultiplexes the zygote's control
messages. The host keeps POOL_SIZE children forked, confined (limits included) and connected
ahead of need for each kind of limits in use, refilled after each execution, so that neither
the zygote nor the child's set-up is on an execution's critical path. If the
zygote dies, running executions end as `sandbox_violation` and the next execution starts a
new zygote (its pooled children die with it).
"""

from __future__ import annotations

import atexit
import collections
import itertools
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from typing import Any

from selftaught.sandbox import environment, protocol, runs
from selftaught.sandbox.api import Limits
from selftaught.sandbox.driver import ExitInfo, limits_json

READY_SECONDS = 60.0
SPAWN_SECONDS = 30.0
POOL_SIZE = 2  # children forked, confined and connected ahead of need, per kind of limits
POOL_KINDS = 4  # at most this many kinds of limits have a pool; the least used is dropped
_EXITS_KEPT = 4096
_OPEN: weakref.WeakSet = weakref.WeakSet()  # closed at interpreter exit if the caller forgot


@atexit.register
def _close_open() -> None:
    for sandbox in list(_OPEN):
        sandbox.close()


class ZygoteDied(Exception):
    pass


class ZygoteProcess:
    """One running zygote and the thread that reads its control socket."""

    def __init__(self, layers: tuple[str, ...]):
        host_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # Children's scratch dirs live under this one, removed here even if the zygote is killed;
        # its name carries our pid, so that the next host removes it if we are killed.
        _sweep_scratch_roots()
        self.scratch_root = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
        plan = json.dumps(environment.plan(layers) | {"scratch_root": self.scratch_root})
        cmd = environment.command("zygote", plan, str(zygote_end.fileno()))
        try:
            self.proc = subprocess.Popen(
                cmd,
                env=environment.clean_env(),
                pass_fds=[zygote_end.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
                cwd="/",
            )
        except OSError:
            host_end.close()
            shutil.rmtree(self.scratch_root, ignore_errors=True)
            raise
        finally:
            zygote_end.close()
        self.ctl = host_end
        self.dead = False
        self.cond = threading.Condition()
        self.replies: dict[Any, dict[str, Any]] = {}
        self.exits: collections.OrderedDict[int, dict[str, Any]] = collections.OrderedDict()
        self.send_lock = threading.Lock()
        self.ids = itertools.count()
        self.live: set[int] = set()  # spawned children not yet reported dead
        # Pooled children (pid, host's socket end) by their limits, least recently used first.
        self.pools: collections.OrderedDict[str, collections.deque] = collections.OrderedDict()
        self.prefetching: dict[int, tuple[str, socket.socket]] = {}
        self.ready = self._read_ready()
        threading.Thread(target=self._read_loop, name="selftaught-zygote", daemon=True).start()

    def _read_ready(self) -> dict[str, Any]:
        self.ctl.settimeout(READY_SECONDS)
        try:
            message = json.loads(self.ctl.recv(65536) or b"null")
        except (OSError, ValueError):
            message = None
        self.ctl.settimeout(None)
        if not isinstance(message, dict) or message.get("op") != "ready":
            self.close()
            raise RuntimeError("the sandbox zygote did not start (see its stderr above)")
        return message

    def _read_loop(self) -> None:
        while True:
            try:
                data = self.ctl.recv(65536)
            except OSError:
                data = b""
            try:
                if data:
                    self._dispatch(json.loads(data))
                    continue
            except (ValueError, KeyError, TypeError):  # nonsense from the zygote: treat as dead
                self.proc.kill()
            with self.cond:
                orphans = [] if self.dead else list(self.live)  # dead already: we closed it
                self.dead = True
                self.cond.notify_all()
            for pid in orphans:  # the zygote died under them: in case one escaped PDEATHSIG
                environment.kill_group(pid)
            return

    def _dispatch(self, message: dict[str, Any]) -> None:
        with self.cond:
            op = message.get("op")
            if op == "exit":
                self.live.discard(message["pid"])
                self.exits[message["pid"]] = message
                while len(self.exits) > _EXITS_KEPT:
                    self.exits.popitem(last=False)
            else:
                if op == "spawned":  # a recycled pid: forget the old child's exit
                    self.exits.pop(message["pid"], None)
                    self.live.add(message["pid"])
                if message.get("id") in self.prefetching:
                    self._pooled(*self.prefetching.pop(message["id"]), message)
                else:
                    self.replies[message.get("id")] = message
            self.cond.notify_all()

    def _pooled(self, key: str, sock: socket.socket, message: dict[str, Any]) -> None:
        if message.get("op") == "spawned" and key in self.pools:
            self.pools[key].append((int(message["pid"]), sock))
        else:
            sock.close()

    def prefetch(self, spec: dict[str, Any]) -> None:
        """Ask for children with limits `spec` until POOL_SIZE of them are ready or on their
        way; do not wait for them. A child closed unused (pool dropped) just exits."""
        key = json.dumps(spec, sort_keys=True)
        while True:
            with self.cond:
                pool = self._pool(key)
                coming = sum(1 for k, _ in self.prefetching.values() if k == key)
                if self.dead or len(pool) + coming >= POOL_SIZE:
                    return
                request = next(self.ids)
                host_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
                self.prefetching[request] = (key, host_end)
            try:
                self.send({"op": "spawn", "id": request, "limits": spec}, [child_end.fileno()])
            except ZygoteDied:
                return
            finally:
                child_end.close()

    def _pool(self, key: str) -> collections.deque:
        """The pool for `key`, made most recently used; called with `cond` held."""
        if key not in self.pools:
            self.pools[key] = collections.deque()
            while len(self.pools) > POOL_KINDS:
                for _pid, sock in self.pools.popitem(last=False)[1]:
                    sock.close()
        self.pools.move_to_end(key)
        return self.pools[key]

    def take(self, spec: dict[str, Any]) -> tuple[int, socket.socket] | None:
        """A pooled child (pid, host's socket end) with limits `spec`, if one is ready."""
        with self.cond:
            pool = self._pool(json.dumps(spec, sort_keys=True))
            return pool.popleft() if pool and not self.dead else None

    def request(self, message: dict[str, Any], fds: list[int], timeout: float) -> dict[str, Any]:
        request = next(self.ids)
        self.send(message | {"id": request}, fds)
        deadline = time.monotonic() + timeout
        with self.cond:
            while request not in self.replies:
                if self.dead or not self.cond.wait(deadline - time.monotonic()):
                    raise ZygoteDied("the zygote did not answer")
            return self.replies.pop(request)

    def send(self, message: dict[str, Any], fds: list[int] = ()) -> None:
        try:
            with self.send_lock:
                socket.send_fds(self.ctl, [json.dumps(message).encode()], list(fds))
        except OSError as exc:
            raise ZygoteDied(str(exc)) from None

    def exit_info(self, pid: int, timeout: float) -> ExitInfo | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while pid not in self.exits:
                if self.dead:
                    return ExitInfo(zygote_died=True)
                left = deadline - time.monotonic()
                if left <= 0 or not self.cond.wait(left):
                    return None
            message = self.exits.pop(pid)
        return ExitInfo(
            code=message.get("code"),
            signal=message.get("signal"),
            cpu=float(message.get("cpu") or 0.0),
            maxrss_kb=int(message.get("maxrss_kb") or 0),
        )

    def forget(self) -> None:
        """In a forked copy of the host: close our copies of the fds, leave the zygote be."""
        self.dead = True
        self.ctl.close()
        self._close_pools()

    def _close_pools(self) -> None:
        with self.cond:
            for pool in self.pools.values():
                for _pid, sock in pool:
                    sock.close()
            for _key, sock in self.prefetching.values():
                sock.close()
            self.pools.clear()
            self.prefetching.clear()

    def close(self) -> None:
        """EOF on its control socket makes the zygote kill its children and exit."""
        with self.cond:
            self.dead = True
        try:
            self.ctl.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.ctl.close()
        self._close_pools()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.scratch_root, ignore_errors=True)


SCRATCH_PREFIX = "selftaught-sandbox-"


def _sweep_scratch_roots() -> None:
    """Remove the scratch roots of hosts that died without closing their sandbox (SIGKILL)."""
    root = tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(root) if n.startswith(SCRATCH_PREFIX)]
    except OSError:
        return
    for name in names:
        pid = name[len(SCRATCH_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: someone else's, and alive
        return True
    return True


class ZygoteChild:
    """A child of the zygote, seen from the host (implements `driver.Child`)."""

    def __init__(self, zygote: ZygoteProcess, pid: int, sock: socket.socket, limits: Limits):
        self.zygote = zygote
        self.pid = pid
        self.sock = sock
        self.spec = limits_json(limits)
        self.reader = protocol.Reader(sock, limits.output_bytes)

    def kill(self) -> None:
        try:
            self.zygote.send({"op": "kill", "pid": self.pid})
        except ZygoteDied:
            pass  # its children die with it (PDEATHSIG)

    def exit_info(self, timeout: float) -> ExitInfo | None:
        return self.zygote.exit_info(self.pid, timeout)

    def release(self) -> None:
        self.kill()  # reply first: the zygote reaps it while the caller goes on
        self.sock.close()
        # Refill the pool now rather than at spawn time, so that forking and confining the
        # next children does not compete with this execution for the CPU.
        self.zygote.prefetch(self.spec)


class ZygoteSandbox(runs.Runner):
    """`api.Sandbox` over a zygote; `layers` are those the zygote could put in place."""

    def __init__(self, layers: tuple[str, ...] = environment.LAYERS):
        self.wanted = tuple(layers)
        self.lock = threading.Lock()
        self.zygote = ZygoteProcess(self.wanted)
        self.layers: list[str] = list(self.zygote.ready.get("layers", []))
        self.why: dict[str, str] = dict(self.zygote.ready.get("why", {}))
        self.restarts = 0
        self.owner = os.getpid()
        _OPEN.add(self)

    def _current(self) -> ZygoteProcess:
        with self.lock:
            if self.owner != os.getpid():  # a fork of the host: it gets a zygote of its own
                self.zygote.forget()
                self.zygote = ZygoteProcess(self.wanted)
                self.owner = os.getpid()
            elif self.zygote.dead:
                self.zygote.close()
                self.zygote = ZygoteProcess(self.wanted)
                self.restarts += 1
            return self.zygote

    def spawn(self, limits: Limits) -> ZygoteChild:
        """A pooled child if one is ready (the zygote is then off the critical path)."""
        zygote = self._current()
        taken = zygote.take(limits_json(limits))
        if taken is not None:
            return ZygoteChild(zygote, taken[0], taken[1], limits)
        zygote.prefetch(limits_json(limits))  # for the next callers; this one does not wait
        return self._spawn_now(limits)

    def _spawn_now(self, limits: Limits) -> ZygoteChild:
        for attempt in range(2):
            zygote = self._current()
            host_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                message = {"op": "spawn", "limits": limits_json(limits)}
                reply = zygote.request(message, [child_end.fileno()], SPAWN_SECONDS)
            except ZygoteDied:
                host_end.close()
                if attempt:
                    raise RuntimeError("the sandbox zygote keeps dying") from None
                continue
            finally:
                child_end.close()
            if reply.get("op") != "spawned":
                host_end.close()
                raise RuntimeError(f"the zygote could not fork: {reply.get('error')}")
            return ZygoteChild(zygote, int(reply["pid"]), host_end, limits)
        raise AssertionError("unreachable")

    def ping(self) -> float:
        """Round trip to the zygote in seconds."""
        start = time.monotonic()
        self._current().request({"op": "ping"}, [], SPAWN_SECONDS)
        return time.monotonic() - start

    def close(self) -> None:
        with self.lock:
            if self.owner == os.getpid():
                self.zygote.close()
            else:
                self.zygote.forget()

    def __enter__(self) -> ZygoteSandbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
