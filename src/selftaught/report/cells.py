"""The cells and blocks every section of the report page is made of: tables, numbers, scores,
hashes. Each returns HTML and escapes what it is given, except `table`, whose cells are HTML
already (each section escapes what it puts in them)."""

from __future__ import annotations

from html import escape
from typing import Any

from selftaught.stats import Interval


def section(anchor: str, title: str, content: str) -> str:
    """A `<section id=anchor>` with an escaped heading over `content` (HTML already)."""
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{content}</section>'


def isnum(value: Any) -> bool:
    """An int or float, not a bool (JSON's true is not a score)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def num(value: Any, digits: int = 3) -> str:
    """A float with `digits` decimals, an int with thousands separators, anything else "–"."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else f"{value:,}"


def score(value: Any, iv: Interval | None) -> str:
    """`value` with its 95 % interval beside it, when there is one that has any width."""
    if iv is None or iv.high - iv.low < 1e-12:
        return num(value)
    return (
        f'{num(value)} <span class="ci" title="95 % t interval over {iv.n} repetitions">'
        f"[{iv.low:.3f}, {iv.high:.3f}]</span>"
    )


def sha(digest: Any) -> str:
    """A program hash cut to 12 characters, the whole of it on hover; "–" if not a string."""
    if not isinstance(digest, str):
        return "–"
    return f'<code class="sha" title="{escape(digest)}">{escape(digest[:12])}</code>'


def table(headers: list[str], rows: list[list[str]], *, paged: bool = False, cls: str = "") -> str:
    """Cells in `rows` are HTML already (escaped by the caller)."""
    if not rows:
        return '<p class="note">none recorded</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    classes = " ".join(x for x in ("data", cls, "paged" if paged and len(rows) > 25 else "") if x)
    return f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def more(shown: int, total: int, what: str) -> str:
    """A note on the rows left out, when `total` exceeds the `shown` ones; else nothing."""
    if total <= shown:
        return ""
    return f'<p class="note">{total - shown:,} more {escape(what)} not shown (of {total:,}).</p>'
