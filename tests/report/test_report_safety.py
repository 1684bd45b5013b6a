"""The report's safety events per iteration: counted in SQL, per t and family of kinds."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import report_runs as support
from report_runs import events_store

from selftaught.report import build_report, load_run
from selftaught.store import RunReader

finished_run = support.finished_run
safety_run = support.safety_run


def _per_t_table(html: str) -> tuple[list[str], list[list[str]]]:
    """Headers and rows (cell texts) of the "safety events per iteration" table."""
    found = re.search(r'<table class="data events-per-t">(.*?)</table>', html)
    assert found, "no per-iteration table"
    headers = re.findall(r"<th>(.*?)</th>", found.group(1))
    rows = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", found[1])]
    return headers, [row for row in rows if row]


def _hand_made_events() -> list[tuple[str, dict | str]]:
    return [
        *[("static:import", {"t": 0, "line": 1, "detail": "subprocess"})] * 3,
        ("static:call", {"t": 0, "line": 2, "detail": "os.system"}),
        *[("audit", {"t": 0, "event": "os.system"})] * 2,
        *[("use_sandbox_false", {"t": 1, "uses": 1})] * 2,
        ("lm_budget_exceeded", {"t": 1, "messages": 1}),
        ("utility_budget_exceeded", {"t": 1, "uses": 4, "budget": 3}),
        ("handle_setattr", {"t": 1, "attribute": "budget"}),
        ("brand_new_kind", {"t": 1}),
        ("STATIC:import", {"t": 1}),  # not the "static:" prefix: SQL LIKE would fold the case
        ("val_test_gap", {"t": 10, "subject": "improver"}),
        ("refused_syscall", {"t": 2, "status": "sandbox_violation"}),
        ("unknown_method", {"t": 2, "method": "peek"}),
        ("utility_out_of_range", {"t": 2, "score": "nan"}),
        *[("static:import", {"line": 1, "detail": "ctypes"})] * 2,  # scanned before t=0
        ("audit", "not json"),  # a damaged row still counts, in the row without a t
    ]


def test_hand_made_events_are_counted_per_iteration_and_family(tmp_path: Path) -> None:
    run = events_store(tmp_path / "run", _hand_made_events())
    data = load_run(run)
    families = [
        "static scan",
        "audit hook",
        "refused system call",
        "use_sandbox=False",
        "budget spent",
        "handle attribute set",
        "unknown handle method",
        "utility out of [0, 1]",
        "val/test gap",
        "other",
    ]
    assert data.event_families == families
    assert [(r.t, r.counts) for r in data.event_iterations] == [
        (0, {"static scan": 4, "audit hook": 2}),
        (
            1,
            {
                "use_sandbox=False": 2,
                "budget spent": 2,
                "handle attribute set": 1,
                "other": 2,
            },
        ),
        (
            2,
            {
                "refused system call": 1,
                "unknown handle method": 1,
                "utility out of [0, 1]": 1,
            },
        ),
        (10, {"val/test gap": 1}),  # 10 after 2: t sorts as a number
        (None, {"static scan": 2, "audit hook": 1}),
    ]
    headers, rows = _per_t_table(build_report(run))
    assert headers == ["t", *families, "all"]
    assert rows == [
        ["0", "4", "2", "0", "0", "0", "0", "0", "0", "0", "0", "6"],
        ["1", "0", "0", "0", "2", "2", "1", "0", "0", "0", "2", "7"],
        ["2", "0", "0", "1", "0", "0", "0", "1", "1", "0", "0", "3"],
        ["10", "0", "0", "0", "0", "0", "0", "0", "0", "1", "0", "1"],
        ["–", "2", "1", "0", "0", "0", "0", "0", "0", "0", "0", "3"],
    ]


def test_a_run_without_events_has_no_per_iteration_table(finished_run: Path) -> None:
    with RunReader.open(finished_run) as reader:
        assert (
            reader.count("events") == 0
        )  # the scripted run is clean: the note, not an empty table
    data = load_run(finished_run)
    assert data.event_iterations == [] and data.event_families == []
    html = build_report(finished_run)
    assert "no safety event was recorded" in html and "events-per-t" not in html


def test_real_events_per_iteration_match_the_recorded_rows(safety_run: Path) -> None:
    with RunReader.open(safety_run) as reader:
        rows = [(event.kind, event.detail.get("t")) for event in reader.events()]
    per_t = Counter(t for _, t in rows)
    static = Counter(t for kind, t in rows if kind.startswith("static:"))
    flag_off = Counter(t for kind, t in rows if kind == "use_sandbox_false")
    data = load_run(safety_run)
    assert [r.t for r in data.event_iterations] == sorted(per_t, key=lambda t: (t is None, t))
    for row in data.event_iterations:
        t, counts = row.t, row.counts
        assert sum(counts.values()) == per_t[t]
        assert counts.get("static scan", 0) == static[t]
        assert counts.get("use_sandbox=False", 0) == flag_off[t]
    during = next(r.counts for r in data.event_iterations if r.t == 1)
    for family in ("use_sandbox=False", "budget spent", "refused system call", "static scan"):
        assert during.get(family, 0) >= 1, family  # the attempts happened in iteration 1
    headers, table = _per_t_table(build_report(safety_run))
    assert headers == ["t", *data.event_families, "all"]
    assert [int(r[-1]) for r in table] == [per_t[r.t] for r in data.event_iterations]
