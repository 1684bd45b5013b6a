"""Syntax-highlighted Python source and side-by-side diffs, as HTML fragments.

Contract:
- `highlight_lines(source)` gives one HTML string per source line (pygments' HTML formatter
  closes its spans at line ends, so a line can be placed anywhere on its own);
- `code_block(source)` is a numbered, highlighted `<pre>`;
- `side_by_side(old, new)` is a `<table class="diff">` from difflib's opcodes: changed lines
  marked, long unchanged stretches folded to `CONTEXT` lines either side of each change.
Sources longer than `MAX_LINES` are cut (with a note): an improver can be 200,000 characters,
and the report must stay small.
"""

from __future__ import annotations

import difflib
from html import escape

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

MAX_LINES = 1500
CONTEXT = 3
_FORMATTER = HtmlFormatter(nowrap=True, cssclass="hl")


def style_css() -> str:
    """Pygments token colors scoped to `.hl`."""
    return HtmlFormatter(style="default", cssclass="hl").get_style_defs(".hl")


def highlight_lines(source: str) -> list[str]:
    lines = source.splitlines()[:MAX_LINES]
    if not lines:
        return []
    text = "\n".join(lines) + "\n"
    out = highlight(text, PythonLexer(stripnl=False, ensurenl=True), _FORMATTER).split("\n")
    # The formatter emits exactly one output line per input line (plus a trailing empty one).
    return out[: len(lines)] if len(out) >= len(lines) else [escape(x) for x in lines]


def _cut_note(source: str) -> str:
    n = len(source.splitlines())
    return f'<p class="note">first {MAX_LINES} of {n} lines shown</p>' if n > MAX_LINES else ""


def code_block(source: str | None) -> str:
    if source is None:
        return '<p class="note">source not recorded</p>'
    rows = "".join(
        f'<span class="ln">{i}</span>{line}\n'
        for i, line in enumerate(highlight_lines(source), start=1)
    )
    return f'<pre class="code hl">{rows}</pre>{_cut_note(source)}'


def side_by_side(old: str, new: str, *, old_title: str, new_title: str) -> str:
    """A two-column diff of `old` against `new`, highlighted, with unchanged runs folded."""
    a, b = old.splitlines()[:MAX_LINES], new.splitlines()[:MAX_LINES]
    ha, hb = highlight_lines(old), highlight_lines(new)
    rows: list[str] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    groups = list(matcher.get_grouped_opcodes(CONTEXT))
    if not any(tag != "equal" for group in groups for tag, *_ in group):
        return '<p class="note">identical sources</p>'

    def cell(side: str, index: int | None, html_lines: list[str], kind: str) -> str:
        if index is None:
            return f'<td class="ln"></td><td class="{side} empty"></td>'
        return (
            f'<td class="ln">{index + 1}</td>'
            f'<td class="{side} {kind}"><code>{html_lines[index]}</code></td>'
        )

    previous_end = 0
    for group in groups:
        first = group[0][1]
        if first > previous_end:
            rows.append(
                f'<tr class="fold"><td colspan="4">⋯ {first - previous_end} unchanged '
                f"lines</td></tr>"
            )
        for tag, i1, i2, j1, j2 in group:
            span = max(i2 - i1, j2 - j1)
            for k in range(span):
                i = i1 + k if i1 + k < i2 else None
                j = j1 + k if j1 + k < j2 else None
                kind = {"equal": "same", "replace": "chg", "delete": "del", "insert": "add"}[tag]
                left_kind = "del" if kind == "chg" else kind
                right_kind = "add" if kind == "chg" else kind
                rows.append(
                    f'<tr class="{kind}">{cell("old", i, ha, left_kind)}'
                    f"{cell('new', j, hb, right_kind)}</tr>"
                )
        previous_end = group[-1][2]
    if previous_end < len(a):
        rows.append(
            f'<tr class="fold"><td colspan="4">⋯ {len(a) - previous_end} unchanged lines</td></tr>'
        )
    head = (
        f'<tr><th colspan="2">{escape(old_title)}</th><th colspan="2">{escape(new_title)}</th></tr>'
    )
    return (
        '<table class="diff hl"><colgroup><col class="lnc"><col><col class="lnc"><col></colgroup>'
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
        f"{_cut_note(old) or _cut_note(new)}"
    )
