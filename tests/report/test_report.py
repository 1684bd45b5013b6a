"""`selftaught.report`: a self-contained page from a real run, and from damaged ones."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
import tomllib
from html import unescape
from pathlib import Path

import pytest
import report_runs as support
from conftest import run_cli, stored
from hostile import hostile_run
from report_runs import PLANTED, copy_run, killed_after_t0, planted_run

from selftaught import improvers
from selftaught.config import build_config
from selftaught.config_file import load_config_file
from selftaught.records import RECORD_PURPOSE, RepetitionScore
from selftaught.report import build_report, load_run, write_report
from selftaught.report.command import reproduce_command
from selftaught.report.diff import side_by_side
from selftaught.report.lineage import build_lineage, guess_strategy
from selftaught.stats import mean_interval as interval
from selftaught.store import RunStore, StoreError

finished_run = support.finished_run
safety_run = support.safety_run


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
    shas |= {r.candidate_sha256 for r in data.iterations if r.candidate_sha256}
    assert set(lineage.nodes) == shas
    # t=2 proposed its incumbent unchanged: no second node, a note on the existing one.
    adopted = data.iterations[1].improver_sha256
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
    db = sqlite3.connect(run / "run.db")  # raw: a database with tables missing, made on purpose
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


@pytest.mark.parametrize("plant", ["texts", "numbers", "keys"])
def test_markup_planted_in_every_stored_field_is_inert(
    finished_run: Path, tmp_path: Path, plant: str
) -> None:
    """A run directory received from someone else: whatever it holds, the report shows as
    text. Every stored string (and number) of a real run is replaced by markup."""
    run = planted_run(
        finished_run, tmp_path / "planted", numbers=plant == "numbers", keys=plant == "keys"
    )
    store = RunStore.open_run(run, create=False)  # events and evaluation rows of every shape
    store.record_event("static:exec", PLANTED, {"line": PLANTED, "detail": PLANTED})
    store.close()
    done = run_cli("report", str(run), "-o", str(tmp_path / "report.html"))
    assert done.returncode == 0, done.stderr[-2000:]
    html = (tmp_path / "report.html").read_text()
    assert "<script>pwn(" not in html and "<img src=x" not in html
    assert "&lt;script&gt;pwn(" in html  # shown, as text


EVALUATOR = """
import importlib.util
SELFTAUGHT_OPTIONS = {"name": "echo", "instance_seconds": 5.0, "val_runs": 2, "test_runs": 1}

def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    return program.metrics()
"""
SOLUTION = """def metrics():
    return {"note": "a", "value": 2, "artifacts": {"log": "b"}, "combined_score": 0.5}
"""
IMPROVER = """def improve_algorithm(initial_solution, utility, language_model):
    exec("x = 1")
    utility(initial_solution)
    raise RuntimeError("it failed")
