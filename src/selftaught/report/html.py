"""The report page: one self-contained HTML document built from a `RunData`.

Contract of `render(data)`:
- no external resource of any kind (styles, the pager script and the SVG plots are inline),
  so the file opens offline and from any directory;
- every value that came from the run (sources, prompts, event details, task names) is escaped:
  the run's programs were written by a language model and are untrusted text;
- long tables hold at most the rows `data.py` kept and are paged in the browser by a few
  lines of script (without script every row is shown);
- a partial run gets a banner listing what is missing; every section renders from what is there.
"""

from __future__ import annotations

import json
import math
import time
from html import escape
from typing import Any

from selftaught.report import svg
from selftaught.report.assets import CSS, PAGER_JS
from selftaught.report.command import reproduce_command
from selftaught.report.data import (
    MAX_EVENT_ROWS,
    MAX_INSTANCE_ROWS,
    MAX_PROGRAM_ROWS,
    RunData,
)
from selftaught.report.diff import code_block, side_by_side, style_css
from selftaught.report.lineage import Lineage, Node, build_lineage
from selftaught.report.stats import Interval, interval, run_values

LEVEL_NAMES = {"meta": "self-improvement (prompt shows an improver)", "task": "task (solutions)"}
LEVEL_COLORS = {"meta": svg.PALETTE[3], "task": svg.PALETTE[0]}
STATUS_LABELS = {
    "initial": "initial",
    "adopted": "adopted",
    "rejected": "not adopted",
    "invalid": "not an improver",
    "unscored": "unscored",
}


def render(data: RunData) -> str:
    lineage = build_lineage(data)
    title = f"selftaught run {data.run_dir.name}"
    body = [
        _header(data),
        _summary(data),
        _section("meta-utility", "Meta-utility per iteration", _meta_utility(data)),
        _section("lineage", "Lineage of improvers", _lineage(lineage)),
        _section("diffs", "Adopted improvers against their parents", _diffs(lineage)),
        _section("solutions", "Solutions", _solutions(data)),
        _section("lm", "Language-model usage", _lm_usage(data)),
        _section("safety", "Safety events", _safety(data)),
        _section("config", "Configuration and reproduction", _config(data)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}\n{style_css()}</style></head>"
        f"<body>{''.join(body)}"
        f"<footer>made by selftaught report on {escape(time.strftime('%Y-%m-%d %H:%M:%S'))}"
        f"</footer><script>{PAGER_JS}</script></body></html>"
    )


# ------------------------------------------------------------------------------ helpers


