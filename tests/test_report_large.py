"""A long run's report stays small: rows are capped or aggregated, never embedded wholesale."""

from __future__ import annotations

import time
from pathlib import Path

from test_report_support import synthetic_store

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
    assert data.lm_totals["calls"] == 3_000 and data.event_total == 2_000
    assert sum(r["count"] for r in data.evaluation_totals) == 10_000
