"""The dashboard in headless Chromium (Debian's `chromium`) via Playwright, watching a real run
being written by `selftaught run` in a subprocess, beside an old-schema run and a damaged one.

Skipped without /usr/bin/chromium or playwright, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from browser import ARGS, CHROMIUM, require_browser
from dashboard_runs import iterations_done, mixed_runs, start_run, wait_for

from selftaught.dashboard import start_dashboard

DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "dashboard.png"


def _cells(page, selector: str) -> list[str]:  # noqa: ANN001 - a Playwright page
    return page.locator(selector).all_inner_texts()


@pytest.mark.slow
def test_watch_a_run_live(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    root = mixed_runs(tmp_path / "runs")
    run = start_run(root / "live", sleep=1.5)
    problems: list[str] = []
    try:
        wait_for(lambda: 0 in iterations_done(root / "live"), 120, "t = 0 to be recorded")
        assert 1 not in iterations_done(root / "live")
        with start_dashboard([root]) as dashboard, sync_playwright() as p:
            base = dashboard.url.split("/?token=")[0]
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                context = browser.new_context(viewport={"width": 1300, "height": 900})
                context.on("dialog", lambda d: problems.append(f"dialog {d.message}"))
                listing, page = context.new_page(), context.new_page()
                for tab in (listing, page):
                    tab.on("pageerror", lambda e: problems.append(str(e)))
                    # A refused inline script or style (the CSP) is a console error.
                    tab.on("console", lambda m: problems.append(m.text) if m.type == "error"
                           else None)  # fmt: skip
                    tab.on("request", lambda r: None if r.url.startswith(base)
                           else problems.append(f"request to {r.url}"))  # fmt: skip
                listing.goto(dashboard.url)
                live = listing.locator('tr[data-key="live"] .status')
                live.wait_for()
                assert live.inner_text() == "running"
                damaged = listing.locator('tr[data-key="damaged"]')
                assert "unreadable" in damaged.inner_text()
                assert "not a usable run database" in damaged.locator("td.reason").inner_text()
                assert listing.locator('tr[data-key="old"] .status').inner_text() != "unreadable"

                href = listing.locator('tr[data-key="live"] a').get_attribute("href")
                page.goto(base + str(href))
                page.evaluate("window.__notReloaded = true")
                page.locator("#lineage summary").first.click()  # opens the initial's source
                ts = _cells(page, "#meta-utility tbody tr td:first-child")
                assert ts == ["0"], ts
                # t = 1 appears, and the runs list turns finished, without a reload.
                t1 = page.locator(
                    "#meta-utility tbody tr td:first-child", has_text=re.compile("^1$")
                )
                t1.wait_for(timeout=120_000)
                assert page.evaluate("window.__notReloaded") is True
                # The lineage was re-rendered (t = 1 added a node) and kept what was opened.
                assert page.locator("#lineage .node").count() >= 2
                assert page.locator("#lineage details").first.get_attribute("open") is not None
                finished = listing.locator('tr[data-key="live"] .status', has_text="finished")
                finished.wait_for(timeout=60_000)
                assert page.locator("#stream-evaluations tbody tr").count() >= 2
                assert page.locator("#stream-lm_calls tbody tr").count() >= 3
                assert page.locator("#now .phase").inner_text()

                # The model's markup is shown as text and ran nothing.
                page.wait_for_timeout(600)  # the last panels after the run finished
                assert page.evaluate("window.__pwned") is None
                assert listing.evaluate("window.__pwned") is None
                assert page.locator("#lineage img, #now img, #diffs img").count() == 0
                lineage = page.locator("#lineage").text_content() or ""
                assert "</script><script>window.__pwned = 1</script>" in lineage
                assert '<img src=x onerror="window.__pwned = 2">' in lineage
                assert "\x1b[31mred\x1b[0m" in lineage  # an ANSI escape is a character, shown
                solutions = page.locator("#solutions").text_content() or ""  # the first page's
                assert '<img src=x onerror="window.__pwned = 2">' in solutions
                assert "Improve the following solution" in page.locator("#prompt").inner_text()

                listing.locator('tr[data-key="live"] input').check()
                listing.locator('tr[data-key="old"] input').check()
                listing.locator("#overlay svg.plot").wait_for()
                assert listing.locator("#overlay svg.plot polyline").count() >= 2
                shot = tmp_path / "dashboard.png"
                page.screenshot(path=str(shot), full_page=False)
            finally:
                browser.close()
    finally:
        # The page shows "finished" before the process has exited: let it exit by itself.
        # Killed in its exit, a child of it kept the pipes open past a minute (CI, once).
        try:
            out, err = run.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            run.kill()
            out, err = run.communicate(timeout=60)
    assert run.returncode == 0, err
    assert problems == []
    if os.environ.get("SELFTAUGHT_DOCS_SCREENSHOT"):  # refresh the picture in docs/dashboard.md
        DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, DOCS_SHOT)
