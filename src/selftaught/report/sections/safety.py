"""The safety section: events per kind, events per iteration and family of kinds, and the first
events one by one with the program line that caused them."""

from __future__ import annotations

import json
from html import escape

from selftaught.records import EventRecord
from selftaught.report.cells import more, num, sha, table
from selftaught.report.data import EVENT_FAMILIES, RunData
from selftaught.store.queries import MAX_EVENT_ROWS


def safety_events(data: RunData) -> str:
    """Counts per kind and per iteration (over all events) and the listed events (at most
    MAX_EVENT_ROWS)."""
    if not data.event_total:
        return '<p class="note">no safety event was recorded</p>'
    out = [
        table(
            ["kind", "events", "programs"],
            [
                [escape(str(c.kind)), num(c.count), num(c.programs)]
                for c in data.event_counts
            ],
        )
    ]
    out.append(per_iteration(data))
    rows = [_event_row(e) for e in data.events]
    out.append(
        table(
            ["kind", "program", "line", "offending line", "detail"], rows, paged=True, cls="events"
        )
    )
    out.append(more(len(rows), data.event_total, "events"))
    if data.event_total > MAX_EVENT_ROWS:
        out.append('<p class="note">the first events are listed; counts cover all.</p>')
    return "".join(out)


def per_iteration(data: RunData) -> str:
    """The table "safety events per iteration": a row per iteration t (events without a t in
    a row "–"), a column per family of kinds that has events, and the row's total; a legend
    says which kinds each column counts. Empty when no event was recorded."""
    if not data.event_iterations:
        return ""
    families = data.event_families
    rows = [
        [
            "–" if r.t is None else escape(str(r.t)),
            *(num(r.counts.get(f, 0)) for f in families),
            num(sum(r.counts.values())),
        ]
        for r in data.event_iterations
    ]
    untimed = (
        '; "–": events recorded outside any iteration (or with a damaged detail)'
        if data.event_iterations[-1].t is None
        else ""
    )
    return (
        "<h3>Safety events per iteration</h3>"
        + table(["t", *families, "all"], rows, paged=True, cls="events-per-t")
        + f'<p class="note">t: the iteration the event was recorded in{untimed}. '
        f"Columns count these kinds: {_legend(families)}.</p>"
    )


def _legend(families: list[str]) -> str:
    """What each column counts, e.g. "static scan: static:*; budget spent: lm_budget_exceeded,
    utility_budget_exceeded"."""
    kinds = dict(EVENT_FAMILIES)
    parts = []
    for family in families:
        names = [k + "*" if k.endswith(":") else k for k in kinds.get(family, ())]
        parts.append(f"{family}: {', '.join(names) or 'any other kind'}")
    return escape("; ".join(parts))


def _event_row(e: EventRecord) -> list[str]:
    detail = {k: v for k, v in e.detail.items() if k not in ("line", "kind")}
    text = detail.get("detail") if set(detail) == {"detail"} else json.dumps(detail)
    offending = (
        f'<code class="offending">{escape(e.offending.strip()[:300])}</code>'
        if e.offending is not None
        else ""
    )
    return [
        escape(str(e.kind)),
        sha(e.program),
        "–" if e.line is None else escape(str(e.line)),
        offending,
        escape(str(text)[:400]),
    ]
