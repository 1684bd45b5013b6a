"""The probe section, for a run of `selftaught probe`: how ready its model is for STOP, the
rates of both levels with their 95 % Wilson intervals and what a full run would cost
(selftaught/probe.py). Reads the run's `probe` meta value; anything malformed shows as "–"."""

from __future__ import annotations

from html import escape
from typing import Any

from selftaught.report.cells import isnum, num, table
from selftaught.report.data import RunData

SOLUTION = ("complete_block", "defines_entry", "runs", "beats_seed")
META = ("valid_improver", "works", "keeps_initial", "circumvents", "pastes_meta_utility")
COST = ("lm_calls", "samples", "tokens", "dollars", "hours", "tokens_per_second")


def probe(data: RunData) -> str:
    result = data.meta.get("probe")
    if not isinstance(result, dict):
        return '<p class="note">this run recorded no probe result</p>'
    out = [f"<p>model: <code>{escape(str(result.get('model', '–')))}</code></p>"]
    solution = _dict(result.get("solution"))
    rows = [
        [escape(str(task)), *(_rate(_dict(rates).get(k)) for k in SOLUTION),
         num(_dict(rates).get("mean_gain"))]
        for task, rates in solution.items()
    ]  # fmt: skip
    out.append("<h3>Solution level: the seed improver's prompt per task</h3>")
    out.append(table(["task", *SOLUTION, "mean gain"], rows))
    meta = _dict(result.get("meta"))
    out.append("<h3>Meta level: STOP's t = 1 prompt</h3>")
    out.append(table(["", "rate [95% CI]"], [[k, _rate(meta.get(k))] for k in META]))
    strategies = _dict(meta.get("strategies"))
    listed = ", ".join(f"{escape(str(k))}: {num(v)}" for k, v in strategies.items())
    out.append(f"<p>search strategies of its improvers: {listed or '–'}</p>")
    estimate = _dict(result.get("estimate"))
    cost_rows = [
        [escape(str(name)), *(num(_dict(row).get(k), 2) for k in COST)]
        for name, row in estimate.items()
    ]
    out.append("<h3>What a full run on one task would cost (the budgets' upper bound)</h3>")
    out.append(table(["preset", *COST], cost_rows))
    return "".join(out)


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _rate(value: Any) -> str:
    r = _dict(value)
    if not all(isnum(r.get(k)) for k in ("rate", "low", "high", "n")):
        return "–"
    return (
        f"{100 * r['rate']:.0f}% [{100 * r['low']:.0f}, {100 * r['high']:.0f}]"
        f' <span class="ci">of {int(r["n"])}</span>'
    )
