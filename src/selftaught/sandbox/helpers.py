"""`helpers.extract_code`, as improvers written for the paper's reference code import it.

Inside an improver child this module is importable as plain `helpers`.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*```(.*)$")


def _largest_block(text: str) -> str | None:
    """The longest outermost fenced block of `text`, without its two fence lines.

    A fence with text after the backticks (```python) opens a level, a bare fence closes one,
    so that code whose own strings contain fences (as improvers' prompts do) stays whole.
    """
    best: str | None = None
    depth = 0
    start = 0
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = _FENCE.match(line)
        if match is None:
            continue
        if match.group(1).strip():
            if depth == 0:
                start = i + 1
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                block = "\n".join(lines[start:i])
                if best is None or len(block) > len(best):
                    best = block
    if best is None:
        best = _largest_bare_block(lines)
    return best


def _largest_bare_block(lines: list[str]) -> str | None:
    """Fallback for replies fenced only with bare ``` lines: pair them in order."""
    fences = [i for i, line in enumerate(lines) if line.strip() == "```"]
    blocks = ["\n".join(lines[a + 1 : b]) for a, b in zip(fences[::2], fences[1::2], strict=False)]
    return max(blocks, key=len, default=None)


def extract_code(responses: list[str] | str | None) -> list[str | None] | str | None:
    """The largest fenced block of each response (None where there is none).

    Given one string, returns one result; given a list, maps over it.
    """
    if isinstance(responses, list):
        return [_largest_block(r) if isinstance(r, str) else None for r in responses]
    if isinstance(responses, str):
        return _largest_block(responses)
    return None
