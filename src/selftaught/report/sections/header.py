"""The top of the page: title and status, the "partial" banner, navigation, summary cards."""

from __future__ import annotations

from html import escape

from selftaught.report.cells import num
from selftaught.report.data import RunData

NAV = (
    ("meta-utility", "meta-utility"),
    ("lineage", "lineage"),
    ("diffs", "diffs"),
    ("solutions", "solutions"),
    ("lm", "LM usage"),
    ("safety", "safety"),
    ("config", "configuration"),
)


def header(data: RunData) -> str:
    """Run name, finished/partial badge, path, links to the sections, and the banner that
    lists what a partial run is missing."""
    status = "finished" if data.finished and not data.partial else "partial"
    banner = ""
    if data.partial:
        items = "".join(f"<li>{escape(p)}</li>" for p in data.partial)
        banner = (
            '<div class="partial" id="partial"><strong>Partial report.</strong> '
            f"It shows what the run directory holds.<ul>{items}</ul></div>"
        )
    nav = "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t in NAV)
    return (
        f"<header><h1>selftaught run <code>{escape(data.run_dir.name)}</code> "
        f'<span class="badge {status}">{status}</span></h1>'
        f'<p class="path">{escape(str(data.run_dir))}</p><nav>{nav}</nav></header>{banner}'
    )


def summary(data: RunData) -> str:
    """One card per headline number: task, model, iterations, best meta-utility, spend."""
    config = data.config
    records = data.iterations
    best = max(records, key=lambda r: r.meta_utility_val or 0.0, default=None)
    done = max((r.t for r in records), default=None)
    evaluations = sum(r.count for r in data.evaluation_totals)
    totals = data.lm_totals
    tokens = totals.tokens if totals else 0
    cards = [
        ("task", escape(str(config.get("task", "–")))),
        ("model", escape(str(data.meta.get("model_identity") or config.get("model", "–")))),
        (
            "iterations",
            escape(f"{'–' if done is None else done} / {config.get('iterations', '–')}"),
        ),
        ("best û val", num(best.meta_utility_val) if best else "–"),
        ("its û test", num(best.meta_utility_test) if best else "–"),
        ("LM calls paid", num(totals.paid if totals else None)),
        ("tokens", num(tokens)),
        ("evaluations", num(evaluations)),
        ("safety events", num(data.event_total)),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="k">{k}</div><div class="v">{v}</div></div>'
            for k, v in cards
        )
        + "</div>"
    )
