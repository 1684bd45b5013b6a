"""A long run's report stays small: rows are capped or aggregated, never embedded wholesale."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import run_cli
from report_runs import long_lineage_store, many_events_store, synthetic_store

from selftaught.report import build_report, load_run


def test_report_of_10000_evaluations_stays_small(tmp_path: Path) -> None:
    run = synthetic_store(tmp_path / "big", evaluations=10_000, lm_calls=3_000, events=2_000)
    started = time.perf_counter()
    html = build_report(run)
    print(
        f"report of 10,000 evaluations: {len(html) / 1e6:.2f} MB "
        f"in {time.perf_counter() - started:.2f} s"
    )
    assert len(html.encode("utf-8")) < 3_000_000
    assert "10,000" in html or "5,000" in html  # totals are exact though rows are capped
    assert "more events not shown" in html
    data = load_run(run)
    assert len(data.lm_calls) <= 401 and len(data.evaluation_series) <= 400
    assert data.lm_totals and data.lm_totals.calls == 3_000 and data.event_total == 2_000
    assert sum(r.count for r in data.evaluation_totals) == 10_000


def test_100000_events_are_counted_per_iteration_in_sql(tmp_path: Path) -> None:
    kinds = ["static:import", "audit", "use_sandbox_false", "lm_budget_exceeded"]
    run = many_events_store(tmp_path / "events", 100_000, kinds, iterations=40)
    data = load_run(run)
    # The counts cover every event, though the rows listed are capped (one GROUP BY in SQL).
    assert data.event_total == 100_000 and len(data.events) == 1_000
    assert [r.t for r in data.event_iterations] == list(range(40))
    # Event i has t = i % 40 and kind i % 4: each t gets 2,500 events, all of kinds t % 4.
    for row in data.event_iterations:
        family = ["static scan", "audit hook", "use_sandbox=False", "budget spent"]
        assert row.counts == {family[row.t % 4]: 2_500}
    assert len(build_report(run).encode("utf-8")) < 3_000_000


def test_the_report_of_a_1000_adoption_run(tmp_path: Path) -> None:
    """Every lineage walk is iterative: a spine of 1,001 improvers (deeper than Python's
    recursion limit) is reported, through the real command, not a RecursionError."""
    run = long_lineage_store(tmp_path / "long", adoptions=1_000)
    done = run_cli("report", str(run), "-o", str(tmp_path / "report.html"))
    assert done.returncode == 0, done.stderr[-2000:]
    html = (tmp_path / "report.html").read_text()
    assert "version 1000" in html and "t=1000" in html
    # The lineage lists every improver; the diffs are the latest 50, the rest counted.
    assert "950 more earlier adoptions&#x27; diffs not shown (of 1,000)" in html
    assert len(html.encode("utf-8")) < 3_000_000
