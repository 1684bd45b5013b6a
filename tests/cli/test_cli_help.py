"""The command's own help, and its catalog tables, read cleanly in terminals of 80 and 100
columns (issue 29, item 6): every `selftaught [COMMAND] --help` and `selftaught models |
tasks | improvers`, rendered at each width, has no line wider than the terminal, no `<bool>`
beside a flag, no value's type in Python's spelling (`<list[str]>`, `<Path>`), no text cut
short with an ellipsis, no sentence broken mid-line where a docstring had a line break, and no
table column narrower than 8 characters."""

from __future__ import annotations

import re

import pytest
import typer
from rich.cells import cell_len
from typer.testing import CliRunner

from selftaught.cli import app
from selftaught.cli import common as cli_common

WIDTHS = (80, 100)
VERTICAL = "│┃"
MIN_COLUMN = 8  # the squeezed `models` table had columns of 6 and 7, every cell cut short
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def _hard_breaks(lines: list[str], width: int) -> list[str]:
    """Lines that end mid-sentence although the next line's first word would have fit on them:
    a wrap at the terminal's width never leaves room, a docstring's own line break does."""
    found = []
    for above, below in zip(lines, lines[1:], strict=False):
        match = re.match(rf"^[ {VERTICAL}]*", below)
        start = match.end() if match else 0
        word = below[start:].split(maxsplit=1)[0] if below[start:].strip() else ""
        if not word[:1].islower() or start >= len(above) or above[start - 1] not in f" {VERTICAL}":
            continue
        if start and above[start] == " ":
            continue  # the line above has no text in this column
        border = min((below.find(c, start) for c in VERTICAL if c in below[start:]), default=-1)
        limit = border - 1 if border > 0 else width - 1
        text = above[start:limit].rstrip()
        if re.search(r"[a-z,]$", text) and start + len(text) + 1 + len(word) <= limit:
            found.append(f"{above.strip()!r} / {below.strip()!r}")
    return found


def _narrow_columns(lines: list[str]) -> list[str]:
    """Columns of a boxed table (from its top border) narrower than MIN_COLUMN characters."""
    found = []
    for line in lines:
        if line.startswith(("┏", "┌")):
            widths = [len(cell) - 2 for cell in re.split("[┳┬]", line[1:-1])]
            found += [f"{w} wide: {line}" for w in widths if w < MIN_COLUMN]
    return found


def _python_types(line: str) -> list[str]:
    """Value types in a help line spelled as Python would (`<list[str]>`, `<dict[str, Any]>`,
    `<Path>`, `<NoneType>`), not as a person reads them (`<str>`, `<path>`, `<int range>`,
    `KEY=VALUE`). A range's `[1<=x<=256]` is not a type."""
    labels = re.findall(r"<([^<>=]+)>", line)
    return [label for label in labels if re.search(r"[\[\].|]|^[A-Z]|NoneType", label)]


def reading_problems(text: str, width: int, *, prose: bool = True) -> list[str]:
    """What reads badly in `text` shown in a terminal `width` columns wide."""
    lines = text.splitlines()
    problems = [f"wider than {width}: {line!r}" for line in lines if cell_len(line) > width]
    problems += [f"a flag's <bool>: {line!r}" for line in lines if "<bool>" in line]
    problems += [f"a Python type: {line!r}" for line in lines if _python_types(line)]
    problems += [f"cut short: {line!r}" for line in lines if "…" in line]
    problems += _narrow_columns(lines)
    if prose:  # a catalog table's fields are one a line on purpose
        problems += [f"broken sentence: {b}" for b in _hard_breaks(lines, width)]
    return problems


# What typer made of the docstrings before the help was tidied (issue 29), at 80 columns.
BEFORE = """\
╭─ Commands ───────────────────────────────────────────────────────────────────╮
│ resume     Continue a run that was killed or stopped by a cap (give a larger │
│            one); finished work is                                            │
│            read back, nothing is paid twice.                                 │
╰──────────────────────────────────────────────────────────────────────────────╯
╭─ Options ────────────────────────────────────────────────────────────────────╮
│ --version        <bool>  The version.                                        │
│ --model-option                 <list[str]>  KEY=VALUE for the backend        │
│   paths...      <list[Path]>  Run directories, or directories of runs        │
│ --responses-per-call           <int>        language_model.max_responses_pe… │
╰──────────────────────────────────────────────────────────────────────────────╯
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━┓
┃ spec                        ┃ model  ┃ size     ┃ speed   ┃        ┃         ┃
"""


def test_the_checks_find_what_read_badly_before():
    problems = reading_problems(BEFORE, 80)
    assert any(p.startswith("broken sentence") and "work is" in p for p in problems), problems
    assert any("<bool>" in p for p in problems)
    assert sum(p.startswith("a Python type") for p in problems) == 2, problems
    assert any(p.startswith("cut short") for p in problems)
    assert any(p.startswith("6 wide") for p in problems)  # the model column, "Qwen2…" in it


def test_a_python_type_is_told_from_what_a_person_reads():
    raw = ["<list[str]>", "<dict[str, Any]>", "<Path>", "<NoneType>", "<str | None>", "<a.B>"]
    for label in raw:
        assert _python_types(f"│ --x   {label}  Help. │"), label
    readable = "│ --x  <int range> [1<=x<=256]  <path> <str> <float> KEY=VALUE  [default: 3] │"
    assert _python_types(readable) == []


@pytest.mark.parametrize("width", WIDTHS)
def test_every_commands_help_reads_cleanly(width):
    runner = CliRunner()
    for command in ["", *COMMANDS]:
        args = [command, "--help"] if command else ["--help"]
        done = runner.invoke(app, args, env={"COLUMNS": str(width)}, prog_name="selftaught")
        assert done.exit_code == 0, done.output
        lines = done.output.splitlines()
        assert max(cell_len(line) for line in lines) == width  # rendered at this width
        assert reading_problems(done.output, width) == [], (command, done.output)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("command", ["models", "tasks", "improvers"])
def test_the_catalog_tables_read_cleanly(command, width, monkeypatch):
    monkeypatch.setattr(cli_common.stdout, "_width", width)  # the console made at import
    done = CliRunner().invoke(app, [command])
    assert done.exit_code == 0, done.output
    assert max(cell_len(line) for line in done.output.splitlines()) == width
    assert reading_problems(done.output, width, prose=False) == [], done.output
