"""The "solutions" of a run (issue 24): the seed solution's val and test scores beside the
best solution the improvers returned, in `--json`, in the console's last lines, in the
report and in the Python API; all from one real run with a scripted model."""

from __future__ import annotations

import re

import pytest
from conftest import SCRIPTED, last_json, run_cli, stored
from stop_world import BRUTE_FORCE, MAJORITY

from selftaught.store import RunReader, sha256
from selftaught.tasks import resolve_task


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A one-iteration STOP run: t = 0 returns MAJORITY, the adopted improver BRUTE_FORCE."""
    run_dir = tmp_path_factory.mktemp("solutions") / "run"
    done = run_cli(
        "run", "--iterations", "1", "--repetitions", "1", "--model", SCRIPTED,
        "--run-dir", str(run_dir), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return run_dir, done


def evaluated(tmp_path, source: str, split: str) -> float:
    """`selftaught evaluate` of `source` on lpn: the score a person would get by hand."""
    path = tmp_path / f"solution_{sha256(source)[:8]}.py"
    path.write_text(source)
    done = run_cli("evaluate", "--task", "lpn", "--solution", str(path), "--split", split, "--json")
    assert done.returncode == 0, done.stderr
    return last_json(done.stdout)["score"]


def test_json_has_the_seed_and_the_best_returned_solution(finished, tmp_path):
    _run_dir, done = finished
    solutions = last_json(done.stdout)["solutions"]
    assert set(solutions) == {"lpn"}
    scores = solutions["lpn"]
    seed = resolve_task("lpn").seed_solution
    assert scores["seed_val"] == evaluated(tmp_path, seed, "val")
    assert scores["seed_test"] == evaluated(tmp_path, seed, "test")
    with RunReader.open(finished[0]) as reader:  # the better of the two solutions returned
        brute = reader.get_program(reader.best_returned_solution("lpn"))
    assert brute.strip() == BRUTE_FORCE.format(flip="").strip()
    assert scores["best_val"] == evaluated(tmp_path, brute, "val") > 0.9
    assert scores["best_test"] == evaluated(tmp_path, brute, "test") > 0.9
    assert scores["best_val"] > evaluated(tmp_path, MAJORITY, "val")
    assert scores["seed_test"] < scores["best_test"]


def test_the_seed_solution_is_evaluated_once_per_split(finished):
    run_dir, _ = finished
    seed = sha256(resolve_task("lpn").seed_solution)
    rows = [r for r in stored(run_dir, "evaluations", "program", "split") if r["program"] == seed]
    assert sorted(r["split"] for r in rows) == ["test", "val"]


def test_the_console_says_it_in_words(finished):
    _run_dir, done = finished
    scores = last_json(done.stdout)["solutions"]["lpn"]
    last = done.stderr.strip().splitlines()[-1]  # with --json, the words go to stderr
    match = re.fullmatch(
        r"lpn: best solution ([\d.]+) test, seed solution ([\d.]+) \(on val ([\d.]+) and "
        r"([\d.]+)\)",
        last,
    )
    assert match, last
    shown = [float(x) for x in match.groups()]
    wanted = [scores[k] for k in ("best_test", "seed_test", "best_val", "seed_val")]
    assert shown == pytest.approx(wanted, abs=0.005)


def test_the_report_and_the_api_show_both(finished):
    import selftaught

    run_dir, done = finished
    scores = last_json(done.stdout)["solutions"]["lpn"]
    with RunReader.open(run_dir) as reader:
        (row,) = reader.solution_scores()
        best = reader.get_program(row.best_program)
    assert row.to_dict() == scores
    assert best.strip() == BRUTE_FORCE.format(flip="").strip()
    assert selftaught.Run(run_dir).solutions["lpn"].to_dict() == scores
    made = run_cli("report", str(run_dir), "-o", str(run_dir / "r.html"))
    assert made.returncode == 0, made.stderr
    html = (run_dir / "r.html").read_text()
    table = html.split('class="data seed-best"')[1].split("</table>")[0]
    cells = re.findall(r"<td>(.*?)</td>", table)
    assert cells[0] == "lpn"
    assert cells[1:5] == [f"{scores[k]:.3f}" for k in ("seed_val", "seed_test", "best_val",
                                                       "best_test")]  # fmt: skip
    assert f"seed solution: val {scores['seed_val']:.3f}, test {scores['seed_test']:.3f}" in html


def test_when_the_meta_utility_did_not_rise_the_console_says_why(tmp_path):
    """The model's improver at t = 1 pastes the meta-utility's import and fails: the last line
    says that û did not rise, and why, from the run's own candidates."""
    done = run_cli(
        "run", "--iterations", "1", "--repetitions", "1", "--model", SCRIPTED,
        "--improver", "seed", "--run-dir", str(tmp_path / "run"), "--json",
        env={"SCRIPTED_HINT": "paste"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line == last_json(done.stdout)["stall"]
    assert line.startswith("û did not rise by t = 1: of the 1 improver the model wrote, 1 failed ")
    assert "No module named 'algorithm'" in line
    assert "; 1 pasted the meta-utility's code;" in line
    assert "0 ran but returned no better solutions" in line


def test_when_it_rose_there_is_no_such_line(finished):
    _run_dir, done = finished
    assert last_json(done.stdout)["stall"] is None
    assert "did not rise" not in done.stderr


def test_an_improvers_best_below_the_seed_solution_is_said_to_be_below_it(tmp_path):
    """The paper's seed improver returns its best candidate even when it is worse than the
    solution it was given: the console must not call that the run's best without saying so."""
    from hostile import hostile_run  # a model whose every solution returns 0 on lpn

    done, _run_dir = hostile_run(tmp_path, args=("--iterations", "0", "--repetitions", "1"))
    assert done.returncode == 0, done.stderr[-2000:]
    [line] = [x for x in done.stderr.splitlines() if x.startswith("lpn: ")]
    found = re.fullmatch(
        r"lpn: the improvers' best solution, below the seed solution on val, ([\d.]+) test, "
        r"seed solution ([\d.]+) \(on val ([\d.]+) and ([\d.]+)\)",
        line,
    )
    assert found, line
    best_test, seed_test, best_val, seed_val = map(float, found.groups())
    assert best_val < seed_val and best_test < seed_test
