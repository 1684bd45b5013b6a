"""`selftaught serve` over HTTP, without a browser: the token, the headers, what it lists of a
runs directory with damaged and old runs, that it never writes, and a busy port."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import report_runs as support
from conftest import ROOT, ctrl_c_able, one_clear_line, run_cli
from dashboard_runs import first_event, mixed_runs, start_run, wait_for
from report_runs import killed_after_t0

from selftaught.dashboard import start_dashboard
from selftaught.store import RunReader

finished_run = support.finished_run


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _files(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


def test_every_request_needs_the_token(finished_run: Path, tmp_path: Path) -> None:
    root = mixed_runs(tmp_path / "runs", finished_run)
    with start_dashboard([root]) as dashboard:
        base, token = dashboard.url.split("/?token=")
        assert base.startswith("http://127.0.0.1:") and len(token) >= 32
        paths = ["/", "/run/done", "/events", "/events/done", "/static/dashboard.js",
                 "/overlay?runs=done&runs=old"]  # fmt: skip
        for path in paths:
            for bad in ("", "?token=", f"?token={token[:-1]}", f"?token={token}x"):
                joiner = "&" if "?" in path and bad else ""
                url = base + (path + joiner + bad.lstrip("?") if joiner else path + bad)
                status, _, body = _get(url)
                assert status == 403, url
                assert b"lpn" not in body and b"def " not in body
        status, headers, body = _get(f"{base}/run/done?token={token}")
        assert status == 200 and b"Meta-utility per iteration" in body
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "no-referrer"
        assert b"<script>" not in body  # no inline script: the CSP would refuse it anyway
        # The lineage's second level: under each improver, the meta-utility's runs of it.
        assert body.count(b'<details class="downstream">') == 2  # the initial and the adopted
        assert b"meta-utility runs of this improver (10 listed)" in body
        status, headers, _ = _get(f"{base}/static/dashboard.js?token={token}")
        assert status == 200 and headers["Content-Type"] == "text/javascript"


def test_lists_readable_runs_and_names_the_unreadable(finished_run: Path, tmp_path: Path) -> None:
    root = mixed_runs(tmp_path / "runs", finished_run)
    killed_after_t0(finished_run, root / "killed")
    before = _files(root)
    with start_dashboard([root]) as dashboard:
        base, token = dashboard.url.split("/?token=")
        rows = {r["key"]: r for r in first_event(f"{base}/events?token={token}", "runs")}
        assert set(rows) == {"done", "old", "damaged", "killed"}
        assert rows["killed"]["status"] == "stopped" and rows["killed"]["resumable"]
        assert rows["done"]["status"] == "finished" and rows["done"]["best_val"] == 1.0
        assert rows["old"]["status"] in ("finished", "stopped") and rows["old"]["error"] is None
        assert rows["old"]["iterations_done"] is not None
        assert rows["damaged"]["status"] == "unreadable"
        assert "not a usable run database" in rows["damaged"]["error"]
        # The old run's page renders from its migrated in-memory copy; the damaged one's is
        # one line saying why, not a traceback.
        status, _, body = _get(f"{base}/run/old?token={token}")
        assert status == 200 and b"Lineage of improvers" in body
        status, _, body = _get(f"{base}/run/damaged?token={token}")
        assert status == 404 and b"not a usable run database" in body and b"Traceback" not in body
        panels = first_event(f"{base}/events/done?token={token}", "panels")
        assert {"now", "budgets", "meta-utility", "lineage", "summary"} <= set(panels)
    assert _files(root) == before  # nothing was written, not even -wal or -shm files


def test_busy_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("serve", str(tmp_path), "--port", str(port), timeout=60)
    one_clear_line(done, "in use", str(port), "--port")


def test_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    done = run_cli("serve", str(tmp_path / "nowhere"), timeout=60)
    one_clear_line(done, "no directory")
    assert done.stderr.startswith("error: "), done.stderr  # styled, not raw "[bold red]"


@pytest.mark.parametrize("host", ["0.0.0.0"])
def test_beyond_loopback_warns(tmp_path: Path, host: str) -> None:
    with socket.socket() as taken:  # a busy port ends the command right after the warning
        taken.bind((host, 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("serve", str(tmp_path), "--host", host, "--port", str(port), timeout=60)
    assert done.returncode == 2
    assert "warning" in done.stderr and "anyone who can reach it" in done.stderr


def test_run_serve_prints_a_url_that_shows_the_run(tmp_path: Path) -> None:
    run = start_run(tmp_path / "live", "--serve", sleep=0.3)
    try:
        assert run.stderr is not None
        line = run.stderr.readline()
        assert line.startswith("dashboard: http://127.0.0.1:"), line
        url = line.split()[-1]
        base, token = url.split("/?token=")
        rows = wait_for(
            lambda: first_event(f"{base}/events?token={token}", "runs"), 60, "the run to list"
        )
        assert [r["key"] for r in rows] == ["live"] and rows[0]["status"] == "running"
        status, _, _ = _get(f"{base}/events?token=nope")
        assert status == 403
    finally:
        out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err


def test_a_watched_run_leaves_its_whole_record_in_run_db(tmp_path: Path) -> None:
    """The dashboard's reader is open when the run's writer closes; SQLite then leaves the WAL
    unmerged unless the writer folds it in, and a copy of run.db alone would be empty."""
    live = tmp_path / "runs" / "live"
    run = start_run(live, sleep=0.05)
    with start_dashboard([live.parent]) as dashboard:
        base, token = dashboard.url.split("/?token=")
        url = f"{base}/events/live?token={token}"
        wait_for(lambda: _get(f"{base}/run/live?token={token}")[0] == 200, 60, "the run")
        with urllib.request.urlopen(url, timeout=30) as stream:  # open to the run's end
            wait_for(lambda: stream.readline().startswith(b"event: panels"), 30, "panels")
            _, err = run.communicate(timeout=120)  # the watcher's reader is open meanwhile
        assert run.returncode == 0, err
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(live / "run.db", copy / "run.db")
    with RunReader.open(copy) as reader:
        assert reader.meta()["finished"] is True
        assert [r.t for r in reader.iterations()] == [0, 1]


def test_rows_after_a_mark(finished_run: Path) -> None:
    """The store's reads for the live layer: high-water marks, and the rows after one."""
    with RunReader.open(finished_run) as reader:
        marks = reader.marks()
        assert marks["lm_calls"] == reader.count("lm_calls") > 2
        assert marks["evaluations"] > 0 and marks["iterations"] > 0
        for table in ("lm_calls", "evaluations", "invocations", "events"):
            assert reader.rows_after(table, marks[table]) == []
        last = reader.rows_after("lm_calls", marks["lm_calls"] - 2)
        assert [r["id"] for r in last] == [marks["lm_calls"] - 1, marks["lm_calls"]]
        assert {"level", "scope", "tokens", "cached", "created"} <= set(last[0])
        evaluation = reader.rows_after("evaluations", 0)[0]
        assert evaluation["split"] in ("val", "test") and 0 <= evaluation["score"] <= 1
        assert (call := reader.latest_lm_call()) is not None and call.user


