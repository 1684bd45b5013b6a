"""Splicing a whole-program rewrite into the EVOLVE-BLOCKs of the initial program.

Small models rewrite the whole file: they drop the `# EVOLVE-BLOCK-START/END` markers, or
reformat and edit the fixed code (the code outside the blocks). Such a candidate is not
refused outright. Its definitions of the names the initial program's blocks define (top-level
functions, classes and assignments), with the top-level definitions and imports those need
that the fixed code does not provide, are put into the blocks of the initial program in the
candidate's own text; the fixed code stays byte for byte the initial program's. What the
candidate wrote for the fixed names is dropped.

Still refused, with the reason: a candidate that is not Python; one that defines none of the
blocks' names; one whose spliced code changes a fixed name's behaviour (declares it `global`,
assigns, deletes or sets an attribute or item through it, calls `setattr`/`delattr` on it,
or reaches the module's namespace through `globals()`, `vars()` or `sys.modules`); and an
initial program whose blocks do not hold whole top-level statements (a block inside a
function), where there is nothing to splice into. A candidate that keeps the markers and the
fixed code is not touched (`splice` is not asked).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache

from selftaught.tasks import evolve_blocks

# Calls that reach a module's namespace, where a fixed name could be rebound by its string.
NAMESPACE_CALLS = frozenset({"globals", "vars"})
PATCH_CALLS = frozenset({"setattr", "delattr"})  # refused when their object is a fixed name


@dataclass(frozen=True)
class Spliced:
    """A whole-program rewrite read into the initial program: `program` to run (None when
    refused), `note` saying what was taken, or `refusal` saying why nothing could be."""

    program: str | None
    note: str | None = None
    refusal: str | None = None


@dataclass(frozen=True)
class _Block:
    start: int  # the first line inside the block (0-based index into the lines)
    end: int  # the line of its END marker
    statements: tuple[ast.stmt, ...]


@lru_cache(maxsize=64)  # the task's refusal and its run ask for the same candidate
def splice(initial: str, candidate: str) -> Spliced:
    """The candidate's definitions of the blocks' names, put into the initial program."""
    try:
        tree = ast.parse(candidate)
    except SyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        return Spliced(None, refusal=f"the candidate is not Python ({where}{exc.msg}); write "
                       "the whole program, or only the code between the EVOLVE-BLOCK "
                       "markers")  # fmt: skip
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        return Spliced(None, refusal=f"the candidate cannot be parsed ({type(exc).__name__})")
    try:
        mine = ast.parse(initial)
    except (SyntaxError, ValueError):  # the task's own program: nothing to splice into
        return Spliced(None, refusal=evolve_blocks.outside_change(initial, candidate))
    blocks = _blocks(initial, mine)
    if blocks is None:
        return Spliced(None, refusal=evolve_blocks.outside_change(initial, candidate))
    fixed = _fixed_names(mine, blocks)
    wanted = [name for b in blocks for s in b.statements for name in _defined(s)]
    theirs = _definitions(tree)
    taken = [name for name in dict.fromkeys(wanted) if name in theirs and name not in fixed]
    if not taken:
        return Spliced(None, refusal=(
            "the candidate changed the code outside the EVOLVE-BLOCKs and defines none of the "
            f"names the blocks define ({', '.join(dict.fromkeys(wanted)) or 'none'}); "
            "keep the markers and change only the code between them"))  # fmt: skip
    helpers = _needed(tree, theirs, taken, fixed, mine)
    refusal = _changes_fixed(
        [theirs[n] for n in taken] + helpers, fixed, _lines(candidate)
    )
    if refusal:
        return Spliced(None, refusal=refusal)
    program = _assemble(initial, blocks, candidate, theirs, taken, helpers)
    return Spliced(program, note=_note(candidate, taken, helpers))


def _note(candidate: str, taken: list[str], helpers: list[ast.stmt]) -> str:
    why = "dropped the EVOLVE-BLOCK markers" if not evolve_blocks.has_blocks(candidate) else (
        "changed the code outside the EVOLVE-BLOCKs")  # fmt: skip
    extra = f" and {len(helpers)} more definition(s) or import(s) they use" if helpers else ""
    return (
        f"spliced: the candidate {why}; its definition(s) of {', '.join(taken)}{extra} were "
        "put into the initial program's blocks, and the fixed code kept as it was"
    )


def _lines(text: str) -> list[str]:
    """`text`'s lines with their ends, split where `ast` counts lines (str.splitlines also
    splits at form feeds and other separators a string literal may hold)."""
    return re.findall(r".*?(?:\r\n|\r|\n)|.+\Z", text, re.S)


def _blocks(initial: str, tree: ast.Module) -> list[_Block] | None:
    """The initial program's blocks with the top-level statements inside each, or None when
    a block does not hold whole top-level statements."""
    lines = _lines(initial)
    body = tree.body
    blocks, start = [], None
    for i, line in enumerate(lines):
        marker = evolve_blocks._marker(line)
        if marker == evolve_blocks.START:
            start = i + 1
        elif marker == evolve_blocks.END and start is not None:
            inside = tuple(s for s in body if start < _first(s) <= i)
            if any(s.end_lineno > i for s in inside) or any(  # type: ignore[operator]
                _first(s) <= start < s.end_lineno for s in body  # type: ignore[operator]
            ):
                return None  # a statement straddles a marker: the block is inside it
            blocks.append(_Block(start, i, inside))
            start = None
    return blocks or None


def _first(statement: ast.stmt) -> int:
    """The 1-based first line of a statement, its decorators included."""
    decorators = getattr(statement, "decorator_list", None) or []
    return min([statement.lineno, *(d.lineno for d in decorators)])


def _defined(statement: ast.stmt) -> list[str]:
    """The names a top-level statement binds."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [statement.name]
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return [(a.asname or a.name).split(".")[0] for a in statement.names]
    targets: list[ast.expr] = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign | ast.AugAssign):
        targets = [statement.target]
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