"""


def test_markup_planted_in_an_evaluator_form_run_with_events_is_inert(tmp_path: Path) -> None:
    """The same, for a run with what the scripted run lacks: an evaluator's metrics and
    artifacts per instance, failed invocations, safety events with their evidence."""
    task = tmp_path / "task"
    task.mkdir()
    (task / "evaluator.py").write_text(EVALUATOR)
    (task / "initial_program.py").write_text(SOLUTION)
    args = ("--iterations", "1", "--repetitions", "1")
    done, run_dir = hostile_run(
        tmp_path, solution=SOLUTION, improver=IMPROVER, task=str(task), args=args
    )
    assert done.returncode == 0, done.stderr[-2000:]
    keep = ("split", "status", "level", "kind")
    run = planted_run(run_dir, tmp_path / "planted", numbers=False, keys=False, keep=keep)
    done = run_cli("report", str(run), "-o", str(tmp_path / "report.html"))
    assert done.returncode == 0, done.stderr[-2000:]
    html = (tmp_path / "report.html").read_text()
    assert "<script>pwn(" not in html and "<img src=x" not in html
    assert html.count("&lt;script&gt;pwn(") > 20  # shown, as text, in many places
    assert "not shown" not in html  # every section rendered, the metrics table too
    assert "the evaluator&#x27;s metrics and artifacts" in html or "metrics and artifacts" in html


def test_the_report_says_where_evaluations_ran(tmp_path: Path) -> None:
    store = RunStore.open_run(tmp_path, create=True)
    result = {"score": 0.5, "instances": [], "seconds": 0.1, "layers": [], "failure": None}
    for i, node in enumerate(["192.0.2.2/ab12cd34", "192.0.2.2/ab12cd34", "local", None]):
        store.put_evaluation(f"{i}" * 64, "lpn", "val", 1, result | {"node": node})
    store.close()
    html = unescape(re.sub(r"<[^>]+>", "", build_report(tmp_path)))
    assert (
        "Where they ran: 192.0.2.2/ab12cd34: 2; local: 1; "
        "not recorded (an older selftaught): 1." in html
    )


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
    requests = stored(finished_run, "lm_calls", "request")
    scopes = {json.loads(row["request"])["scope"] for row in requests}
    assert any(scope.count("/") == 2 for scope in scopes)  # "t=1/lpn/0": one invocation
    assert {row.scope for row in data.lm_by_scope} == {s.split("/")[0] for s in scopes}
    assert data.lm_totals and sum(row.calls for row in data.lm_by_scope) == data.lm_totals.calls


def _reproduce_toml(html: str) -> str:
    found = re.search(r'<pre class="toml" id="reproduce-toml">(.*?)</pre>', html, re.S)
    assert found, "no config file in the report"
    return unescape(found.group(1))


def test_report_gives_the_config_file_that_reruns_the_run(
    finished_run: Path, tmp_path: Path
) -> None:
    html = build_report(finished_run)
    assert "run <code>selftaught run --config reproduce.toml</code>" in html
    path = tmp_path / "reproduce.toml"
    path.write_text(_reproduce_toml(html), encoding="utf-8")
    config = build_config(file=load_config_file(path))
    assert config.model_dump(mode="json") == load_run(finished_run).config


def test_config_file_in_the_report_is_escaped(tmp_path: Path) -> None:
    evil = '</pre><script>alert(1)</script> & "q" \\ ü'
    config = build_config(model_options=(f"extra_body={json.dumps({'x': evil})}",))
    store = RunStore.open_run(tmp_path, create=True)
    store.set_meta("config", config.model_dump(mode="json"))
    store.close()
    html = build_report(tmp_path)
    assert "<script>alert(1)" not in html
    assert tomllib.loads(_reproduce_toml(html))["model_options"]["extra_body"] == {"x": evil}


def test_a_config_that_cannot_be_written_says_why(tmp_path: Path) -> None:
    config = build_config(model_options=('extra_body={"stop": null}',))
    store = RunStore.open_run(tmp_path, create=True)
    store.set_meta("config", config.model_dump(mode="json"))
    store.close()
    html = build_report(tmp_path)
    assert 'id="reproduce-toml"' not in html
    assert "cannot be written as a config file: model_options.extra_body.stop" in html


def test_reproduce_command_sets_flags_caps_and_model_options() -> None:
    config = build_config(
        sandbox_warning=True,
        sandbox_flag=True,
        secret_seeds=True,
        concurrency=2,
        cache_from="/runs/old run",
        caps={"calls": 10, "dollars": 2.5},
        limits={"improver_seconds": 30.0},
        responses_per_call=5,
        model_options=('extra_body={"top_k": 40}',),
    )
    command, notes = reproduce_command(config.model_dump(mode="json"))
    assert command.endswith(
        "--responses-per-call 5 --sandbox-warning --secret-seeds --concurrency 2 "
        "--cache-from '/runs/old run' "
        "--max-lm-calls 10 --max-dollars 2.5 --model-option 'extra_body={\"top_k\": 40}'"
    )
    assert notes[0] == (
        "limit improver_seconds = 30.0 differs from its default (120.0); "
        "the command line cannot set it"
    )
    assert len(notes) == 2 and notes[1].startswith("secret_seeds: a new run draws a new secret")


def test_reproduce_command_reruns_a_run_with_the_sandbox_flag(
    safety_run: Path, tmp_path: Path
) -> None:
    recorded = load_run(safety_run).config
    assert recorded["sandbox_warning"] is True
    command, notes = reproduce_command(recorded)
    assert notes == []
    rerun = tmp_path / "rerun"
    result = run_cli(*shlex.split(command)[1:], "--run-dir", str(rerun), timeout=300)
    assert result.returncode == 0, result.stderr
    assert load_run(rerun).config == recorded


OWN_SCALE_SOLUTION = """def metrics():
    return {"combined_score": 2.5}
