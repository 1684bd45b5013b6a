"""Plots as inline SVG strings, drawn in Python: no script or network needed to see them.

Contract: `line_chart` and `bar_strip` return one `<svg class="plot">` element sized by its
viewBox (it scales to its container). Every text is escaped. Empty input gives a plot frame
with a "no data" note, never an exception, so a partial run still renders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563")


@dataclass
class Series:
    name: str
    points: list[tuple[float, float]]
    color: str = PALETTE[0]
    kind: str = "line"  # line | step | points
    dashed: bool = False
    # (x, low, high) error bars drawn at the points
    errors: list[tuple[float, float, float]] = field(default_factory=list)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 10_000:
        for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
            if abs(value) >= size:
                return f"{value / size:g}{unit}"
    return f"{value:g}"


def line_chart(
    series: list[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    y_range: tuple[float, float] | None = None,
    x_integer: bool = False,
    x_pad: float = 0.0,
    width: int = 640,
    height: int = 260,
) -> str:
    """A line/step/point chart of `series` with axes, ticks, a legend and error bars."""
    left, right, top, bottom = 66, 12, 28, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points]
    ys += [v for s in series for _, lo, hi in s.errors for v in (lo, hi)]
    parts = [
        f'<svg class="plot" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="frame"/>',
    ]
    if not xs:
        parts.append(
            f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" '
            f'class="note">no data</text></svg>'
        )
        return "".join(parts)
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    x0, x1 = x0 - x_pad, x1 + x_pad
    y0, y1 = y_range if y_range else (min(0.0, min(ys)), max(ys))
    if y1 <= y0:
        y1 = y0 + 1

    def sx(x: float) -> float:
        return round(left + (x - x0) / (x1 - x0) * plot_w, 1)

    def sy(y: float) -> float:
        return round(top + plot_h - (y - y0) / (y1 - y0) * plot_h, 1)

    for tick in nice_ticks(y0, y1):
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(tick)}" y2="{sy(tick)}" class="grid"/>'
            f'<text x="{left - 6}" y="{sy(tick) + 4}" text-anchor="end">{_fmt(tick)}</text>'
        )
    x_ticks = nice_ticks(x0, x1, 8)
    if x_integer:
        x_ticks = [t for t in nice_ticks(math.ceil(x0), math.floor(x1), 8) if t == round(t)]
    for tick in x_ticks:
        parts.append(
            f'<line x1="{sx(tick)}" x2="{sx(tick)}" y1="{top + plot_h}" y2="{top + plot_h + 4}" '
            f'class="axis"/><text x="{sx(tick)}" y="{top + plot_h + 16}" '
            f'text-anchor="middle">{_fmt(tick)}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle" class="label">'
        f"{escape(x_label)}</text>"
        f'<text transform="translate(13 {top + plot_h / 2}) rotate(-90)" text-anchor="middle" '
        f'class="label">{escape(y_label)}</text>'
    )
    for s in series:
        parts.append(_draw(s, sx, sy))
    # Legend: one row along the top edge.
    lx = left
    for s in series:
        parts.append(
            f'<rect x="{lx}" y="8" width="12" height="12" fill="{s.color}"/>'
            f'<text x="{lx + 16}" y="18">{escape(s.name)}</text>'
        )
        lx += 28 + 7 * len(s.name)
    parts.append("</svg>")
    return "".join(parts)


def _draw(s: Series, sx, sy) -> str:  # noqa: ANN001 - local scale functions
    out = []
    for x, lo, hi in s.errors:
        out.append(
            f'<line x1="{sx(x)}" x2="{sx(x)}" y1="{sy(lo)}" y2="{sy(hi)}" stroke="{s.color}" '
            f'class="err"/>'
        )
    if not s.points:
        return "".join(out)
    dash = ' stroke-dasharray="5 3"' if s.dashed else ""
    if s.kind in ("line", "step") and len(s.points) > 1:
        coords: list[str] = []
        previous_y = None
        for x, y in s.points:
            if s.kind == "step" and previous_y is not None:
                coords.append(f"{sx(x)},{sy(previous_y)}")
            coords.append(f"{sx(x)},{sy(y)}")
            previous_y = y
        out.append(
            f'<polyline points="{" ".join(coords)}" fill="none" stroke="{s.color}" '
            f'stroke-width="2"{dash}><title>{escape(s.name)}</title></polyline>'
        )
    if s.kind == "points" or len(s.points) <= 60:
        for x, y in s.points:
            out.append(
                f'<circle cx="{sx(x)}" cy="{sy(y)}" r="3.5" fill="{s.color}">'
                f"<title>{escape(s.name)}: {_fmt(round(x, 4))}, {_fmt(round(y, 4))}</title>"
                f"</circle>"
            )
    return "".join(out)


STATUS_COLORS = {"ok": "#16a34a", "timeout": "#ea580c", "error": "#dc2626"}


def bar_strip(
    values: list[tuple[float, str, str]], *, title: str, width: int = 640, height: int = 90
) -> str:
    """One bar per item (value in [0, 1], status, tooltip), colored by status."""
    left, top, bottom = 8, 8, 18
    plot_h = height - top - bottom
    parts = [
        f'<svg class="plot strip" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<rect x="{left}" y="{top}" width="{width - 2 * left}" height="{plot_h}" class="frame"/>',
    ]
    if not values:
        parts.append(
            f'<text x="{width / 2}" y="{top + plot_h / 2}" text-anchor="middle" class="note">'
            "no data</text></svg>"
        )
        return "".join(parts)
    bar = (width - 2 * left) / len(values)
    for i, (value, status, tip) in enumerate(values):
        v = min(1.0, max(0.0, value)) if math.isfinite(value) else 0.0
        h = max(1.0, v * plot_h)
        color = STATUS_COLORS.get(status, "#6b7280")
        parts.append(
            f'<rect x="{round(left + i * bar, 2)}" y="{round(top + plot_h - h, 2)}" '
            f'width="{round(max(bar - 1, 0.5), 2)}" height="{round(h, 2)}" fill="{color}">'
            f"<title>{escape(tip)}</title></rect>"
        )
    parts.append(
        f'<text x="{left}" y="{height - 4}">instance 0</text>'
        f'<text x="{width - left}" y="{height - 4}" text-anchor="end">{len(values) - 1}</text>'
        "</svg>"
    )
    return "".join(parts)
