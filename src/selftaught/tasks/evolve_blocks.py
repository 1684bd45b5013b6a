"""EVOLVE-BLOCK markers: where an initial program has them, only the code between them evolves.

OpenEvolve and ShinkaEvolve mark the evolvable parts of an initial program with lines
`# EVOLVE-BLOCK-START` and `# EVOLVE-BLOCK-END`. The model is shown the whole file with the
markers; a candidate is refused (scored 0, with the reason) unless everything outside its
blocks is the initial program's, line for line (trailing spaces ignored), in the same order.
"""

from __future__ import annotations

START, END = "EVOLVE-BLOCK-START", "EVOLVE-BLOCK-END"


def _marker(line: str) -> str | None:
    text = line.strip()
    if text.startswith("#"):
        text = text.lstrip("#").strip()
        if text in (START, END):
            return text
    return None


def fixed_parts(source: str) -> list[list[str]] | None:
    """The runs of lines outside the blocks (markers excluded), or None when `source` has no
    markers, or they are unbalanced or nested."""
    parts: list[list[str]] = [[]]
    inside = False
    seen = False
    for line in source.splitlines():
        marker = _marker(line)
        if marker == START:
            if inside:
                return None
            inside = seen = True
        elif marker == END:
            if not inside:
                return None
            inside = False
            parts.append([])
        elif not inside:
            parts[-1].append(line.rstrip())
    if inside or not seen:
        return None
    return [_trim(part) for part in parts]


def _trim(lines: list[str]) -> list[str]:
    """Blank lines at the edges of a fixed part are not the model's concern."""
    while lines and not lines[0]:
        lines = lines[1:]
    while lines and not lines[-1]:
        lines = lines[:-1]
    return lines


def has_blocks(source: str) -> bool:
    return fixed_parts(source) is not None


def outside_change(initial: str, candidate: str) -> str | None:
    """Why `candidate` is refused, or None when it changes only what is inside the blocks."""
    want = fixed_parts(initial)
    if want is None:
        return None
    got = fixed_parts(candidate)
    if got is None:
        return (
            f"the candidate must keep the initial program's {len(want) - 1} "
            f"# {START} .. # {END} block(s); its markers are missing or unbalanced"
        )
    if len(got) != len(want):
        return (
            f"the candidate has {len(got) - 1} EVOLVE-BLOCKs; the initial program has "
            f"{len(want) - 1}"
        )
    for number, (mine, theirs) in enumerate(zip(want, got, strict=True)):
        if mine != theirs:
            where = "before the first block" if number == 0 else f"after block {number}"
            line = next((t for m, t in zip(mine + [""] * len(theirs), theirs, strict=False)
                         if m != t), "")  # fmt: skip
            detail = f" (first differing line: {line.strip()[:80]!r})" if line.strip() else ""
            return (
                f"the candidate changed code outside the EVOLVE-BLOCKs, {where}{detail}; "
                "only code between the markers may change"
            )
    return None
