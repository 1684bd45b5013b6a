"""One name per class across the package: no two classes of `selftaught` share a name, so a
name in a traceback, a doc or a review means one thing. (The Python API may give a class a
second, public name: `selftaught.Evaluation` is `records.EvaluationRecord`.) The built-in
improvers are left out: each runs alone in a child, so each repeats its small helpers
(docs/architecture.md, "How to add")."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "selftaught"


def test_no_two_classes_share_a_name():
    where: dict[str, list[str]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "improvers" and path.name != "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(str(path.relative_to(PACKAGE)))
    assert where, "no classes found: is PACKAGE right?"
    shared = {name: paths for name, paths in where.items() if len(paths) > 1}
    assert shared == {}