def test_api_serve_shows_the_run_while_it_runs(tmp_path: Path) -> None:
    """`selftaught.run(serve=True)`: the model (a function called in this process) reads the
    dashboard's runs list while the run is in progress, from the URL the run printed."""
    import contextlib
    import io

    import dashboard_world

    import selftaught

    printed = io.StringIO()
    dashboard_world.PRINTED[:] = [printed]
    dashboard_world.SEEN.clear()
    with contextlib.redirect_stderr(printed):
        run = selftaught.run(task="lpn", model=dashboard_world.watching, run_dir=tmp_path / "api",
                             serve=True, iterations=1, repetitions=1, seed=3)  # fmt: skip
    seen = dashboard_world.SEEN
    assert [r["status"] for r in seen] == ["running"] and seen[0]["key"] == "api"
    assert run.iterations[-1].t == 1


@pytest.mark.slow  # about 20 s: a run slowed down so that the page can watch it
def test_safety_events_reach_the_page_while_the_run_goes(tmp_path: Path) -> None:
    """Improvers that turn the sandbox flag off, raise budgets and try to escape: the safety
    panel the page gets shows their events while the run is still going."""
    live = tmp_path / "runs" / "live"
    run = start_run(live, "--sandbox-flag", sleep=1.0, world="safety_world")
    try:
        with start_dashboard([live.parent]) as dashboard:
            base, token = dashboard.url.split("/?token=")
            wait_for(lambda: _get(f"{base}/run/live?token={token}")[0] == 200, 60, "the run")
            with urllib.request.urlopen(f"{base}/events/live?token={token}", timeout=30) as stream:
                wait_for(lambda: _safety_shown(stream), 120, "a safety event on the page")
                assert run.poll() is None  # the run has not finished
    finally:
        _, err = run.communicate(timeout=180)
    assert run.returncode == 0, err


def _safety_shown(stream) -> bool:  # noqa: ANN001 - an HTTP response
    line = stream.readline().decode()
    if not line.startswith("data: "):
        return False
    panels = json.loads(line.removeprefix("data: "))
    safety = panels.get("safety", "") if isinstance(panels, dict) else ""
    return "static:use_sandbox" in safety


def test_serve_prints_one_url_and_stops_on_ctrl_c(finished_run: Path, tmp_path: Path) -> None:
    root = mixed_runs(tmp_path / "runs", finished_run)
    serve = subprocess.Popen(
        [sys.executable, "-m", "selftaught", "serve", str(root), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        preexec_fn=ctrl_c_able,
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()
        assert line.startswith("dashboard: http://127.0.0.1:") and "?token=" in line
        status, _, body = _get(line.split()[-1])
        assert status == 200 and b"selftaught runs" in body
    finally:
        serve.send_signal(signal.SIGINT)
        out, err = serve.communicate(timeout=30)
    assert serve.returncode == 130 and "Traceback" not in err
    assert out == ""  # one line, then nothing


def test_the_budget_panel_puts_each_level_s_calls_beside_its_invocations() -> None:
    """The store names a level two ways (invocations: stop / meta_utility; model calls: meta /
    task); the panel pairs them through `records.Level`. The replay fixture's STOP run: one
    iteration (1 stop invocation, 1 model call) and 8 meta-utility repetitions (8 calls)."""
    import re

    from selftaught.dashboard.panels import budget_panel, now_panel

    with RunReader.open(ROOT / "tests" / "fixtures" / "replay" / "stop") as reader:
        meta = reader.meta()
        gauges = budget_panel(reader, meta)
        rows = re.findall(r"<tr><th>(\w+)</th><td>(\d+)</td><td>(\d+) / (\d+)", gauges)
        now = now_panel(reader, meta)
    assert rows == [("meta", "1", "1", "2"), ("task", "8", "8", "16")]
    assert "latest model call: level task, scope <code>t=1</code>" in now
