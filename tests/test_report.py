"""`selftaught.report`: a self-contained page from a real run, and from damaged ones."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import test_report_support as support
from test_report_support import copy_run, killed_after_t0

from selftaught import improvers
from selftaught.report import build_report, load_run, write_report
from selftaught.report.command import reproduce_command
from selftaught.report.diff import side_by_side
from selftaught.report.lineage import build_lineage, guess_strategy
from selftaught.report.stats import interval
from selftaught.store import RunStore, StoreError

finished_run = support.finished_run


def test_report_of_a_finished_run_is_self_contained(finished_run: Path) -> None:
    html = build_report(finished_run)
    assert html.startswith("<!DOCTYPE html>")
    # Nothing is fetched: no external script, style, image or font.
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", html)
    assert "@import" not in html and "url(" not in html
    assert html.count('<svg class="plot"') >= 4
    assert 'id="partial"' not in html and "finished" in html
    assert "selftaught run --task lpn --preset quick --iterations 2 --model" in html
    assert 'class="diff hl"' in html  # t=1 adopted a new improver: its diff is there
    assert "Best solution for lpn" in html


def test_lineage_has_one_node_per_improver(finished_run: Path) -> None:
    data = load_run(finished_run)
    lineage = build_lineage(data)
    shas = {data.meta["initial_improver"]}
    shas |= {r["candidate_sha256"] for r in data.iterations if r["candidate_sha256"]}
    assert set(lineage.nodes) == shas
    # t=2 proposed its incumbent unchanged: no second node, a note on the existing one.
    adopted = data.iterations[1]["improver_sha256"]
    assert lineage.nodes[adopted].parent == data.meta["initial_improver"]
    assert lineage.nodes[adopted].status == "adopted"
    assert [(p.sha, c.sha) for p, c in lineage.adopted_pairs()] == [
        (data.meta["initial_improver"], adopted)
    ]


def test_write_report_defaults_into_the_run_directory(finished_run: Path, tmp_path: Path) -> None:
    run = copy_run(finished_run, tmp_path / "copy")
    assert write_report(run) == run / "report.html"
    out = write_report(run, tmp_path / "elsewhere" / "r.html")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in run.iterdir()) == ["report.html", "run.db"]  # no -wal litter


def test_run_killed_after_t0_gives_a_partial_report(finished_run: Path, tmp_path: Path) -> None:
    run = killed_after_t0(finished_run, tmp_path / "killed")
    data = load_run(run)
    assert any("after t=0 of 2" in p for p in data.partial)
    html = build_report(run)
    assert 'id="partial"' in html and "has not finished" in html
    # The candidate of t=1 was proposed and stored before the kill: it shows, unscored.
    lineage = build_lineage(data)
    assert any(n.status == "unscored" for n in lineage.nodes.values())


def test_missing_tables_give_a_partial_report(tmp_path: Path) -> None:
    run = tmp_path / "half"
    run.mkdir()
    db = sqlite3.connect(run / "run.db")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute('INSERT INTO meta VALUES (\'config\', \'{"task": "lpn", "iterations": 3}\')')
    db.execute("CREATE TABLE iterations (t INTEGER PRIMARY KEY, record TEXT, created REAL)")
    db.execute("INSERT INTO iterations VALUES (0, 'not json', 0)")
    db.commit()
    db.close()
    html = build_report(run)
    assert "tables missing from run.db: programs" in html
    assert "no iteration was recorded" in html


def test_empty_database_file_gives_a_partial_report(tmp_path: Path) -> None:
    (tmp_path / "run.db").write_bytes(b"")
    assert "tables missing" in build_report(tmp_path)


def test_garbage_bytes_raise_one_line_store_error(tmp_path: Path) -> None:
    (tmp_path / "run.db").write_bytes(b"\x00garbage, not sqlite\xff" * 200)
    with pytest.raises(StoreError) as info:
        build_report(tmp_path)
    assert "\n" not in str(info.value) and "not a usable run database" in str(info.value)
    with pytest.raises(StoreError, match="no run database"):
        build_report(tmp_path / "nowhere")


def test_untrusted_text_is_escaped(tmp_path: Path) -> None:
    store = RunStore.open_run(tmp_path, create=True)
    evil = 'def improve_algorithm(s, u, l):\n    return "</script><script>alert(1)</script>"\n'
    sha = store.put_program(evil, "improver")
    store.set_meta("initial_improver", sha)
    store.record_event("static:<b>kind</b>", sha, {"line": 2, "detail": "<img src=x>"})
    store.close()
    html = build_report(tmp_path)
    assert "<script>alert(1)" not in html and "<img src=x>" not in html
    assert "&lt;img src=x&gt;" in html


def test_strategy_guesses_name_the_builtin_improvers() -> None:
    expected = {
        "beam_search": "beam search",
        "genetic": "genetic",
        "annealing": "simulated annealing",
        "ucb": "bandit",
        "prompt_bandit": "bandit",
        "epsilon_greedy": "epsilon-greedy",
        "temperature_sweep": "temperature sweep",
        "decompose": "decomposition",
        "hints": "hints",
        "seed": "sample and keep the best",
    }
    for name, label in expected.items():
        assert label in guess_strategy(improvers.builtin_source(name)), name
    assert guess_strategy("def (") == "does not parse"


def test_interval_and_diff_helpers() -> None:
    assert interval([0.5]) is None
    iv = interval([0.2, 0.4, 0.6])
    assert iv is not None and iv.low < 0.4 < iv.high and 0.0 <= iv.low and iv.high <= 1.0
    html = side_by_side("a = 1\nb = 2\n", "a = 1\nb = 3\n", old_title="old", new_title="new")
    assert 'class="del"' in html.replace("old del", "del") and "add" in html


def test_reproduce_command_keeps_every_option() -> None:
    command, notes = reproduce_command(
        {
            "task": "lpn",
            "preset": "paper",
            "iterations": 3,
            "model": "openai:gpt 4",
            "seed": 7,
            "gate": "paper",
            "improver": "my impr.py",
            "sandbox": "subprocess",
            "budgets": {"repetitions": 2, "lm_calls": 9},
        }
    )
    assert command == (
        "selftaught run --task lpn --preset paper --iterations 3 --model 'openai:gpt 4' "
        "--seed 7 --gate paper --improver 'my impr.py' --repetitions 2 --sandbox subprocess"
    )
    assert any("lm_calls" in n for n in notes) and any("my impr.py" in n for n in notes)


def test_lm_usage_by_scope_counts_each_invocation_under_its_iteration(
    finished_run: Path,
) -> None:
    data = load_run(finished_run)
    db = sqlite3.connect(finished_run / "run.db")
    scopes = {r[0] for r in db.execute("SELECT json_extract(request, '$.scope') FROM lm_calls")}
    db.close()
    assert any(scope.count("/") == 2 for scope in scopes)  # "t=1/lpn/0": one invocation
    assert {row["scope"] for row in data.lm_by_scope} == {s.split("/")[0] for s in scopes}
    assert sum(row["calls"] for row in data.lm_by_scope) == data.lm_totals["calls"]
