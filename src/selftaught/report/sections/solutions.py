"""The solutions section: evaluation totals per task and split, the seed solution of each task
beside the best solution its improvers returned, the val scores in the order they ran, the best
solution of each task with its per-instance outcomes, the solutions by val score and the
failures."""

from __future__ import annotations

from html import escape
from typing import Any

from selftaught.records import BestSolution, SolutionScores
from selftaught.report import svg
from selftaught.report.cells import more, num, sha, table
from selftaught.report.data import MAX_INSTANCE_ROWS, RunData
from selftaught.report.diff import code_block
from selftaught.scores import finite
from selftaught.store.queries import MAX_PROGRAM_ROWS

TOTAL_HEADERS = [
    "task",
    "split",
    "evaluations",
    "programs",
    "mean score",
    "best score",
    "failed",
    "seconds",
]


def solutions(data: RunData) -> str:
    """The parts in order; a part with nothing recorded is left out (totals say "none")."""
    out = [_totals(data)]
    if data.solution_scores:
        out.append(_seed_and_best(data))
    if data.evaluation_series:
        out.append(f'<div class="figure">{_series_chart(data)}</div>')
    seeds = {s.task: s for s in data.solution_scores}
    out.extend(_best(best, seeds.get(best.task)) for best in data.best_solutions)
    if data.top_programs:
        out.append(_top_programs(data))
    if data.failures:
        out.append(_failures(data))
    return "".join(out)


def _totals(data: RunData) -> str:
    rows = [
        [
            escape(str(r.task)),
            escape(str(r.split)),
            num(r.count),
            num(r.programs),
            num(r.mean),
            num(r.max),
            num(r.failed),
            num(r.seconds, 1),
        ]
        for r in data.evaluation_totals
    ]
    return table(TOTAL_HEADERS, rows) + _nodes(data.evaluation_nodes)


def _seed_and_best(data: RunData) -> str:
    """Per task, the seed solution's scores beside the best returned solution's: whether the
    run improved on what it started from (issue 24's "solutions" of `--json`)."""
    rows = [
        [
            escape(s.task),
            num(s.seed_val),
            num(s.seed_test),
            num(s.best_val),
            num(s.best_test),
            sha(s.best_program) if s.best_program else "none returned",
        ]
        for s in data.solution_scores
    ]
    headers = ["task", "seed val", "seed test", "best val", "best test", "best solution"]
    return (
        "<h3>Seed solution and the best solution the improvers returned</h3>"
        + table(headers, rows, cls="seed-best")
        + '<p class="note">best: by val score, among the solutions the improvers returned; '
        "its test score is that same solution's.</p>"
    )


def _nodes(nodes: dict[str, int]) -> str:
    """Where the evaluations ran: the local pool, or each Ray node by name (`node` column)."""
    if not nodes:
        return ""
    parts = [
        f"{escape(node) if node else 'not recorded (an older selftaught)'}: {num(count)}"
        for node, count in sorted(nodes.items(), key=lambda item: (not item[0], -item[1], item[0]))
    ]
    return f'<p class="note">Where they ran: {"; ".join(parts)}.</p>'


def _series_chart(data: RunData) -> str:
    points = data.evaluation_series
    return svg.line_chart(
        [
            svg.Series(
                "best so far", [(p.i, p.best) for p in points], svg.PALETTE[2], kind="step"
            ),
            svg.Series(
                "bucket max", [(p.i, p.max) for p in points], svg.PALETTE[0], kind="points"
            ),
            svg.Series(
                "bucket mean", [(p.i, p.mean) for p in points], svg.PALETTE[6], dashed=True
            ),
        ],
        title="val evaluations in the order they ran",
        x_label="val evaluation #",
        y_label="utility",
        y_range=data.utility_bounds,
    )


