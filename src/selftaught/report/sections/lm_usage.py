"""The language-model section: totals, calls, tokens and latency over time, and the calls per
level (meta or task), per iteration and level, and per improver invocation."""

from __future__ import annotations

import math
from html import escape

from selftaught.records import CallPoint, CallTotals
from selftaught.report import svg
from selftaught.report.cells import num, table
from selftaught.report.data import RunData

LEVEL_NAMES = {"meta": "self-improvement (prompt shows an improver)", "task": "task (solutions)"}
LEVEL_COLORS = {"meta": svg.PALETTE[3], "task": svg.PALETTE[0]}
TOTAL_HEADERS = [
    "calls",
    "paid (not cached)",
    "samples",
    "prompt tokens",
    "completion tokens",
    "backend seconds",
    "cost",
]


def lm_usage(data: RunData) -> str:
    """Every part of the section, or one note when no call was recorded."""
    totals = data.lm_totals
    if totals is None or not totals.calls:
        return '<p class="note">no language-model call was recorded</p>'
    out = [_totals(totals), _plots(data, totals)]
    calls = data.lm_calls
    if len(calls) < totals.calls:
        out.append(
            f'<p class="note">plots show {len(calls):,} of {totals.calls:,} calls, '
            "evenly spaced; cumulative values are exact.</p>"
        )
    out.append("<h3>Per level</h3>")
    out.append(_by_level(data))
    out.append(
        '<p class="note">Level guessed from the prompt: a prompt that contains '
        "<code>def improve_algorithm</code> shows an improver to the model.</p>"
    )
    out.append("<h3>Per iteration and level</h3>")
    out.append(_by_scope(data))
    if data.invocation_counts:
        out.append("<h3>Improver invocations</h3>")
        out.append(_invocations(data))
    return "".join(out)


def _totals(totals: CallTotals) -> str:
    cost = "not recorded" if totals.cost is None else num(totals.cost, 4)
    row = [
        num(totals.calls),
        num(totals.paid),
        num(totals.samples),
        num(totals.prompt_tokens),
        num(totals.completion_tokens),
        num(totals.seconds, 2),
        cost,
    ]
    return table(TOTAL_HEADERS, [row])


def _time_unit(span: float) -> tuple[str, float]:
    """A scripted run spans seconds, a paper run hours: the unit that gives readable ticks."""
    return next(
        (u, s)
        for u, s, limit in (
            ("seconds", 1.0, 120),
            ("minutes", 60.0, 7200),
            ("hours", 3600.0, math.inf),
        )
        if span <= limit
    )


def _figure(chart: str) -> str:
    return f'<div class="figure">{chart}</div>'


def _plots(data: RunData, totals: CallTotals) -> str:
    """Cumulative calls, cumulative tokens and latency per call, over time since the first."""
    calls = data.lm_calls
    start = totals.first or 0.0
    unit, scale = _time_unit((totals.last or start) - start)
    x_label = f"{unit} since the first call"

    def at(key: str, rows: list[CallPoint]) -> list[tuple[float, float]]:
        return [((c.created - start) / scale, getattr(c, key)) for c in rows]

    cumulative = [
        svg.Series("calls", at("cum_calls", calls), svg.PALETTE[0]),
        svg.Series("paid", at("cum_paid", calls), svg.PALETTE[1], dashed=True),
    ]
    tokens = [svg.Series("tokens", at("cum_tokens", calls), svg.PALETTE[2])]
    latency = [
        svg.Series(
            LEVEL_NAMES.get(level, level),
            at("seconds", [c for c in calls if c.level == level]),
            LEVEL_COLORS.get(level, svg.PALETTE[6]),
            kind="points",
        )
        for level in sorted({c.level for c in calls})
    ]
    return (
        '<div class="grid2">'
        + _figure(
            svg.line_chart(
                cumulative,
                title="LM calls over time",
                x_label=x_label,
                y_label="calls (cumulative)",
            )
        )
        + _figure(
            svg.line_chart(
                tokens, title="tokens over time", x_label=x_label, y_label="tokens (cumulative)"
            )
        )
        + _figure(
            svg.line_chart(
                latency, title="latency per call", x_label=x_label, y_label="backend seconds"
            )
        )
        + "</div>"
    )


def _by_level(data: RunData) -> str:
    rows = [
        [
            escape(LEVEL_NAMES.get(str(r.level), str(r.level))),
            num(r.calls),
            num(r.paid),
            num(r.tokens),
            num(r.seconds, 2),
        ]
        for r in data.lm_by_level
    ]
    return table(["level", "calls", "paid", "tokens", "backend seconds"], rows)


def _by_scope(data: RunData) -> str:
    rows = [
        [
            escape(str(r.scope or "–")),
            escape(LEVEL_NAMES.get(str(r.level), str(r.level))),
            num(r.calls),
            num(r.paid),
            num(r.tokens),
            num(r.seconds, 2),
        ]
        for r in sorted(data.lm_by_scope, key=_scope_order)
    ]
    headers = ["scope", "level", "calls", "paid", "tokens", "backend seconds"]
    return table(headers, rows, paged=True)


def _scope_order(row: CallTotals) -> tuple[int, str, str]:
    """t=2 before t=10; scopes that are not t=N last."""
    scope = str(row.scope or "")
    number = scope.removeprefix("t=")
    return (int(number) if number.isdigit() else 1 << 30, scope, str(row.level))


def _invocations(data: RunData) -> str:
    rows = [
        [escape(r.level), escape(str(r.status)), num(r.count), num(r.seconds, 2),
         "not recorded" if r.wall_seconds is None else num(r.wall_seconds, 1)]
        for r in data.invocation_counts
    ]  # fmt: skip
    # The improver's own time stops while the host serves its model calls; the wall time not.
    return table(["level", "status", "count", "improver seconds", "wall seconds"], rows)
