"""The dashboard's HTML: the runs list, a run's page and its live panels, and the overlay of
several runs' curves. A run's page is the report's content (`report.html.sections`, the same
code as `selftaught report`) plus the live panels (`dashboard.panels`) and the streams of
evaluations and model calls, which the page's script fills from the server's events.

Contract: every value from a run is escaped here or by the report's cells; the pages load
their style sheets and script from the server (`/static/`, under the page's token), never
inline and never from another host, so the Content-Security-Policy can forbid inline script.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from selftaught.dashboard.panels import budget_panel, now_panel
from selftaught.records import IterationRecord
from selftaught.report import svg
from selftaught.report.cells import isnum, section
from selftaught.report.data import RunData, load_run
from selftaught.report.html import sections
from selftaught.report.sections import header, meta_utility
from selftaught.scores import bounds_holding
from selftaught.store import RunReader, StoreError

# The report's sections the server re-renders when the run records what they show.
REPORT_PANELS = ("head", "summary", "meta-utility", "lineage", "diffs", "safety")


def shell(title: str, token: str, body: str, **data: str) -> str:
    """A page around `body`: the served style sheets and script, `data-*` on <body>."""
    q = f"?token={escape(token)}"
    attrs = "".join(f' data-{k}="{escape(v)}"' for k, v in data.items())
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><link rel="icon" href="data:,">'
        f'<link rel="stylesheet" href="/static/report.css{q}">'
        f'<link rel="stylesheet" href="/static/dashboard.css{q}">'
        f'<script src="/static/dashboard.js{q}" defer></script></head>'
        f'<body{attrs}><p class="live"><a href="/{q}">all runs</a> · '
        f'<span id="connection" class="badge">connecting</span></p>{body}'
        f'<script src="/static/pager.js{q}" defer></script></body></html>'
    )


def runs_page(token: str, paths: list[Path]) -> str:
    where = ", ".join(str(p) for p in paths)
    body = (
        f'<header><h1>selftaught runs</h1><p class="path">{escape(where)}</p></header>'
        "<noscript><p>The runs list is filled by the page's script.</p></noscript>"
        '<table class="data" id="runs"><thead><tr><th>overlay</th><th>run</th><th>status</th>'
        "<th>task</th><th>model</th><th>t</th><th>best û val</th><th>its û test</th>"
        "<th>paid calls</th><th>dollars</th><th>last write</th><th>reason</th></tr></thead>"
        "<tbody></tbody></table>"
        '<p class="note">Select two or more runs to overlay their meta-utility curves.</p>'
        '<div class="figure" id="overlay"></div>'
    )
    return shell("selftaught runs", token, body, page="runs")


def run_page(token: str, key: str, run_dir: Path) -> str:
    """The report's content of the run, the live panels and the (script-filled) streams."""
    data = load_run(run_dir)
    live = live_panels(run_dir, data)
    report = sections(data)
    order = ["now", "budgets", "meta-utility", "lineage", "diffs", "streams", "solutions",
             "lm", "safety", "config"]  # fmt: skip
    parts = {**report, **live, "streams": _streams()}
    body = live["head"] + live["summary"] + "".join(parts[name] for name in order)
    return shell(f"selftaught run {key}", token, body, page="run", run=key)


def live_panels(run_dir: Path, data: RunData | None = None) -> dict[str, str]:
    """The panels the server pushes when the run writes, by element id: REPORT_PANELS (the
    header with its finished or partial badge, the summary cards, the report's sections that
    change as a run goes) and the `quick_panels`."""
    data = data if data is not None else load_run(run_dir, live=True)
    out = {
        "head": f'<div id="head">{header.header(data)}</div>',
        "summary": f'<div id="summary">{header.summary(data)}</div>',
    }
    report = sections(data)
    out.update({name: report[name] for name in REPORT_PANELS if name in report})
    try:
        with RunReader.open(run_dir) as reader:
            out.update(quick_panels(reader, data.meta))
    except StoreError as exc:
        note = f'<p class="note">{escape(str(exc))}</p>'
        out["now"], out["budgets"] = section("now", "Now", note), section("budgets", "Budgets", "")
    return out


def quick_panels(reader: RunReader, meta: dict[str, Any]) -> dict[str, str]:
    """ "now" and "budgets": a few aggregate queries, cheap enough for every write."""
    return {"now": now_panel(reader, meta), "budgets": budget_panel(reader, meta)}


def _streams() -> str:
    """Empty tables the script appends rows to (text only), newest at the top."""
    evaluations = _stream_table("evaluations", ["when", "program", "task", "split", "score",
                                                "seconds", "node", "failure"])  # fmt: skip
    calls = _stream_table("lm_calls", ["when", "level", "scope", "samples", "cached", "tokens",
                                       "seconds"])  # fmt: skip
    invocations = _stream_table("invocations", ["when", "level", "t", "task", "repetition",
                                                "status", "error"])  # fmt: skip
    body = (
        "<h3>Evaluations</h3>" + evaluations + "<h3>Model calls</h3>" + calls
        + "<h3>Improver invocations</h3>" + invocations
    )  # fmt: skip
    return section("streams", "As it happens (latest first)", body)


def _stream_table(name: str, headers: list[str]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return (
        f'<table class="data stream" id="stream-{name}">'
        f"<thead><tr>{head}</tr></thead><tbody></tbody></table>"
    )


def overlay(runs: dict[str, Path]) -> str:
    """One chart: the incumbent's val meta-utility per iteration of each run (test dashed)."""
    series = []
    for i, (key, run_dir) in enumerate(runs.items()):
        color = svg.PALETTE[i % len(svg.PALETTE)]
        for split, dashed in (("val", False), ("test", True)):
            values = [(r.t, getattr(r, f"meta_utility_{split}")) for r in _iterations(run_dir)]
            points = [(t, value) for t, value in values if isnum(value)]
            series.append(svg.Series(f"{key} {split}", points, color, "step", dashed))
    # Runs on different tasks share the chart: [0, 1] unless a value lies outside it.
    y_range = bounds_holding(value for s in series for _, value in s.points)
    return meta_utility.curve(series, y_range, "meta-utility per iteration, runs overlaid")


def _iterations(run_dir: Path) -> list[IterationRecord]:
    try:
        with RunReader.open(run_dir) as reader:
            return reader.iterations() if "iterations" in reader.tables() else []
    except (StoreError, ValueError, TypeError):
        return []