def _best(best: BestSolution, seed: SolutionScores | None) -> str:
    """The best solution of one task: its scores beside the seed solution's, a strip of its
    val instances, their table (at most MAX_INSTANCE_ROWS rows) and its source."""
    instances = best.val_instances
    strip = svg.bar_strip(
        [
            (
                finite(r.get("score")) or 0.0,  # never float(10**400): it raises
                str(r.get("status", "")),
                f"instance {i}: {r.get('score')} {r.get('status', '')} {r.get('reason', '')}",
            )
            for i, r in enumerate(instances)
        ],
        title=f"per-instance val outcomes of the best {best.task} solution",
    )
    rows = [
        [
            str(i),
            num(r.get("score")),
            escape(str(r.get("status", "–"))),
            num(r.get("seconds"), 4),
            escape(str(r.get("reason", ""))[:300]),
        ]
        for i, r in enumerate(instances[:MAX_INSTANCE_ROWS])
    ]
    failure = f'<p class="bad">failure: {escape(str(best.failure))}</p>' if best.failure else ""
    if best.spliced:  # a whole-program rewrite, read into the initial program's blocks
        failure += f'<p class="note spliced">{escape(str(best.spliced))}</p>'

    return (
        f'<div class="best" data-task="{escape(str(best.task))}">'
        f"<h3>Best solution for {escape(str(best.task))}: val {num(best.val)}, test "
        f"{num(best.test)} {sha(best.program)}</h3>{_seed_line(seed)}{failure}"
        f'<div class="figure">{strip}</div>'
        + table(["instance", "score", "status", "seconds", "reason"], rows, paged=True)
        + more(len(rows), len(instances), "instances")
        + _evaluator_records(instances)
        + f"<details><summary>source</summary>{code_block(best.source)}</details></div>"
    )


def _seed_line(seed: SolutionScores | None) -> str:
    if seed is None:
        return ""
    return (
        f'<p class="note seed-solution">seed solution: val {num(seed.seed_val)}, test '
        f"{num(seed.seed_test)}</p>"
    )


def _evaluator_records(instances: list[dict[str, Any]]) -> str:
    """An evaluator-form task's own record per instance: the stage reached, how the score
    was found, its metrics and artifacts (docs/tasks.md). Empty for native tasks."""
    keys = ("stage", "scored_by", "metrics", "artifacts")
    if not any(isinstance(r, dict) and any(k in r for k in keys) for r in instances):
        return ""

    def pairs(value: Any) -> str:
        if not isinstance(value, dict):
            return ""
        return "; ".join(f"{k} = {str(v)[:200]}" for k, v in list(value.items())[:20])

    rows = [
        [
            str(i),
            escape(str(r.get("stage", ""))),
            escape(str(r.get("scored_by", ""))),
            escape(pairs(r.get("metrics"))[:600]),
            escape(pairs(r.get("artifacts"))[:1200]),
        ]
        for i, r in enumerate(instances[:MAX_INSTANCE_ROWS])
    ]
    return (
        "<details><summary>the evaluator's metrics and artifacts</summary>"
        + table(["instance", "stage", "scored by", "metrics", "artifacts"], rows, paged=True)
        + "</details>"
    )


def _top_programs(data: RunData) -> str:
    rows = [
        [
            sha(p.program),
            escape(str(p.task)),
            num(p.evaluations),
            num(p.val),
            num(p.test),
            num(p.failed),
        ]
        for p in data.top_programs
    ]
    capped = len(rows) >= MAX_PROGRAM_ROWS
    return (
        "<h3>Solutions by val score</h3>"
        + table(["program", "task", "evaluations", "val", "test", "failed"], rows, paged=True)
        + (f'<p class="note">the best {MAX_PROGRAM_ROWS} shown</p>' if capped else "")
    )


def _failures(data: RunData) -> str:
    rows = [
        [
            escape(str(f.failure)[:300]),
            escape(str(f.task)),
            escape(str(f.split)),
            num(f.count),
            num(f.spliced),
            sha(f.example_program),
        ]
        for f in data.failures
    ]
    return "<h3>Failed evaluations</h3>" + table(
        ["failure", "task", "split", "count", "of them spliced", "example"], rows, paged=True
    )
