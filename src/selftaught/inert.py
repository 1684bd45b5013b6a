"""Text shown to a person as inert text: control characters visibly escaped.

Model-written text (an exception message, a flagged source line, an output) and text from a
run directory reach the console; a raw ESC there can clear the screen, recolour a line or set
the window title, and a carriage return or a bidi override can make a line say something else.
`visible` writes every such character as its Python escape (`\\x1b`, `\\r`, `\\u202e`), so the
person sees that it was there. Markup is the console's concern: `cli/common.py`'s consoles read
no markup in what they print unless a line of ours asks for it.
"""

from __future__ import annotations

import unicodedata

# Control (Cc), format (Cf: bidi overrides, zero-width joiners), surrogates (Cs: a terminal
# cannot encode them) and the line and paragraph separators (Zl, Zp).
_HIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def visible(text: object, *, newlines: bool = False) -> str:
    """`text` with every hidden character escaped; with `newlines`, "\\n" and "\\t" are kept."""
    text = text if isinstance(text, str) else str(text)
    if text.isprintable():  # the common case: nothing to do
        return text
    kept = "\n\t" if newlines else ""
    return "".join(
        ch if ch in kept or unicodedata.category(ch) not in _HIDDEN else _escaped(ch) for ch in text
    )


def _escaped(ch: str) -> str:
    code = ord(ch)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )
