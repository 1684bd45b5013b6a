"""The dashboard's own panels, beside the report's sections: what the run is doing now (its
phase and the prompt of its latest model call) and its budget gauges. Each is one
`<section>` of escaped HTML, re-rendered by the server when the run writes; the model's text
(the prompt shown) is escaped like every value from the run.

Contract: `now_panel` and `budget_panel` take an open `RunReader` of the run and its decoded
meta, never raise for a damaged or young run (what they cannot read is left out), and cost a
few aggregate queries, so the server can call them on every write.
"""

from __future__ import annotations

import time
from html import escape
from typing import Any

from selftaught.records import CallPrompt, CallTotals, Level
from selftaught.report.cells import num, section
from selftaught.store import RunReader, StoreError

PROMPT_CHARS = 6000  # of the latest prompt shown; the rest is in the run's lm_calls


def now_panel(reader: RunReader, meta: dict[str, Any]) -> str:
    """The run's phase, and what the model is being asked now."""
    try:
        marks = reader.marks()
        call = reader.latest_lm_call() if marks["lm_calls"] else None
        done = max((r.t for r in reader.iterations()), default=None)
    except (StoreError, ValueError, TypeError, KeyError):
        return section("now", "Now", '<p class="note">the run cannot be read yet</p>')
    return section("now", "Now", _phase(meta, done) + _prompt(call))


def _phase(meta: dict[str, Any], done: int | None) -> str:
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    planned = config.get("iterations")
    if meta.get("finished") is True:
        text = f"finished: {num(done)} of {num(planned)} iterations recorded"
    elif done is None:
        text = "t = 0: scoring the initial improver (its meta-utility)"
    else:
        text = (
            f"t = {done + 1} of {num(planned)}: the improver improves itself, and each "
            "candidate it tries is scored by the meta-utility"
        )
    return f'<p class="phase" id="phase">{escape(text)}</p>'


def _prompt(call: CallPrompt | None) -> str:
    if call is None:
        return '<p class="note">no model call yet</p>'
    age = max(0.0, time.time() - (call.created or 0.0))
    user = str(call.user or "")
    cut = ""
    if len(user) > PROMPT_CHARS:
        cut = f" (first {PROMPT_CHARS:,} of {len(user):,} characters)"
    return (
        f'<p class="note">latest model call: level {escape(str(call.level))}, scope '
        f"<code>{escape(str(call.scope))}</code>, {age:.0f} s ago{cut}</p>"
        f"<details open><summary>what the model is asked</summary>"
        f'<pre class="prompt" id="prompt">{escape(user[:PROMPT_CHARS])}</pre></details>'
        "<details><summary>its system prompt</summary>"
        f'<pre class="prompt">{escape(str(call.system or "")[:PROMPT_CHARS])}</pre>'
        "</details>"
    )


def budget_panel(reader: RunReader, meta: dict[str, Any]) -> str:
    """Per level, model calls, tokens, dollars and utility calls against their budgets; the
    run-wide caps against what was spent."""
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    try:
        usage = reader.usage_by_level()
        invocations = reader.invocation_levels()
        evaluations = reader.marks()["evaluations"]
        spent = reader.spent()
    except (StoreError, ValueError, TypeError, KeyError):
        return section("budgets", "Budgets", '<p class="note">the run cannot be read yet</p>')
    budgets = config.get("budgets") if isinstance(config.get("budgets"), dict) else {}
    caps = config.get("caps") if isinstance(config.get("caps"), dict) else {}
    return section(
        "budgets",
        "Budgets",
        _levels(usage, invocations, evaluations, budgets) + _caps(spent, caps),
    )


def _levels(
    usage: dict[str, CallTotals],
    invocations: dict[str, int],
    evaluations: int,
    budgets: dict[str, Any],
) -> str:
    """Meta level: the improver improving itself (one invocation per iteration), whose utility
    is the meta-utility; task level: the improvers the meta-utility runs on a task."""
    lm_budget = budgets.get("lm_calls")
    rows = []
    for level, utility_budget, utility_used, what in (
        (Level.STOP, budgets.get("meta_utility_calls"), None, "meta-utility calls"),
        (Level.META_UTILITY, budgets.get("utility_calls"), evaluations,
         "utility calls (evaluations)"),
    ):  # fmt: skip
        runs = invocations.get(level.value, 0)
        used = usage.get(level.call_level) or CallTotals(0, 0, 0, 0.0)
        calls_cap = lm_budget * runs if isinstance(lm_budget, int) and runs else None
        rows.append(
            f"<tr><th>{level.call_level}</th><td>{num(runs)}</td>"
            f"<td>{_gauge(used.calls, calls_cap)}</td>"
            f"<td>{num(used.tokens)}</td><td>{_dollars(used.cost)}</td>"
            f"<td>{escape(what)}: {_utility(utility_used, _times(utility_budget, runs))}</td></tr>"
        )
    head = (
        "<tr><th>level</th><th>invocations ended</th><th>model calls / budget</th>"
        "<th>tokens</th><th>dollars</th><th>utility / budget</th></tr>"
    )
    note = (
        f'<p class="note">Budgets per invocation: {num(lm_budget)} model calls, '
        f"{num(budgets.get('utility_calls'))} utility calls (task level), "
        f"{num(budgets.get('meta_utility_calls'))} meta-utility calls (meta level); a gauge "
        "counts them over the invocations that ended (a cached call counts, it is not paid).</p>"
    )
    body = "".join(rows)
    return f'<table class="data gauges"><thead>{head}</thead><tbody>{body}</tbody></table>{note}'


def _caps(spent: tuple[int, int, float], caps: dict[str, Any]) -> str:
    calls, tokens, dollars = spent
    cells = [
        ("paid model calls", _gauge(calls, caps.get("calls"))),
        ("paid tokens", _gauge(tokens, caps.get("tokens"))),
        ("dollars", _gauge(round(dollars, 4), caps.get("dollars"))),
    ]
    items = "".join(f'<div class="card"><div class="k">{k}</div><div class="v">{v}</div></div>'
                    for k, v in cells)  # fmt: skip
    return f'<h3>Run caps</h3><div class="cards">{items}</div>'


def _utility(used: int | None, cap: int | None) -> str:
    # The meta level's meta-utility calls are not recorded one by one (each runs many
    # invocations, some answered from the record): the budget is shown, not a guess of its use.
    if used is None:
        return f"budget {num(cap)}, use not recorded" if cap else "use not recorded"
    return _gauge(used, cap)


def _times(budget: Any, runs: int) -> int | None:
    return budget * runs if isinstance(budget, int) and runs else None


def _dollars(value: Any) -> str:
    return "–" if not isinstance(value, int | float) else f"${value:.4f}"


def _gauge(used: Any, cap: Any) -> str:
    """`used / cap` with a bar, or `used` alone (no cap)."""
    if not isinstance(cap, int | float) or cap <= 0:
        return f'{num(used)} <span class="note">(no cap)</span>' if used is not None else "–"
    share = min(1.0, (used or 0) / cap)
    level = "full" if share >= 1.0 else "high" if share >= 0.8 else "ok"
    return (
        f'{num(used)} / {num(cap)} <meter class="gauge {level}" min="0" max="1" '
        f'value="{share:.3f}"></meter>'
    )