def _section(anchor: str, title: str, content: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{content}</section>'


def _num(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _score(value: Any, iv: Interval | None) -> str:
    if iv is None or iv.high - iv.low < 1e-12:
        return _num(value)
    return (
        f'{_num(value)} <span class="ci" title="95 % t interval over {iv.n} repetitions">'
        f"[{iv.low:.3f}, {iv.high:.3f}]</span>"
    )


def _sha(sha: Any) -> str:
    if not isinstance(sha, str):
        return "–"
    return f'<code class="sha" title="{escape(sha)}">{escape(sha[:12])}</code>'


def _table(headers: list[str], rows: list[list[str]], *, paged: bool = False, cls: str = "") -> str:
    """Cells in `rows` are HTML already (escaped by the caller)."""
    if not rows:
        return '<p class="note">none recorded</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    classes = " ".join(x for x in ("data", cls, "paged" if paged and len(rows) > 25 else "") if x)
    return f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _more(shown: int, total: int, what: str) -> str:
    if total <= shown:
        return ""
    return f'<p class="note">{total - shown:,} more {escape(what)} not shown (of {total:,}).</p>'


# ------------------------------------------------------------------------------ sections


def _header(data: RunData) -> str:
    status = "finished" if data.finished and not data.partial else "partial"
    banner = ""
    if data.partial:
        items = "".join(f"<li>{escape(p)}</li>" for p in data.partial)
        banner = (
            '<div class="partial" id="partial"><strong>Partial report.</strong> '
            f"It shows what the run directory holds.<ul>{items}</ul></div>"
        )
    nav = "".join(
        f'<a href="#{a}">{escape(t)}</a>'
        for a, t in (
            ("meta-utility", "meta-utility"),
            ("lineage", "lineage"),
            ("diffs", "diffs"),
            ("solutions", "solutions"),
            ("lm", "LM usage"),
            ("safety", "safety"),
            ("config", "configuration"),
        )
    )
    return (
        f"<header><h1>selftaught run <code>{escape(data.run_dir.name)}</code> "
        f'<span class="badge {status}">{status}</span></h1>'
        f'<p class="path">{escape(str(data.run_dir))}</p><nav>{nav}</nav></header>{banner}'
    )


def _summary(data: RunData) -> str:
    config = data.config
    records = data.iterations
    best = max(records, key=lambda r: r.get("meta_utility_val") or 0.0, default=None)
    done = max((r["t"] for r in records), default=None)
    evaluations = sum(r["count"] for r in data.evaluation_totals)
    cards = [
        ("task", escape(str(config.get("task", "–")))),
        ("model", escape(str(data.meta.get("model_identity") or config.get("model", "–")))),
        ("iterations", f"{'–' if done is None else done} / {config.get('iterations', '–')}"),
        ("best û val", _num(best.get("meta_utility_val")) if best else "–"),
        ("its û test", _num(best.get("meta_utility_test")) if best else "–"),
        ("LM calls paid", _num(data.lm_totals.get("paid"))),
        (
            "tokens",
            _num(
                (data.lm_totals.get("prompt_tokens") or 0)
                + (data.lm_totals.get("completion_tokens") or 0)
            ),
        ),
        ("evaluations", _num(evaluations)),
        ("safety events", _num(data.event_total)),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="k">{k}</div><div class="v">{v}</div></div>'
            for k, v in cards
        )
        + "</div>"
    )


def _mu_interval(data: RunData, sha: Any, split: str) -> Interval | None:
    record = data.meta_utilities.get(sha) if isinstance(sha, str) else None
    return interval(run_values(record["runs"], split)) if record else None


def _meta_utility(data: RunData) -> str:
    records = data.iterations
    if not records:
        return '<p class="note">no iteration was recorded</p>'
    series: list[svg.Series] = []
    for split, color in (("val", svg.PALETTE[0]), ("test", svg.PALETTE[1])):
        incumbent = [(r["t"], r.get(f"meta_utility_{split}")) for r in records]
        errors = []
        for r in records:
            iv = _mu_interval(data, r.get("improver_sha256"), split)
            if iv:
                errors.append((r["t"], iv.low, iv.high))
        series.append(
            svg.Series(
                f"incumbent {split}",
                [(t, v) for t, v in incumbent if _isnum(v)],
                color,
                kind="step",
                dashed=split == "test",
                errors=errors,
            )
        )
    for split, color in (("val", svg.PALETTE[5]), ("test", svg.PALETTE[4])):
        points, errors = [], []
        for r in records:
            v = r.get(f"candidate_{split}")
            if r["t"] > 0 and _isnum(v):
                x = r["t"] + (0.08 if split == "test" else -0.08)
                points.append((x, v))
                iv = _mu_interval(data, r.get("candidate_sha256"), split)
                if iv:
                    errors.append((x, iv.low, iv.high))
        series.append(svg.Series(f"candidate {split}", points, color, kind="points", errors=errors))
    chart = svg.line_chart(
        series,
        title="meta-utility per iteration",
        x_label="iteration t",
        y_label="meta-utility û",
        y_range=(0.0, 1.0),
        x_integer=True,
        x_pad=0.25,
    )
    rows = []
    for r in records:
        adopted = {None: "–", True: '<span class="yes">yes</span>', False: "no"}.get(
            r.get("adopted"), "–"
        )
        rows.append(
            [
                str(r["t"]),
                _score(
                    r.get("meta_utility_val"), _mu_interval(data, r.get("improver_sha256"), "val")
                ),
                _score(
                    r.get("meta_utility_test"), _mu_interval(data, r.get("improver_sha256"), "test")
                ),
                _score(
                    r.get("candidate_val"), _mu_interval(data, r.get("candidate_sha256"), "val")
                ),
                _score(
                    r.get("candidate_test"), _mu_interval(data, r.get("candidate_sha256"), "test")
                ),
                adopted,
                _sha(r.get("improver_sha256")),
                _sha(r.get("candidate_sha256")),
            ]
        )
    table = _table(
        [
            "t",
            "incumbent û val",
            "incumbent û test",
            "candidate û val",
            "candidate û test",
            "adopted",
            "incumbent",
            "candidate",
        ],
        rows,
        paged=True,
    )
    return (
        f'<div class="figure">{chart}</div>'
        '<p class="note">Incumbent: the improver in force after iteration t. Bars: 95 % t '
        "intervals over the repetitions of each meta-utility (shown where they vary). The "
        "improver only ever saw val scores.</p>" + table
    )


def _isnum(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _lineage(lineage: Lineage) -> str:
    if not lineage.nodes:
        return '<p class="note">no improver was recorded</p>'
    walk = lineage.walk()
    parts = ['<ul class="tree">']
    depth_stack = [0]
    first = True
    for depth, node in walk:
        if first:
            first = False
        elif depth > depth_stack[-1]:
            parts.append("<ul>")
            depth_stack.append(depth)
        else:
            parts.append("</li>")
            while depth < depth_stack[-1]:
                parts.append("</ul></li>")
                depth_stack.pop()
        parts.append(f"<li>{_node(node)}")
    parts.append("</li>")
    while len(depth_stack) > 1:
        parts.append("</ul></li>")
        depth_stack.pop()
    parts.append("</ul>")
    return "".join(parts)


def _node(node: Node) -> str:
    when = []
    if node.proposed_at:
        when.append("proposed at t=" + ", ".join(str(t) for t in node.proposed_at))
    if node.adopted_at is not None:
        when.append(f"adopted at t={node.adopted_at}")
    notes = "".join(f'<div class="note">{escape(n)}</div>' for n in node.notes)
    lines = len(node.source.splitlines()) if node.source else 0
    return (
        f'<div class="node {node.status}" data-sha="{escape(node.sha)}">'
        f'<div class="node-head">{_sha(node.sha)} '
        f'<span class="badge {node.status}">{STATUS_LABELS.get(node.status, node.status)}</span>'
        f' <span class="scores">û val {_score(node.val, node.val_interval)} · test '
        f"{_score(node.test, node.test_interval)}</span></div>"
        f'<div class="strategy">strategy: {escape(node.strategy)}'
        f"{' · ' + escape('; '.join(when)) if when else ''}</div>{notes}"
        f"<details><summary>source ({lines} lines)</summary>{code_block(node.source)}</details>"
        "</div>"
    )


def _diffs(lineage: Lineage) -> str:
    pairs = lineage.adopted_pairs()
    if not pairs:
        return '<p class="note">no improver was adopted, so there is nothing to compare</p>'
    out = []
    for parent, child in pairs:
        if parent.source is None or child.source is None:
            out.append(f'<p class="note">t={child.adopted_at}: a source is not recorded</p>')
            continue
        title = (
            f"t={child.adopted_at}: {child.sha[:12]} ({child.strategy}) against its parent "
            f"{parent.sha[:12]} ({parent.strategy})"
        )
        out.append(
            f'<details class="diffbox" open><summary>{escape(title)}</summary>'
            + side_by_side(
                parent.source,
                child.source,
                old_title=f"parent {parent.sha[:12]}: û val {_num(parent.val)}",
                new_title=f"adopted {child.sha[:12]}: û val {_num(child.val)}",
            )
            + "</details>"
        )
    return "".join(out)


def _solutions(data: RunData) -> str:
    out = []
    totals = [
        [
            escape(str(r["task"])),
            escape(str(r["split"])),
            _num(r["count"]),
            _num(r["programs"]),
            _num(r["mean"]),
            _num(r["max"]),
            _num(r["failed"]),
            _num(r["seconds"], 1),
        ]
        for r in data.evaluation_totals
    ]
    out.append(
        _table(
            [
                "task",
                "split",
                "evaluations",
                "programs",
                "mean score",
                "best score",
                "failed",
                "seconds",
            ],
            totals,
        )
    )
    if data.evaluation_series:
        chart = svg.line_chart(
            [
                svg.Series(
                    "best so far",
                    [(p["i"], p["best"]) for p in data.evaluation_series],
                    svg.PALETTE[2],
                    kind="step",
                ),
                svg.Series(
                    "bucket max",
                    [(p["i"], p["max"]) for p in data.evaluation_series],
                    svg.PALETTE[0],
                    kind="points",
                ),
                svg.Series(
                    "bucket mean",
                    [(p["i"], p["mean"]) for p in data.evaluation_series],
                    svg.PALETTE[6],
                    dashed=True,
                ),
            ],
            title="val evaluations in the order they ran",
            x_label="val evaluation #",
            y_label="utility",
            y_range=(0.0, 1.0),
        )
        out.append(f'<div class="figure">{chart}</div>')
    for best in data.best_solutions:
        instances = best["val_instances"]
        strip = svg.bar_strip(
            [
                (
                    float(r.get("score", 0.0)) if _isnum(r.get("score")) else 0.0,
                    str(r.get("status", "")),
                    f"instance {i}: {r.get('score')} {r.get('status', '')} {r.get('reason', '')}",
                )
                for i, r in enumerate(instances)
            ],
            title=f"per-instance val outcomes of the best {best['task']} solution",
        )
        rows = [
            [
                str(i),
                _num(r.get("score")),
                escape(str(r.get("status", "–"))),
                _num(r.get("seconds"), 4),
                escape(str(r.get("reason", ""))[:300]),
            ]
            for i, r in enumerate(instances[:MAX_INSTANCE_ROWS])
        ]
        failure = (
            f'<p class="bad">failure: {escape(str(best["failure"]))}</p>' if best["failure"] else ""
        )
        out.append(
            f'<div class="best" data-task="{escape(str(best["task"]))}">'
            f"<h3>Best solution for {escape(str(best['task']))}: val {_num(best['val'])}, test "
            f"{_num(best['test'])} {_sha(best['program'])}</h3>{failure}"
            f'<div class="figure">{strip}</div>'
            + _table(["instance", "score", "status", "seconds", "reason"], rows, paged=True)
            + _more(len(rows), len(instances), "instances")
            + f"<details><summary>source</summary>{code_block(best['source'])}</details></div>"
        )
    if data.top_programs:
        rows = [
            [
                _sha(p["program"]),
                escape(str(p["task"])),
                _num(p["evaluations"]),
                _num(p["val"]),
                _num(p["test"]),
                _num(p["failed"]),
            ]
            for p in data.top_programs
        ]
        out.append(
            "<h3>Solutions by val score</h3>"
            + _table(["program", "task", "evaluations", "val", "test", "failed"], rows, paged=True)
            + (
                f'<p class="note">the best {MAX_PROGRAM_ROWS} shown</p>'
                if len(rows) >= MAX_PROGRAM_ROWS
                else ""
            )
        )
    if data.failures:
        rows = [
            [
                escape(str(f["failure"])[:300]),
                escape(str(f["task"])),
                escape(str(f["split"])),
                _num(f["count"]),
                _sha(f["example_program"]),
            ]
            for f in data.failures
        ]
        out.append(
            "<h3>Failed evaluations</h3>"
            + _table(["failure", "task", "split", "count", "example"], rows, paged=True)
        )
    return "".join(out)


def _lm_usage(data: RunData) -> str:
    totals = data.lm_totals
    if not totals or not totals.get("calls"):
        return '<p class="note">no language-model call was recorded</p>'
    out = [
        _table(
            [
                "calls",
                "paid (not cached)",
                "samples",
                "prompt tokens",
                "completion tokens",
                "backend seconds",
                "cost",
            ],
            [
                [
                    _num(totals["calls"]),
                    _num(totals["paid"]),
                    _num(totals["samples"]),
                    _num(totals["prompt_tokens"]),
                    _num(totals["completion_tokens"]),
                    _num(totals["seconds"], 2),
                    "not recorded" if totals.get("cost") is None else _num(totals["cost"], 4),
                ]
            ],
        )
    ]
    start = totals.get("first") or 0.0
    calls = data.lm_calls
    span = (totals.get("last") or start) - start
    # A scripted run spans seconds, a paper run hours: pick the unit that gives readable ticks.
    unit, scale = next(
        (u, s)
        for u, s, limit in (
            ("seconds", 1.0, 120),
            ("minutes", 60.0, 7200),
            ("hours", 3600.0, math.inf),
        )
        if span <= limit
    )
    x_label = f"{unit} since the first call"
    cumulative = [
        svg.Series(
            "calls",
            [((c["created"] - start) / scale, c["cum_calls"]) for c in calls],
            svg.PALETTE[0],
        ),
        svg.Series(
            "paid",
            [((c["created"] - start) / scale, c["cum_paid"]) for c in calls],
            svg.PALETTE[1],
            dashed=True,
        ),
    ]
    out.append('<div class="grid2">')
    out.append(
        '<div class="figure">'
        + svg.line_chart(
            cumulative, title="LM calls over time", x_label=x_label, y_label="calls (cumulative)"
        )
        + "</div>"
    )
    out.append(
        '<div class="figure">'
        + svg.line_chart(
            [
                svg.Series(
                    "tokens",
                    [((c["created"] - start) / scale, c["cum_tokens"]) for c in calls],
                    svg.PALETTE[2],
                )
            ],
            title="tokens over time",
            x_label=x_label,
            y_label="tokens (cumulative)",
        )
        + "</div>"
    )
    latency = [
        svg.Series(
            LEVEL_NAMES.get(level, level),
            [((c["created"] - start) / scale, c["seconds"]) for c in calls if c["level"] == level],
            LEVEL_COLORS.get(level, svg.PALETTE[6]),
            kind="points",
        )
        for level in sorted({c["level"] for c in calls})
    ]
    out.append(
        '<div class="figure">'
        + svg.line_chart(
            latency, title="latency per call", x_label=x_label, y_label="backend seconds"
        )
        + "</div></div>"
    )
    if len(calls) < (totals["calls"] or 0):
        out.append(
            f'<p class="note">plots show {len(calls):,} of {totals["calls"]:,} calls, '
            "evenly spaced; cumulative values are exact.</p>"
        )
    out.append("<h3>Per level</h3>")
    out.append(
        _table(
            ["level", "calls", "paid", "tokens", "backend seconds"],
            [
                [
                    escape(LEVEL_NAMES.get(r["level"], r["level"])),
                    _num(r["calls"]),
                    _num(r["paid"]),
                    _num(r["tokens"]),
                    _num(r["seconds"], 2),
                ]
                for r in data.lm_by_level
            ],
        )
    )
    out.append(
        '<p class="note">Level guessed from the prompt: a prompt that contains '
        "<code>def improve_algorithm</code> shows an improver to the model.</p>"
    )
    out.append("<h3>Per iteration and level</h3>")
    out.append(
        _table(
            ["scope", "level", "calls", "paid", "tokens", "backend seconds"],
            [
                [
                    escape(str(r["scope"] or "–")),
                    escape(LEVEL_NAMES.get(r["level"], r["level"])),
                    _num(r["calls"]),
                    _num(r["paid"]),
                    _num(r["tokens"]),
                    _num(r["seconds"], 2),
                ]
                for r in sorted(data.lm_by_scope, key=_scope_order)
            ],
            paged=True,
        )
    )
    if data.invocation_counts:
        out.append("<h3>Improver invocations</h3>")
        out.append(
            _table(
                ["level", "status", "count", "seconds"],
                [
                    [
                        escape(r["level"]),
                        escape(str(r["status"])),
                        _num(r["count"]),
                        _num(r["seconds"], 2),
                    ]
                    for r in data.invocation_counts
                ],
            )
        )
    return "".join(out)


def _scope_order(row: dict[str, Any]) -> tuple[int, str, str]:
    """t=2 before t=10; scopes that are not t=N last."""
    scope = str(row.get("scope") or "")
    number = scope.removeprefix("t=")
    return (int(number) if number.isdigit() else 1 << 30, scope, str(row.get("level")))


def _safety(data: RunData) -> str:
    if not data.event_total:
        return '<p class="note">no safety event was recorded</p>'
    out = [
        _table(
            ["kind", "events", "programs"],
            [
                [escape(str(c["kind"])), _num(c["count"]), _num(c["programs"])]
                for c in data.event_counts
            ],
        )
    ]
    rows = []
    for e in data.events:
        detail = {k: v for k, v in e["detail"].items() if k not in ("line", "kind")}
        text = detail.get("detail") if set(detail) == {"detail"} else json.dumps(detail)
        offending = (
            f'<code class="offending">{escape(e["offending"].strip()[:300])}</code>'
            if e["offending"] is not None
            else ""
        )
        rows.append(
            [
                escape(str(e["kind"])),
                _sha(e["program"]),
                "–" if e["line"] is None else escape(str(e["line"])),
                offending,
                escape(str(text)[:400]),
            ]
        )
    out.append(
        _table(
            ["kind", "program", "line", "offending line", "detail"], rows, paged=True, cls="events"
        )
    )
    out.append(_more(len(rows), data.event_total, "events"))
    if data.event_total > MAX_EVENT_ROWS:
        out.append('<p class="note">the first events are listed; counts cover all.</p>')
    return "".join(out)


def _config(data: RunData) -> str:
    command, notes = reproduce_command(data.config)
    out = []
    if command:
        out.append(f'<h3>Reproduce</h3><pre class="command" id="command">{escape(command)}</pre>')
    out.extend(f'<p class="note">{escape(n)}</p>' for n in notes)
    if data.meta.get("model_identity"):
        out.append(
            f"<p>model identity: <code>{escape(str(data.meta['model_identity']))}</code></p>"
        )
    meta = {k: v for k, v in data.meta.items() if k != "config"}
    out.append(
        '<h3>Configuration</h3><pre class="json">'
        + escape(json.dumps(data.config, indent=2, sort_keys=True))
        + "</pre>"
    )
    out.append(
        '<h3>Run metadata</h3><pre class="json">'
        + escape(json.dumps(meta, indent=2, sort_keys=True, default=str))
        + "</pre>"
    )
    return "".join(out)
