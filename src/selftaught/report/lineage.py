"""The lineage of improvers: which improver each one came from, and what it looks like.

Contract of `build_lineage(data)`:
- one `Node` per distinct improver program the run produced or scored: the initial improver,
  then every candidate of the iteration records (and of a stop invocation whose iteration was
  never recorded, because the run stopped); a program proposed twice is one node;
- a node's parent is the incumbent that proposed it (the improver in force before iteration t),
  whether it was adopted or not, so adopted improvers form the spine and rejected candidates
  hang off the improver that wrote them;
- `guess_strategy(source)` names the search strategy in one line from keywords in the code
  (a guess for a reader, never used for a decision).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from selftaught.report.data import RunData, run_values
from selftaught.sandbox.scan import parse
from selftaught.stats import Interval, mean_interval

# (label, patterns): a label is claimed when any pattern occurs (case-insensitive).
_STRATEGIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("beam search", (r"\bbeam",)),
    ("genetic", (r"crossover", r"mutat", r"tournament", r"\bgenetic")),
    ("simulated annealing", (r"anneal", r"\bcool(ing)?\b", r"math\.exp\(\s*-?\s*\(?delta")),
    ("bandit", (r"\bucb", r"bandit", r"\barms?\b")),
    ("epsilon-greedy", (r"epsilon",)),
    ("population", (r"population",)),
    ("temperature sweep", (r"temperatures\s*=\s*[\[(]",)),
    ("decomposition", (r"ast\.functiondef", r"ast\.parse")),
    ("hints", (r"\bhints?\b",)),
    ("tree search", (r"\bmcts\b", r"monte.carlo")),
    ("hill climbing", (r"hill.climb",)),
)


@dataclass
class Node:
    sha: str
    parent: str | None
    status: str  # initial | adopted | rejected | invalid | unscored
    source: str | None
    val: float | None = None
    test: float | None = None
    val_interval: Interval | None = None
    test_interval: Interval | None = None
    proposed_at: list[int] = field(default_factory=list)
    adopted_at: int | None = None
    notes: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)

    @property
    def strategy(self) -> str:
        return guess_strategy(self.source)


@dataclass
class Lineage:
    root: str | None
    nodes: dict[str, Node]

    def walk(self) -> list[tuple[int, Node]]:
        """(depth, node) in depth-first order, children by the iteration that proposed them."""
        out: list[tuple[int, Node]] = []
        seen: set[str] = set()
        # An explicit stack, not recursion: a 1,000-adoption run is a spine 1,000 deep.
        stack = [(sha, 0) for sha, node in reversed(self.nodes.items()) if node.parent is None]
        while stack:
            sha, depth = stack.pop()
            if sha in seen:  # a cycle cannot arise from the records, but never loop on one
                continue
            seen.add(sha)
            out.append((depth, self.nodes[sha]))
            stack.extend((child, depth + 1) for child in reversed(self.nodes[sha].children))
        return out

    def adopted_pairs(self) -> list[tuple[Node, Node]]:
        """(parent, child) for every adopted improver, in the order they were adopted."""
        adopted = [n for n in self.nodes.values() if n.status == "adopted" and n.parent]
        adopted.sort(key=lambda n: n.adopted_at or 0)
        return [(self.nodes[n.parent], n) for n in adopted if n.parent in self.nodes]


def guess_strategy(source: str | None) -> str:
    """A one-line guess such as 'genetic + population' from the code's keywords."""
    if not source:
        return "source not recorded"
    try:
        parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "does not parse"
    text = source.lower()
    labels = [label for label, patterns in _STRATEGIES if any(re.search(p, text) for p in patterns)]
    if labels:
        return " + ".join(labels[:3])
    if "batch_prompt" in text or ".prompt(" in text:
        return "sample and keep the best"
    return "no recognisable search"


def build_lineage(data: RunData) -> Lineage:
    nodes: dict[str, Node] = {}
    records = data.iterations
    initial = data.meta.get("initial_improver")
    if not isinstance(initial, str):
        initial = records[0].improver_sha256 if records else None
    if isinstance(initial, str):
        nodes[initial] = _node(data, initial, None, "initial")

    incumbent = initial
    for record in records:
        t = record.t
        if t == 0:
            incumbent = record.improver_sha256 or incumbent
            continue
        candidate = record.candidate_sha256
        if candidate is None:
            if incumbent in nodes:
                nodes[incumbent].notes.append(f"t={t}: returned no improver")
        else:
            if candidate not in nodes:
                status = "adopted" if record.adopted else _rejected(data, candidate)
                nodes[candidate] = _node(data, candidate, incumbent, status)
            node = nodes[candidate]
            node.proposed_at.append(t)
            if candidate == incumbent:
                node.notes.append(f"t={t}: proposed itself unchanged")
            if record.adopted and node.adopted_at is None:
                node.adopted_at = t
                if node.status != "initial":
                    node.status = "adopted"
        if record.improver_sha256:
            incumbent = record.improver_sha256

    # An iteration the run was killed in: its candidate exists but was never scored.
    recorded = {r.t for r in records}
    for inv in data.stop_invocations:
        result = inv.result
        if inv.t in recorded or not result or result in nodes or result not in data.improvers:
            continue
        parent = inv.improver if inv.improver in nodes else incumbent
        node = _node(data, result, parent, "unscored")
        node.proposed_at.append(inv.t)
        node.notes.append(f"t={inv.t}: proposed; the run stopped before scoring it")
        nodes[result] = node

    for sha, node in nodes.items():
        if node.parent in nodes and node.parent != sha:
            nodes[node.parent].children.append(sha)
        elif node.parent is not None:
            node.parent = None  # its parent is not recorded: show it as a root of its own
    return Lineage(initial, nodes)


def _rejected(data: RunData, sha: str) -> str:
    source = data.improvers.get(sha)
    if source is not None and not _defines_improver(source):
        return "invalid"
    return "rejected"


def _defines_improver(source: str) -> bool:
    try:
        tree = parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(isinstance(n, ast.FunctionDef) and n.name == "improve_algorithm" for n in tree.body)


def _node(data: RunData, sha: str, parent: str | None, status: str) -> Node:
    score = data.meta_utilities.get(sha)
    runs = score.runs if score else ()
    return Node(
        sha=sha,
        parent=parent,
        status=status,
        source=data.improvers.get(sha),
        val=score.val if score else None,
        test=score.test if score else None,
        val_interval=mean_interval(run_values(runs, "val"), data.utility_bounds),
        test_interval=mean_interval(run_values(runs, "test"), data.utility_bounds),
    )
