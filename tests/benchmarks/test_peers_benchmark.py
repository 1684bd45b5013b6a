"""benchmarks/peers: the logic the side-by-side benchmark rests on, without OpenEvolve or a model.

- the selftaught budgets never allow more model calls than the budget OpenEvolve gets;
- the OpenEvolve evaluator generated from one of our tasks scores with our scorer and our
  sandbox's seeds: a solution gets exactly `selftaught evaluate`'s val utility, a failing
  program 0 with its reason;
- the counting proxy counts what a real loopback server answered;
- results.json's schema is the issue's.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from selftaught.tasks import get_task

PEERS = Path(__file__).resolve().parents[2] / "benchmarks" / "peers"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"peers_{name}", PEERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


adapters = _load("adapters")
proxy = _load("proxy")


@pytest.mark.parametrize("budget", range(4, 41))
def test_no_selftaught_row_can_spend_more_calls_than_the_budget(budget):
    shapes = adapters.shapes(budget, "ucb")
    assert set(shapes) == {"selftaught-seed", "selftaught"}
    for shape in shapes.values():
        assert shape.iterations >= 1
        assert shape.most_calls <= budget
        one_more = dataclasses.replace(shape, iterations=shape.iterations + 1)
        assert one_more.most_calls > budget  # as many iterations as fit


def test_the_library_improver_measures_its_candidate_once_the_budget_allows():
    assert adapters.shapes(4, "ucb")["selftaught"].meta_utility_calls == 1
    assert adapters.shapes(5, "ucb")["selftaught"].meta_utility_calls == 2
    with pytest.raises(ValueError, match="too small"):
        adapters.shapes(3, "ucb")  # t = 0, the proposal, one measurement, the record: 4


def test_the_bound_counts_every_meta_utility_of_an_iteration():
    # t = 0 (2 repetitions x 2 calls x 3 responses = 12); per iteration: the proposal (6),
    # two measurements (2 x 12) and the candidate's record meta-utility (12).
    shape = adapters.Shape("ucb", 2, 2, 2, 3, 9, 2)
    assert shape.most_calls == 12 + 2 * (6 + 24 + 12)


def _generated_evaluate(tmp_path: Path, task_name: str):
    task = get_task(task_name)
    root = Path(__file__).resolve().parents[2]
    where = adapters.write_openevolve_task(
        tmp_path / task_name, task_name, task.seed_solution, task.description, str(root / "src")
    )
    spec = importlib.util.spec_from_file_location(f"gen_{task_name}", where / "evaluator.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return where, module.evaluate


def test_the_generated_evaluator_gives_the_seed_our_val_utility(tmp_path):
    task = get_task("string_grid")
    split = task.splits["val"]
    instances = [task.instance(split.first_seed + i) for i in range(split.size)]
    # The seed returns t unchanged: score that output with our scorer, independently.
    expected = sum(task.score(inst, inst.inputs[0])[0] for inst in instances) / len(instances)
    where, evaluate = _generated_evaluate(tmp_path, "string_grid")
    metrics = evaluate(str(where / "initial_program.py"))
    metrics = getattr(metrics, "metrics", metrics)  # EvaluationResult where OpenEvolve is there
    assert metrics["combined_score"] == pytest.approx(expected)
    assert 0.3 < expected < 0.6
    assert metrics["instances_scored"] == split.size
    assert (where / "evaluations.log").read_text() == "1\n"


def test_the_generated_evaluator_draws_what_selftaught_evaluate_draws(tmp_path):
    """LPN's seed guesses at random: the two agree only if the candidate's randomness is
    seeded as our sandbox seeds it."""
    from conftest import last_json, run_cli

    where, evaluate = _generated_evaluate(tmp_path, "lpn")
    program = where / "initial_program.py"
    result = evaluate(str(program))
    ours = getattr(result, "metrics", result)["combined_score"]
    done = run_cli("evaluate", "--task", "lpn", "--solution", str(program), "--split", "val",
                   "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert ours == pytest.approx(last_json(done.stdout)["score"])
    assert ours != pytest.approx(0.5)  # random guessing, not a constant


def test_a_failing_program_scores_zero_with_its_reason(tmp_path):
    where, evaluate = _generated_evaluate(tmp_path, "string_grid")
    bad = tmp_path / "bad.py"
    bad.write_text("def algorithm(t, dist):\n    return 7\n")  # an int, not a str
    raising = tmp_path / "raising.py"
    raising.write_text("def algorithm(t, dist):\n    raise RuntimeError('no')\n")
    for program in (bad, raising):
        result = evaluate(str(program))
        metrics = getattr(result, "metrics", result)
        assert metrics["combined_score"] == 0.0
        assert metrics["instances_scored"] == 0
    assert (where / "evaluations.log").read_text() == "1\n1\n"


def test_the_initial_program_is_the_seed_inside_one_block():
    seed = get_task("lpn").seed_solution
    program = adapters.initial_program(seed)
    assert program.splitlines()[0] == adapters.BLOCK_START
    assert program.splitlines()[-1] == adapters.BLOCK_END
    assert adapters.strip_blocks(program).strip() == seed.strip()


def test_the_openevolve_config_keeps_the_task_and_takes_our_budget():
    base = {"database": {"num_islands": 5}, "evaluator": {"parallel_evaluations": 4},
            "llm": {"temperature": 0.9, "api_base": "https://elsewhere/v1"}}  # fmt: skip
    config = adapters.openevolve_config(
        base, api_base="http://127.0.0.1:1/v1", model="m", iterations=7, max_tokens=99,
        temperature=None, system_message=None,
    )  # fmt: skip
    assert config["database"] == {"num_islands": 5}
    assert config["llm"]["temperature"] == 0.9  # the example's own
    assert config["llm"]["api_base"] == "http://127.0.0.1:1/v1"
    assert config["llm"]["max_tokens"] == 99 and config["max_iterations"] == 7
    assert config["evaluator"]["parallel_evaluations"] == 1
    assert base["evaluator"]["parallel_evaluations"] == 4  # the caller's dict is not changed


class _FakeServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that answers one choice with fixed usage, as llama.cpp's."""

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        reply = json.dumps({
            "choices": [{"message": {"content": "x" * body["max_tokens"]}}],
            "usage": {"prompt_tokens": 11, "completion_tokens": body["max_tokens"]},
        }).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def test_the_proxy_counts_requests_and_tokens_per_label():
    import openai

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _FakeServer)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    counting = proxy.CountingProxy(f"http://127.0.0.1:{upstream.server_address[1]}").start()
    try:
        client = openai.OpenAI(base_url=counting.base_url, api_key="none", max_retries=0)
        for label, calls in (("a", 2), ("b", 1)):
            counting.label = label
            for _ in range(calls):
                reply = client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=5, n=3
                )
                assert reply.choices[0].message.content == "xxxxx"
        a, b = counting.spent("a"), counting.spent("b")
    finally:
        counting.stop()
        upstream.shutdown()
    assert (a["requests"], a["completions"], a["prompt_tokens"], a["completion_tokens"]) == (
        2, 2, 22, 10,
    )  # fmt: skip
    assert a["max_tokens_seen"] == [5] and b["requests"] == 1


def _results(**change):
    row = {key: 0 for key in adapters.ROW_KEYS}
    rows = [
        {**row, "system": "openevolve", "task": "lpn", "isolation": {}},
        {**row, "system": "selftaught", "task": "lpn", "isolation": {}},
    ]
    return {"model": {}, "machine": {}, "budget": {}, "systems": rows, **change}


def test_the_results_schema_is_the_issues():
    assert adapters.check_results(_results()) == []
    rows = _results()["systems"]
    assert any("no row of system 'openevolve'" in p
               for p in adapters.check_results(_results(systems=rows[1:])))  # fmt: skip
    assert adapters.check_results(_results(systems=rows + rows[:1]))  # a duplicate row
    extra = [{**rows[0], "extra": 1}, rows[1]]
    assert adapters.check_results(_results(systems=extra))
    assert adapters.check_results({**_results(), "more": 1})
