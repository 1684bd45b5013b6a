"""The meta-utility section: incumbent and candidate scores per iteration, plotted and listed,
with 95 % intervals over the repetitions of each meta-utility."""

from __future__ import annotations

from typing import Any

from selftaught.records import IterationRecord
from selftaught.report import svg
from selftaught.report.cells import isnum, score, sha, table
from selftaught.report.data import RunData, run_values
from selftaught.scores import UNIT
from selftaught.stats import Interval, mean_interval

HEADERS = [
    "t",
    "incumbent û val",
    "incumbent û test",
    "candidate û val",
    "candidate û test",
    "adopted",
    "incumbent",
    "candidate",
]
ADOPTED = {None: "–", True: '<span class="yes">yes</span>', False: "no"}


def meta_utility(data: RunData) -> str:
    """The plot of the iterations' meta-utilities, a note on reading it, and their table."""
    records = data.iterations
    if not records:
        return '<p class="note">no iteration was recorded</p>'
    chart = curve(_incumbent_series(data) + _candidate_series(data), data.utility_bounds)
    rows = [_row(data, r) for r in records]
    return (
        f'<div class="figure">{chart}</div>'
        '<p class="note">Incumbent: the improver in force after iteration t. Bars: 95 % t '
        "intervals over the repetitions of each meta-utility (shown where they vary). The "
        "improver only ever saw val scores.</p>" + table(HEADERS, rows, paged=True)
    )


def curve(
    series: list[svg.Series],
    y_range: tuple[float, float] | None = UNIT,
    title: str = "meta-utility per iteration",
) -> str:
    """The û-per-iteration chart of `series` (the dashboard overlays several runs with it),
    over `y_range` (None: the values' own, for a task on its evaluator's own scale)."""
    return svg.line_chart(
        series,
        title=title,
        x_label="iteration t",
        y_label="meta-utility û",
        y_range=y_range,
        x_integer=True,
        x_pad=0.25,
    )


def _mu_interval(data: RunData, digest: Any, split: str) -> Interval | None:
    record = data.meta_utilities.get(digest) if isinstance(digest, str) else None
    if record is None:
        return None
    return mean_interval(run_values(record.runs, split), data.utility_bounds)


def _incumbent_series(data: RunData) -> list[svg.Series]:
    """The incumbent's val and test meta-utility as steps, with their intervals."""
    series = []
    for split, color in (("val", svg.PALETTE[0]), ("test", svg.PALETTE[1])):
        records = data.iterations
        incumbent = [(r.t, getattr(r, f"meta_utility_{split}")) for r in records]
        errors = []
        for r in records:
            iv = _mu_interval(data, r.improver_sha256, split)
            if iv:
                errors.append((r.t, iv.low, iv.high))
        series.append(
            svg.Series(
                f"incumbent {split}",
                [(t, v) for t, v in incumbent if isnum(v)],
                color,
                kind="step",
                dashed=split == "test",
                errors=errors,
            )
        )
    return series


def _candidate_series(data: RunData) -> list[svg.Series]:
    """Each iteration's candidate as points, val just left of t and test just right of it."""
    series = []
    for split, color in (("val", svg.PALETTE[5]), ("test", svg.PALETTE[4])):
        points, errors = [], []
        for r in data.iterations:
            v = getattr(r, f"candidate_{split}")
            if r.t > 0 and isnum(v):
                x = r.t + (0.08 if split == "test" else -0.08)
                points.append((x, v))
                iv = _mu_interval(data, r.candidate_sha256, split)
                if iv:
                    errors.append((x, iv.low, iv.high))
        series.append(svg.Series(f"candidate {split}", points, color, kind="points", errors=errors))
    return series


def _row(data: RunData, r: IterationRecord) -> list[str]:
    incumbent, candidate = r.improver_sha256, r.candidate_sha256
    return [
        str(r.t),
        score(r.meta_utility_val, _mu_interval(data, incumbent, "val")),
        score(r.meta_utility_test, _mu_interval(data, incumbent, "test")),
        score(r.candidate_val, _mu_interval(data, candidate, "val")),
        score(r.candidate_test, _mu_interval(data, candidate, "test")),
        ADOPTED.get(r.adopted, "–"),
        sha(incumbent),
        sha(candidate),
    ]
