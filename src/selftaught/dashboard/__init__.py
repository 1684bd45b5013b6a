"""`selftaught serve`: a live, read-only dashboard over run stores (docs/dashboard.md).

API:
- `start_dashboard(paths, host="127.0.0.1", port=0) -> Dashboard`: serves the runs under
  `paths` (run directories, or directories of runs) in background threads; `Dashboard.url`
  is the one URL to open (it carries the random token every request needs). A port in use
  raises `DashboardError` (one line). `Dashboard.close()` stops it; so does leaving a `with`.
- `Dashboard.wait()` blocks until Ctrl-C (what `selftaught serve` does).
- `LOOPBACK`: the hosts that need no warning.

Pages read the runs only through `store.RunReader`; model output on them is escaped text.
"""

from __future__ import annotations

import errno
import secrets
import threading
from pathlib import Path

from selftaught.dashboard.runs import RunIndex
from selftaught.dashboard.server import DashboardServer
from selftaught.dashboard.watch import Hub

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

__all__ = ["LOOPBACK", "Dashboard", "DashboardError", "start_dashboard"]


class DashboardError(Exception):
    """The dashboard cannot start (a port in use, an address that does not exist here)."""


class Dashboard:
    def __init__(self, server: DashboardServer, hub: Hub):
        self._server = server
        self._hub = hub
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="dashboard",
            daemon=True,
        )  # fmt: skip

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}/?token={self._server.token}"

    @property
    def watcher_cpu_seconds(self) -> float:
        """The CPU time the watching thread used so far (what watching costs a machine)."""
        return self._hub.cpu_seconds

    def start(self) -> Dashboard:
        self._hub.start()
        self._thread.start()
        return self

    def wait(self) -> None:
        self._thread.join()

    def close(self) -> None:
        self._server.closing = True
        self._server.shutdown()
        self._server.server_close()
        self._hub.stop()

    def __enter__(self) -> Dashboard:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def start_dashboard(paths: list[Path], host: str = "127.0.0.1", port: int = 0) -> Dashboard:
    """A running dashboard over `paths`; `DashboardError` if it cannot listen there."""
    index = RunIndex([Path(p) for p in paths])
    hub = Hub(index)
    token = secrets.token_urlsafe(24)
    try:
        server = DashboardServer((host, port), token, index, hub)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise DashboardError(
                f"port {port} on {host} is in use; pick another with --port (0: any free one)"
            ) from None
        raise DashboardError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return Dashboard(server, hub).start()
