"""The report of a real run, opened in headless Chromium (Debian's `chromium`) via Playwright.

Nothing is installed here: without /usr/bin/chromium (or the playwright package) the test is
skipped, except under CI=true, where it fails, because CI must provision both.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import report_runs as support
from browser import ARGS, CHROMIUM, require_browser

from selftaught.report import load_run, write_report
from selftaught.report.lineage import build_lineage

finished_run = support.finished_run
_require_browser = require_browser


def test_report_renders_in_chromium(finished_run: Path, tmp_path: Path) -> None:
    _require_browser()
    from playwright.sync_api import sync_playwright

    report = write_report(finished_run, tmp_path / "report.html")
    improvers = len(build_lineage(load_run(finished_run)).nodes)
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            # Any request other than the file itself would be a network dependency.
            page.on(
                "request",
                lambda r: (
                    None if r.url.startswith("file:") else problems.append(f"request to {r.url}")
                ),
            )
            page.goto(report.as_uri())
            page.wait_for_load_state("load")

            plots = page.locator("svg.plot")
            assert plots.count() >= 4
            for i in range(plots.count()):
                box = plots.nth(i).bounding_box()
                assert box and box["width"] > 100 and box["height"] > 40
            # The meta-utility plot draws its curves (polylines with points), not "no data".
            curves = page.locator("#meta-utility svg.plot polyline")
            assert curves.count() >= 2 and curves.first.get_attribute("points")
            assert page.locator("#meta-utility svg.plot circle").count() >= 3

            assert page.locator("#lineage .node").count() == improvers
            diff = page.locator("#diffs table.diff")
            assert diff.count() >= 1 and diff.first.is_visible()
            assert page.locator("#diffs td.add").count() >= 1
            assert page.locator("#diffs td.del").count() >= 1
            # The config file that reproduces the run is shown, as text, not as markup.
            toml = page.locator("#config pre#reproduce-toml")
            assert toml.is_visible() and 'task = "lpn"' in toml.inner_text()

            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert shot.stat().st_size > 10_000
    artefacts = os.environ.get("SELFTAUGHT_TEST_ARTEFACTS")
    if artefacts:  # CI can collect the screenshot from a directory of its choice
        Path(artefacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artefacts) / "report.png")
    print(f"report screenshot: {shot}")
