"""Why û did not rise: one console line from the run's own meta-level profile (issue 24).

A newcomer's first run on a small model usually ends with û at t = T no higher than at t = 0.
The table shows that; this line says why, in the terms `selftaught probe` measures a model by
at the meta level (docs/probe.md): how many improvers the model wrote, how many failed and
with what error, how many pasted the meta-utility's code above their own (the 1.5B's `from
algorithm import ...`), how many reach past the sandbox, and how many ran but returned nothing
better. It reads only the run's store: the improvers in force (the iteration records) and the
candidate improvers' invocations under the meta-utility.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from selftaught.failures import first_error_line
from selftaught.probe import circumvents, pastes_meta_utility
from selftaught.records import IterationRecord, Level
from selftaught.store.queries import RunQueries


@dataclass(frozen=True)
class Stall:
    """The candidate improvers of a run whose û did not rise."""

    t: int  # the last iteration
    written: int  # candidate improvers the model wrote that the meta-utility scored
    failed: int  # of those, the ones with a failed invocation
    pasted: int  # pasted the meta-utility's code (imports, `def meta_utility`)
    reaching: int  # reach past the sandbox (exec of the meta-utility's code, a new model)
    error: str | None  # the commonest first error line of the failed ones


def stall(store: RunQueries, records: list[IterationRecord]) -> Stall | None:
    """The run's stall, or None when û rose (or no iteration past t = 0 ran)."""
    if len(records) < 2 or records[-1].meta_utility_val > records[0].meta_utility_val:
        return None
    in_force = {r.improver_sha256 for r in records}
    outcomes: dict[str, list[tuple[str, str | None]]] = {}
    for run in store.invocations():
        if run.level != Level.STOP and run.improver not in in_force:
            outcomes.setdefault(run.improver, []).append((run.status, run.error))
    sources = store.sources(set(outcomes))
    errors = Counter(
        first_error_line(s, e) for runs in outcomes.values() for s, e in runs if s != "ok"
    )  # fmt: skip
    return Stall(
        t=records[-1].t,
        written=len(outcomes),
        failed=sum(any(s != "ok" for s, _ in runs) for runs in outcomes.values()),
        pasted=sum(pastes_meta_utility(sources.get(h, "")) for h in outcomes),
        reaching=sum(circumvents(sources.get(h, "")) for h in outcomes),
        error=errors.most_common(1)[0][0] if errors else None,
    )


def stall_line(found: Stall | None) -> str | None:
    """One line for the console, or None."""
    if found is None:
        return None
    head = f"û did not rise by t = {found.t}: "
    if found.written == 0:
        return head + (
            "the model wrote no improver that could be scored (no complete "
            "`improve_algorithm` in its replies); `selftaught probe` measures how often it does"
        )
    parts = [f"{found.failed} failed" + (f" ({found.error})" if found.error else "")]
    if found.pasted:
        parts.append(f"{found.pasted} pasted the meta-utility's code")
    if found.reaching:
        parts.append(f"{found.reaching} reach past the sandbox (selftaught safety)")
    ran = found.written - found.failed
    parts.append(f"{ran} ran but returned no better solutions")
    return head + (
        f"of the {found.written} improver{'s' if found.written > 1 else ''} the model wrote, "
        f"{'; '.join(parts)}. How often a model writes a working improver: `selftaught probe` "
        "(benchmarks/models.md)"
    )