"""
KEEP = """def improve_algorithm(initial_solution, utility, language_model):
    return initial_solution
"""


def _plot(html: str, title: str) -> str:
    start = html.index(f"<title>{title}</title>")
    return html[start : html.index("</svg>", start)]


def test_a_run_records_where_its_utilities_live_and_the_report_charts_on_that_scale(
    tmp_path: Path, finished_run: Path
) -> None:
    """An evaluator without a score_range scores on its own scale (here 2.5): the run says so,
    and the report's û chart reaches 2.5 instead of cutting it off at 1."""
    task = tmp_path / "task"
    task.mkdir()
    (task / "evaluator.py").write_text(EVALUATOR)
    (task / "initial_program.py").write_text(OWN_SCALE_SOLUTION)
    done, run_dir = hostile_run(
        tmp_path, solution=OWN_SCALE_SOLUTION, improver=KEEP, task=str(task)
    )
    assert done.returncode == 0, done.stderr[-2000:]
    meta = {row["key"]: json.loads(row["value"]) for row in stored(run_dir, "meta", "key", "value")}
    assert meta["utility_bounds"] is None
    # The improvers' solutions scored 2.5 and û says so: not 0 for leaving [0, 1].
    assert {row["val"] for row in stored(run_dir, "meta_utilities", "val")} == {2.5}
    assert "utility_out_of_range" not in {row["kind"] for row in stored(run_dir, "events", "kind")}
    assert load_run(finished_run).meta["utility_bounds"] == [0.0, 1.0]  # lpn: a utility
    own, unit = (
        _plot(build_report(run_dir), "meta-utility per iteration"),
        _plot(build_report(finished_run), "meta-utility per iteration"),
    )
    assert ">2.5</text>" in own and ">2.5</text>" not in unit and ">1</text>" in unit


def _run_with_meta_utility(run_dir: Path, values: list[float], bounds: object) -> Path:
    """A run database holding one improver whose meta-utility repetitions scored `values`;
    `bounds`: its recorded utility_bounds, or ... for a run recorded before there were any."""
    store = RunStore.open_run(run_dir, create=True)
    improver = store.put_program(KEEP, "improver")
    store.set_meta("initial_improver", improver)
    if bounds is not ...:
        store.set_meta("utility_bounds", bounds)
    runs = [RepetitionScore("task", i, True, v, v).to_dict() for i, v in enumerate(values)]
    mean = sum(values) / len(values)
    store.put_meta_utility(improver, RECORD_PURPOSE, mean, mean, {"runs": runs})
    store.close()
    return run_dir


def test_meta_utility_intervals_are_clipped_to_0_1_only_where_utilities_live_there(
    tmp_path: Path,
) -> None:
    def node_interval(values: list[float], bounds: object, name: str):
        data = load_run(_run_with_meta_utility(tmp_path / name, values, bounds))
        (node,) = build_lineage(data).nodes.values()
        return data.utility_bounds, node.val_interval

    spread = [0.0, 0.1, 0.9]  # a t interval whose low end is below 0
    assert node_interval(spread, [0.0, 1.0], "unit") == ((0.0, 1.0), interval(spread))
    assert node_interval(spread, [0.0, 1.0], "unit2")[1].low == 0.0
    own = node_interval(spread, None, "own")
    assert own[0] is None and own[1].low < 0 and own[1] == interval(spread, within=None)
    above = [1.1, 1.3, 1.2]  # function_minimization's scale: above 1
    assert node_interval(above, None, "above")[1].high > 1.3
    # A run recorded before runs said where their utilities live: read off its values.
    assert node_interval(above, ..., "old-above") == (None, interval(above, within=None))
    assert node_interval(spread, ..., "old-unit") == ((0.0, 1.0), interval(spread))