def _fixed_names(tree: ast.Module, blocks: list[_Block]) -> set[str]:
    inside = {id(s) for b in blocks for s in b.statements}
    return {n for s in tree.body if id(s) not in inside for n in _defined(s)}


def _definitions(tree: ast.Module) -> dict[str, ast.stmt]:
    """The candidate's top-level definitions by name (imports excluded): the last one wins,
    as it would when the module runs."""
    found: dict[str, ast.stmt] = {}
    for statement in tree.body:
        if not isinstance(statement, ast.Import | ast.ImportFrom):
            for name in _defined(statement):
                found[name] = statement
    return found


def _used(statements: list[ast.stmt]) -> set[str]:
    return {n.id for s in statements for n in ast.walk(s) if isinstance(n, ast.Name)}


def _needed(
    tree: ast.Module, theirs: dict[str, ast.stmt], taken: list[str], fixed: set[str],
    initial: ast.Module,
) -> list[ast.stmt]:  # fmt: skip
    """The candidate's other top-level definitions and imports that the taken ones use,
    transitively, in the candidate's order; what the fixed code or the initial program's own
    imports already provide is not taken again."""
    own_imports = {ast.dump(s) for s in initial.body
                   if isinstance(s, ast.Import | ast.ImportFrom)}  # fmt: skip
    chosen = {id(theirs[n]) for n in taken}
    names, queue = set(taken), list(_used([theirs[n] for n in taken]))
    imports = {n: s for s in tree.body if isinstance(s, ast.Import | ast.ImportFrom)
               and ast.dump(s) not in own_imports for n in _defined(s)}  # fmt: skip
    extra: set[int] = set()
    while queue:
        name = queue.pop()
        if name in names or name in fixed:
            continue
        names.add(name)
        statement = theirs.get(name) or imports.get(name)
        if statement is not None and id(statement) not in chosen | extra:
            extra.add(id(statement))
            queue.extend(_used([statement]))
    return [s for s in tree.body if id(s) in extra]


def _changes_fixed(statements: list[ast.stmt], fixed: set[str], lines: list[str]) -> str | None:
    """Why the spliced code would change a fixed name's behaviour, or None."""
    for statement in statements:
        rebound = [n for n in _defined(statement) if n in fixed]  # `helper, fixed = ...`
        if rebound:
            return _changes(rebound[0], statement, lines)
        for node in ast.walk(statement):
            name = _fixed_target(node, fixed)
            if name:
                return _changes(name, node, lines)
    return None


def _changes(name: str, node: ast.AST, lines: list[str]) -> str:
    number = getattr(node, "lineno", 0)
    line = lines[number - 1].strip()[:80] if 0 < number <= len(lines) else ""
    what = (
        f"reaches the module's namespace through {name}"
        if name.endswith("()") or name == "sys.modules"
        else f"changes {name!r}, which the fixed code outside the EVOLVE-BLOCKs defines"
    )
    return (
        f"the candidate's code {what} (line {number}: {line!r}); the fixed code must keep "
        "its behaviour, so the candidate is refused"
    )


def _fixed_target(node: ast.AST, fixed: set[str]) -> str | None:
    """The fixed name (or namespace call) `node` rebinds or patches, if any."""
    if isinstance(node, ast.Global | ast.Nonlocal):
        return next((n for n in node.names if n in fixed), None)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in NAMESPACE_CALLS:
            return f"{node.func.id}()"
        if node.func.id in PATCH_CALLS and node.args:
            root = _root(node.args[0])
            return root if root in fixed else None
    if isinstance(node, ast.Attribute) and node.attr == "modules" and _root(node) == "sys":
        return "sys.modules"
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign | ast.Delete):
        targets = node.targets
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    for target in targets:
        if isinstance(target, ast.Attribute | ast.Subscript) and _root(target) in fixed:
            return _root(target)
    return None


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _text(statement: ast.stmt, lines: list[str]) -> str:
    """A statement's own source lines, decorators included, ending with a newline."""
    text = "".join(lines[_first(statement) - 1 : statement.end_lineno])
    return text if text.endswith("\n") else text + "\n"


def _assemble(
    initial: str, blocks: list[_Block], candidate: str, theirs: dict[str, ast.stmt],
    taken: list[str], helpers: list[ast.stmt],
) -> str:  # fmt: skip
    """The initial program with each block's taken definitions in the candidate's text; the
    helpers go before the first of them. Lines outside the blocks are not touched."""
    lines, mine = _lines(initial), _lines(candidate)
    out, done, pending = [], 0, "".join(_text(s, mine) + "\n" for s in helpers)
    placed: set[int] = set()  # one candidate statement may define several of the names
    for block in blocks:
        out.extend(lines[done : block.start])
        at = block.start
        for statement in block.statements:
            names = [n for n in _defined(statement) if n in taken]
            if not names:
                continue
            out.extend(lines[at : _first(statement) - 1])
            new = list({id(theirs[n]): theirs[n] for n in names
                        if id(theirs[n]) not in placed}.values())  # fmt: skip
            placed.update(id(s) for s in new)
            out.append(pending + "".join(_text(s, mine) for s in new))
            pending, at = "", statement.end_lineno  # type: ignore[assignment]
        out.extend(lines[at : block.end])
        done = block.end
    out.extend(lines[done:])
    return "".join(out)
