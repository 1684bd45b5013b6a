"""The improver sections: the lineage tree of improvers, and each adopted improver's diff
against its parent. Both read a `report.lineage.Lineage`."""

from __future__ import annotations

from html import escape

from selftaught.records import InvocationOutcome
from selftaught.report.cells import more, num, score, sha, table
from selftaught.report.diff import code_block, side_by_side
from selftaught.report.lineage import Lineage, Node

MAX_DIFFS = 50  # diffs shown in full; earlier ones are counted

STATUS_LABELS = {
    "initial": "initial",
    "adopted": "adopted",
    "rejected": "not adopted",
    "invalid": "not an improver",
    "unscored": "unscored",
}


def lineage_tree(
    lineage: Lineage, downstream: dict[str, list[InvocationOutcome]] | None = None
) -> str:
    """Nested `<ul class="tree">`: one `.node` per improver, children under their parent; under
    each, the meta-utility's runs of it (`downstream`: the lineage's second level)."""
    downstream = downstream or {}
    if not lineage.nodes:
        return '<p class="note">no improver was recorded</p>'
    parts = ['<ul class="tree">']
    depth_stack = [0]
    first = True
    # Diffs against the parent on the latest MAX_DIFFS nodes only: on a 1,000-adoption run
    # every node's diff would put megabytes on the page (the source is still one click away).
    diffed = {node.sha for _, node in list(lineage.walk())[-MAX_DIFFS:]}
    for depth, node in lineage.walk():
        if first:
            first = False
        elif depth > depth_stack[-1]:
            parts.append("<ul>")
            depth_stack.append(depth)
        else:
            parts.append("</li>")
            while depth < depth_stack[-1]:
                parts.append("</ul></li>")
                depth_stack.pop()
        parent = lineage.nodes.get(node.parent) if node.parent and node.sha in diffed else None
        parts.append(f"<li>{_node(node, parent, downstream.get(node.sha, []))}")
    parts.append("</li>")
    while len(depth_stack) > 1:
        parts.append("</ul></li>")
        depth_stack.pop()
    parts.append("</ul>")
    return "".join(parts)


def _node(node: Node, parent: Node | None, runs: list[InvocationOutcome]) -> str:
    when = []
    if node.proposed_at:
        when.append("proposed at t=" + ", ".join(str(t) for t in node.proposed_at))
    if node.adopted_at is not None:
        when.append(f"adopted at t={node.adopted_at}")
    notes = "".join(f'<div class="note">{escape(n)}</div>' for n in node.notes)
    lines = len(node.source.splitlines()) if node.source else 0
    return (
        f'<div class="node {node.status}" data-sha="{escape(node.sha)}">'
        f'<div class="node-head">{sha(node.sha)} '
        f'<span class="badge {node.status}">{STATUS_LABELS.get(node.status, node.status)}</span>'
        f' <span class="scores">û val {score(node.val, node.val_interval)} · test '
        f"{score(node.test, node.test_interval)}</span></div>"
        f'<div class="strategy">strategy: {escape(node.strategy)}'
        f"{' · ' + escape('; '.join(when)) if when else ''}</div>{notes}"
        f"<details><summary>source ({lines} lines)</summary>{code_block(node.source)}</details>"
        f"{_parent_diff(node, parent)}{_runs(runs)}</div>"
    )



def _runs(runs: list[InvocationOutcome]) -> str:
    """A closed `<details>`: a row per improver run the meta-utility made of this improver,
    with the solution it returned (its source one click further), its scores and failure."""
    if not runs:
        return ""
    rows = []
    for r in runs:
        solution = sha(r.result)
        if r.source:
            solution = f"<details><summary>{solution}</summary>{code_block(r.source)}</details>"
        why = "; ".join(str(x) for x in (r.error, r.failure) if x)
        rows.append([escape(str(r.t)), escape(str(r.task)), escape(str(r.repetition)),
                     escape(str(r.status)), solution, num(r.val), num(r.test),
                     f'<span class="bad">{escape(why)}</span>' if why else ""])  # fmt: skip
    headers = ["t", "task", "repetition", "status", "solution returned", "val", "test", "failure"]
    summary = f"<summary>meta-utility runs of this improver ({len(runs)} listed)</summary>"
    return f'<details class="downstream">{summary}{table(headers, rows)}</details>'


def _parent_diff(node: Node, parent: Node | None) -> str:
    """A closed `<details>`: the node's source beside its parent's (nothing for the root)."""
    if parent is None or parent.source is None or node.source is None:
        return ""
    diff = side_by_side(
        parent.source,
        node.source,
        old_title=f"parent {parent.sha[:12]}: û val {num(parent.val)}",
        new_title=f"{node.sha[:12]}: û val {num(node.val)}",
    )
    summary = "<summary>diff against its parent</summary>"
    return f'<details class="parent-diff">{summary}{diff}</details>'


def adopted_diffs(lineage: Lineage) -> str:
    """One open `<details>` per adopted improver: its source beside its parent's."""
    pairs = lineage.adopted_pairs()
    if not pairs:
        return '<p class="note">no improver was adopted, so there is nothing to compare</p>'
    # The latest MAX_DIFFS: a 1,000-adoption run would otherwise put 3 MB of diffs on the page.
    out = [more(MAX_DIFFS, len(pairs), "earlier adoptions' diffs")]
    for parent, child in pairs[-MAX_DIFFS:]:
        if parent.source is None or child.source is None:
            out.append(
                f'<p class="note">t={escape(str(child.adopted_at))}: a source is not recorded</p>'
            )
            continue
        title = (
            f"t={child.adopted_at}: {child.sha[:12]} ({child.strategy}) against its parent "
            f"{parent.sha[:12]} ({parent.strategy})"
        )
        out.append(
            f'<details class="diffbox" open><summary>{escape(title)}</summary>'
            + side_by_side(
                parent.source,
                child.source,
                old_title=f"parent {parent.sha[:12]}: û val {num(parent.val)}",
                new_title=f"adopted {child.sha[:12]}: û val {num(child.val)}",
            )
            + "</details>"
        )
    return "".join(out)
