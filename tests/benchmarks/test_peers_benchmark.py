"""benchmarks/peers: the logic the side-by-side benchmark rests on, without a peer or a model.

- the selftaught budgets never allow more model calls than a row's bound;
- the OpenEvolve evaluator generated from one of our tasks scores with our scorer and our
  sandbox's seeds: a solution gets exactly `selftaught evaluate`'s val utility, a failing
  program 0 with its reason;
- the counting proxy counts what a real loopback server answered, holds every row to its
  bound, and answers a repeated request from its reply cache without reaching the server;
- rows are selected, recorded per seed, resumed and aggregated as the issue asks;
- every committed results.json has the issue's schema and every row stayed within its bound.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import inspect
import json
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from selftaught.tasks import get_task

PEERS = Path(__file__).resolve().parents[2] / "benchmarks" / "peers"
SRC = PEERS.parents[1] / "src"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"peers_{name}", PEERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


adapters = _load("adapters")
proxy = _load("proxy")
rows = _load("rows")
run = _load("run")
peer_runs = run.peer_runs  # the module run.py drives, not a second copy


@pytest.mark.parametrize("improver", ["seed", "repair"])
@pytest.mark.parametrize("iterations", [0, 1, 2])
@pytest.mark.parametrize("budget", range(7, 41))
def test_no_selftaught_row_can_spend_more_calls_than_the_budget(budget, iterations, improver):
    shape = adapters.improver_shape(improver, budget, iterations)
    assert shape.iterations == iterations and shape.improver == improver
    assert shape.most_calls <= budget
    per = shape.lm_calls * shape.responses_per_call
    bigger = dataclasses.replace(shape, **(
        {"responses_per_call": shape.responses_per_call + 1} if improver == "seed"
        else {"lm_calls": shape.lm_calls + 1}))  # fmt: skip
    if shape.meta_utility_calls == (1 if improver == "seed" else 2):
        assert bigger.most_calls > budget  # the largest invocation that fits
    assert shape.utility_calls > per  # every response can be scored


def test_the_full_budget_gives_each_row_what_the_issue_names():
    t0 = adapters.improver_shape("seed", 24, 0)
    assert (t0.repetitions, t0.lm_calls, t0.responses_per_call) == (2, 1, 12)  # 24 calls
    stop = adapters.improver_shape("repair", 24, 1)
    assert stop.meta_utility_calls == 2 and stop.most_calls <= 24
    with pytest.raises(ValueError, match="give --budget 7 or more"):
        adapters.improver_shape("seed", 6, 2)


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


def test_shinkaevolve_runs_an_evaluator_that_returns_openevolves_result_type(tmp_path):
    """OpenEvolve's function_minimization evaluator imports `openevolve.evaluation_result`,
    which ShinkaEvolve's venv does not have: its evaluate.py gives it the type."""
    import subprocess

    evaluator = tmp_path / "evaluator.py"
    evaluator.write_text(
        "from openevolve.evaluation_result import EvaluationResult\n"
        "def evaluate(program_path):\n"
        "    return EvaluationResult(metrics={'combined_score': 0.7}, artifacts={'a': 'b'})\n"
    )
    program = tmp_path / "initial_program.py"
    program.write_text("x = 1\n")
    task = adapters.write_shinka_task(tmp_path / "shinka", evaluator, program, str(SRC))
    assert importlib.util.find_spec("openevolve") is None  # as in ShinkaEvolve's venv
    # -S: no site-packages, so selftaught is found only where evaluate.py says, as there.
    done = subprocess.run([sys.executable, "-S", str(task / "evaluate.py"), "--program_path",
                           str(program), "--results_dir", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["combined_score"] == 0.7


def test_shinkaevolve_gets_the_same_evaluator_in_its_own_form(tmp_path):
    """evaluate.py as ShinkaEvolve runs it (a child process): our evaluator's score in
    metrics.json, and a program that raises is incorrect with its reason."""
    import subprocess

    where, evaluate = _generated_evaluate(tmp_path, "string_grid")
    expected = getattr(evaluate(str(where / "initial_program.py")), "metrics", None)
    task = adapters.write_shinka_task(
        tmp_path / "shinka", where / "evaluator.py", where / "initial_program.py", str(SRC)
    )
    raising = tmp_path / "raising.py"
    raising.write_text("def algorithm(t, dist):\n    raise RuntimeError('no')\n")
    outcomes = []
    for program in (task / "initial.py", raising):
        results = tmp_path / f"results-{program.stem}"
        done = subprocess.run([sys.executable, str(task / "evaluate.py"), "--program_path",
                               str(program), "--results_dir", str(results)],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        metrics = json.loads((results / "metrics.json").read_text())
        outcomes.append((metrics, json.loads((results / "correct.json").read_text())))
    (seed_metrics, seed_correct), (bad_metrics, bad_correct) = outcomes
    expected = expected or evaluate(str(where / "initial_program.py"))
    assert seed_metrics["combined_score"] == pytest.approx(expected["combined_score"])
    assert seed_correct == {"correct": True, "error": None}
    assert bad_metrics["combined_score"] == 0.0
    assert bad_correct["correct"] is True  # the evaluator scored it 0 without an error key


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
    assert config["database"]["num_islands"] == 5
    assert config["llm"]["temperature"] == 0.9  # the example's own
    assert config["llm"]["api_base"] == "http://127.0.0.1:1/v1"
    assert config["llm"]["max_tokens"] == 99 and config["max_iterations"] == 7
    assert config["evaluator"]["parallel_evaluations"] == 1
    assert base["evaluator"]["parallel_evaluations"] == 4  # the caller's dict is not changed


def test_openevolve_rewrites_whole_programs_and_sends_the_model_no_fixed_seed():
    """A fixed seed on every request made 24 of 24 calls one reply on lpn; diffs from the 0.5B
    applied in none. The seed still seeds OpenEvolve's database."""
    base = {"random_seed": 123, "diff_based_evolution": True, "database": {"num_islands": 3}}
    config = adapters.openevolve_config(
        base, api_base="http://127.0.0.1:1/v1", model="m", iterations=2, max_tokens=9,
        temperature=None, system_message=None, seed=2,
    )  # fmt: skip
    assert config["random_seed"] is None and "random_seed" not in config["llm"]
    assert config["database"] == {"num_islands": 3, "random_seed": 2}
    assert config["diff_based_evolution"] is False


def test_an_examples_primary_and_secondary_models_give_way_to_our_one_model():
    """OpenEvolve appends `primary_model` and `secondary_model` to `models`: left in, a seed
    would ask our server for gemini (function_minimization's config.yaml names both)."""
    base = {"llm": {"primary_model": "gemini-2.5-flash-lite", "primary_model_weight": 0.8,
                    "secondary_model": "gemini-2.5-flash",
                    "secondary_model_weight": 0.2}}  # fmt: skip
    config = adapters.openevolve_config(
        base, api_base="http://127.0.0.1:1/v1", model="m", iterations=2, max_tokens=9,
        temperature=None, system_message=None,
    )  # fmt: skip
    assert config["llm"]["models"] == [{"name": "m", "weight": 1.0}]
    assert not [key for key in config["llm"] if "primary" in key or "secondary" in key]


def _examples(root: Path, drop: str = "") -> Path:
    for name, config in peer_runs.OPENEVOLVE_EXAMPLES.items():
        (root / name).mkdir(parents=True)
        for file in ("evaluator.py", "initial_program.py", config):
            if file != drop:
                (root / name / file).write_text(f"# {name} {file}\n")
    return root


def test_openevolve_examples_are_taken_unchanged_from_a_checkout_with_their_starting_config(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(peer_runs, "EVALUATOR_FORM", dict(peer_runs.EVALUATOR_FORM))
    examples = _examples(tmp_path / "checkout")
    digests = peer_runs.add_openevolve_examples(examples, tmp_path / "work")
    circle = peer_runs.EVALUATOR_FORM["circle_packing"]
    assert circle == tmp_path / "work" / "openevolve-examples" / "circle_packing"
    assert (circle / "config.yaml").read_text() == "# circle_packing config_phase_1.yaml\n"
    assert (circle / "evaluator.py").read_bytes() == (examples / "circle_packing" /
                                                      "evaluator.py").read_bytes()  # fmt: skip
    want = hashlib.sha256(b"# function_minimization evaluator.py\n").hexdigest()
    assert digests["function_minimization"]["evaluator.py"] == want


def test_openevolve_examples_asked_for_without_a_checkout_or_from_a_wrong_one_are_one_line(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(peer_runs, "EVALUATOR_FORM", dict(peer_runs.EVALUATOR_FORM))
    argv = ["--rows", "openevolve:circle_packing", "--work", str(tmp_path / "w"),
            "--out", str(tmp_path / "results.json")]  # fmt: skip
    assert run.main(argv) == 2
    assert "give --openevolve-examples DIR" in capsys.readouterr().err
    wrong = _examples(tmp_path / "checkout", drop="config_phase_1.yaml")
    assert run.main([*argv, "--openevolve-examples", str(wrong)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("has no config_phase_1.yaml: give --openevolve-examples the examples/ "
                        "directory of an OpenEvolve checkout") and "\n" not in err  # fmt: skip
    assert not (tmp_path / "results.json").exists()
    default = run.parse(["--work", str(tmp_path)]).tasks.split(",")
    assert "circle_packing" not in default and "k_module_problem" in default


def test_a_failed_install_of_the_examples_requirements_is_one_line_not_a_traceback(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(peer_runs, "EVALUATOR_FORM", dict(peer_runs.EVALUATOR_FORM))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "scipy" else real(name, *a))  # fmt: skip

    def pip_fails(python, requirements):
        raise subprocess.CalledProcessError(1, ["pip", "install", *requirements])

    monkeypatch.setattr(run, "pip_install", pip_fails)
    argv = ["--rows", "openevolve:function_minimization", "--work", str(tmp_path / "w"),
            "--out", str(tmp_path / "results.json"),
            "--openevolve-examples", str(_examples(tmp_path / "checkout"))]  # fmt: skip
    assert run.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: pip install scipy>=1.11,<2 failed (exit 1)") and "\n" not in err


class _FakeServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that answers one choice with fixed usage, as llama.cpp's."""

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.hits = getattr(self.server, "hits", 0) + 1
        reply = json.dumps({
            "id": f"reply-{self.server.hits}",
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


def _serve_fake():
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _FakeServer)
    upstream.hits = 0
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    return upstream, f"http://127.0.0.1:{upstream.server_address[1]}"


def _ask(client, max_tokens=5):
    return client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=max_tokens
    )


def test_the_proxy_refuses_calls_past_the_bound_and_caps_max_tokens():
    import openai

    upstream, url = _serve_fake()
    counting = proxy.CountingProxy(url).start()
    counting.calls_limit, counting.max_tokens = 2, 4
    try:
        client = openai.OpenAI(base_url=counting.base_url, api_key="none", max_retries=0)
        counting.label = "row"
        assert _ask(client, max_tokens=50).choices[0].message.content == "xxxx"  # capped
        _ask(client, max_tokens=3)
        with pytest.raises(openai.RateLimitError, match="budget is spent"):
            _ask(client)
        counting.label = "another row"
        _ask(client)  # the bound is per row
        spent = counting.spent("row")
    finally:
        counting.stop()
        upstream.shutdown()
    assert (spent["answered"], spent["refused_requests"], spent["completion_tokens"]) == (2, 1, 7)
    assert spent["max_tokens_seen"] == [3, 4]


def test_a_second_run_gets_the_replies_it_had_from_the_cache(tmp_path):
    import openai

    upstream, url = _serve_fake()
    replies = []
    for run in range(2):  # the same row twice, as a killed row is run again
        counting = proxy.CountingProxy(url, cache=proxy.ReplyCache(tmp_path)).start()
        counting.label = "row"
        try:
            client = openai.OpenAI(base_url=counting.base_url, api_key="none", max_retries=0)
            replies.append([_ask(client).id for _ in range(2)] + [_ask(client, 3).id])
            spent = counting.spent("row")
        finally:
            counting.stop()
        assert spent["answered"] == 3 and spent["completion_tokens"] == 13
        assert spent["cached_requests"] == (0 if run == 0 else 3)
    upstream.shutdown()
    assert upstream.hits == 3  # the second run reached the server not once
    assert replies[0] == replies[1]
    assert len(set(replies[0])) == 3  # one request sent twice: two draws, not one


class _SlowServer(_FakeServer):
    def do_POST(self):  # noqa: N802
        time.sleep(0.5)  # long enough for the client to leave first
        super().do_POST()


def test_a_client_that_leaves_before_its_reply_costs_no_traceback_and_is_still_cached(
    tmp_path, capfd
):
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _SlowServer)
    upstream.hits = 0
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{upstream.server_address[1]}"
    counting = proxy.CountingProxy(url, cache=proxy.ReplyCache(tmp_path)).start()
    counting.label = "row"
    try:
        body = json.dumps({"model": "m", "messages": [], "max_tokens": 3}).encode()
        port = counting.server.server_address[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Type: application/json\r\n"
                           b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        for _ in range(100):  # the reply is recorded once the upstream answers
            if counting.spent("row")["answered"]:
                break
            time.sleep(0.05)
        time.sleep(0.2)  # the write to the closed socket happens after the record
        spent = counting.spent("row")
    finally:
        counting.stop()
        upstream.shutdown()
    assert spent["answered"] == 1 and len(list(tmp_path.iterdir())) >= 1
    assert "Traceback" not in capfd.readouterr().err


BETTER = "return 'A' * len(t)"  # above string_grid's seed solution (`return t`) on val
WORSE = "return t[: len(t) // 2]"  # 0 on val: below it


@pytest.fixture(scope="module")
def seed_improver_run(tmp_path_factory):
    """`run(body)`: the run directory and `--json` solutions of a T = 0 run of the paper's
    seed improver on string_grid whose model always replies `algorithm` with `body` (None:
    no code), made once per body for the tests below."""
    made: dict[str | None, tuple[Path, dict]] = {}

    def run(body: str | None) -> tuple[Path, dict]:
        if body not in made:
            where = tmp_path_factory.mktemp("seed-improver-run")
            reply = "no code" if body is None else (
                f"```python\ndef algorithm(t, dist):\n    {body}\n```")  # fmt: skip
            model = where / "model.py"
            model.write_text(f"def fn(system, user, n, temperature):\n    return [{reply!r}] * n\n")
            done = subprocess.run(
                [sys.executable, "-m", "selftaught", "run", "--task", "string_grid",
                 "--iterations", "0", "--improver", "seed", "--model", f"python:{model}:fn",
                 "--run-dir", str(where / "run"), "--json"],
                capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr[-2000:]
            solutions = json.loads(done.stdout.strip().splitlines()[-1])["solutions"]
            made[body] = where / "run", solutions["string_grid"]
        return made[body]

    return run


@pytest.mark.parametrize("body", [BETTER, WORSE, None], ids=["better", "worse", "no code"])
def test_a_selftaught_rows_final_solution_is_the_best_by_val_with_the_seeds_as_a_peers_is(
    seed_improver_run, tmp_path, body
):
    """The row's result is the best by val of the seed solution and what the run's improvers
    returned (a peer's archive starts with its initial program), not the meta-utility. The
    paper's seed improver returns a worse candidate rather than its input: that one is set
    aside, with its scores. A run that left no database returned nothing."""
    run_dir, solutions = seed_improver_run(body)
    final = _load("run").final_solution(run_dir)
    if body == BETTER:
        assert solutions["best_val"] > solutions["seed_val"]
        assert "'A' * len(t)" in final.source and final.val == solutions["best_val"]
        assert final.set_aside is None
    elif body == WORSE:
        assert solutions["best_val"] < solutions["seed_val"]
        assert final.source is None and final.val == solutions["seed_val"]
        assert final.set_aside == {"val": solutions["best_val"], "test": solutions["best_test"]}
    else:  # the seed improver, given no code, returns nothing
        assert final.source is None and final.val == solutions["seed_val"]
        assert final.set_aside is None
    assert _load("run").final_solution(tmp_path / "no run").val is None


def test_rescore_sets_aside_a_recorded_seeds_best_below_the_seed_solution_and_pays_nothing(
    seed_improver_run, tmp_path
):
    """A seed recorded under the old rule (the improvers' best, below u(s) on val) gets the
    seed solution's test score; a peer's row and a seed already right are left as they were."""
    run_dir, solutions = seed_improver_run(WORSE)
    work, signature = tmp_path / "work", rows.signature("full", 24, 1024)
    task = work / "full-24x1024" / "string_grid"
    for seed in (0, 1):
        where = task / "selftaught-seed" / f"seed{seed}"
        where.mkdir(parents=True)
        shutil.copytree(run_dir, where / "run")
        old = {**_seed(seed, solutions["best_test"], 24, 900), "budget": signature,
               "notes": {"final_solution": "returned"}}  # fmt: skip
        rows.write_seed(where, old)
    (task / "seed_solution.json").write_text(json.dumps({"score": solutions["seed_test"]}))
    ours = rows.aggregate("selftaught-seed", "string_grid", [old, old], {"x": 1}, 0.45)
    peers = [{**_seed(0, 0.1, 24, 900), "budget": signature}]
    (task / "openevolve" / "seed0").mkdir(parents=True)
    rows.write_seed(task / "openevolve" / "seed0", peers[0])
    peer = rows.aggregate("openevolve", "string_grid", peers, {}, solutions["seed_test"])
    out = tmp_path / "results.json"
    shape = json.loads(_load("report").FULL.read_text())  # the model and machine it records
    out.write_text(json.dumps({**shape, "systems": [peer, ours]}))

    assert _load("run").main(["--rescore", "--work", str(work), "--out", str(out)]) == 0
    again = json.loads(out.read_text())["systems"]
    assert again[0] == peer
    assert again[1]["best_test_utility"] == pytest.approx(solutions["seed_test"], abs=1e-4)
    assert again[1]["isolation"] == {"x": 1}
    for s in again[1]["per_seed"]:
        assert s["set_aside"] == {"val": solutions["best_val"], "test": solutions["best_test"]}
    aside = f"{solutions['seed_test']:.3f} (the seed solution; the improvers' best, set aside"
    assert aside in (tmp_path / "RESULTS.md").read_text()
    first = (task / "selftaught-seed" / "seed0" / "seed.json").read_text()
    assert _load("run").main(["--rescore", "--work", str(work), "--out", str(out)]) == 0
    assert (task / "selftaught-seed" / "seed0" / "seed.json").read_text() == first
    shutil.rmtree(task / "selftaught-seed" / "seed1")
    assert _load("run").main(["--rescore", "--work", str(work), "--out", str(out)]) == 2
    assert _load("run").main(["--rescore", "--work", str(tmp_path), "--out", str(out)]) == 2


def _seed(seed, utility, calls, completion, max_tokens=64):
    spent = {"answered": calls, "cached_requests": 0, "prompt_tokens": 100 * calls,
             "completion_tokens": completion, "max_tokens_seen": [max_tokens],
             "model_seconds": 1.0}  # fmt: skip
    return {"seed": seed, "test_utility": utility, "val_utility": utility, "wall_seconds": 4.0,
            "exit": 0, "executions": 2, "spent": spent}  # fmt: skip


def _results(systems, calls=8, max_tokens=64):
    budget = {"mode": "quick", "model_calls_per_row": calls, "max_tokens": max_tokens}
    return {"model": {}, "machine": {}, "budget": budget, "systems": systems}


def test_a_row_is_the_mean_of_its_seeds_with_a_t_interval():
    seeds = [_seed(0, 0.4, 8, 300), _seed(1, 0.5, 6, 200), _seed(2, 0.6, 7, 500)]
    row = rows.aggregate("openevolve", "lpn", seeds, {}, 0.5)
    assert tuple(row) == rows.ROW_KEYS
    assert row["best_test_utility"] == pytest.approx(0.5)
    low, high = row["ci"]
    assert low < 0.5 < high and high - low == pytest.approx(2 * 4.303 * 0.1 / 3**0.5, abs=1e-3)
    assert (row["lm_calls"], row["completion_tokens"], row["seeds"]) == (8, 500, 3)
    assert rows.aggregate("openevolve", "lpn", seeds[:1], {}, 0.5)["ci"] is None


def test_a_seed_whose_improvers_best_was_set_aside_says_so_in_the_row_and_on_the_page():
    aside = {**_seed(1, 1.259, 24, 900), "val_utility": 1.296,
             "set_aside": {"val": 0.185, "test": 0.269}}  # fmt: skip
    row = rows.aggregate("selftaught-seed", "function_minimization", [_seed(0, 1.2, 24, 900),
                         aside], {}, 1.259)  # fmt: skip
    assert "set_aside" not in row["per_seed"][0]
    assert row["per_seed"][1]["set_aside"] == {"val": 0.185, "test": 0.269}
    line = _load("report").seeds_list([row])[2]
    assert "seed 0: 1.200, 24 calls" in line
    assert ("seed 1: 1.259 (the seed solution; the improvers' best, set aside: val 0.185"
            " < 1.296, test 0.269), 24 calls") in line  # fmt: skip


def test_an_interval_on_an_evaluators_own_scale_is_not_clipped_to_0_1():
    seeds = [_seed(0, 1.259, 24, 900), _seed(1, 1.274, 24, 900), _seed(2, 1.037, 24, 900)]
    assert peer_runs.own_scale("function_minimization")  # with or without the examples flag
    assert peer_runs.own_scale("k_module_problem") and not peer_runs.own_scale("lpn")
    row = rows.aggregate("openevolve", "function_minimization", seeds, {}, 1.259, own_scale=True)
    low, high = row["ci"]
    assert low < row["best_test_utility"] < high and high > 1.259


def test_results_within_the_bound_pass_and_a_row_past_it_is_named():
    fine = rows.aggregate("openevolve", "lpn", [_seed(0, 0.5, 8, 512)], {}, 0.5)
    assert rows.check_results(_results([fine])) == []
    over = rows.aggregate("shinkaevolve", "lpn", [_seed(0, 0.5, 9, 100)], {}, 0.5)
    long = rows.aggregate("selftaught-seed", "lpn", [_seed(0, 0.5, 2, 100, 65)], {}, 0.5)
    problems = rows.check_results(_results([fine, over, long]))
    assert any("shinkaevolve:lpn spent 9 calls of 8" in p for p in problems)
    assert any("selftaught-seed:lpn asked for max_tokens [65]" in p for p in problems)
    assert rows.check_results(_results([fine, fine]))  # a duplicate row
    assert rows.check_results({**_results([fine]), "more": 1})


def test_rows_are_selected_and_stop_rows_follow_their_t0_rows():
    wanted = rows.select("selftaught-stop1:lpn,openevolve:maxcut,selftaught-seed:lpn", "", "")
    assert wanted == [("selftaught-seed", "lpn"), ("selftaught-stop1", "lpn"),
                      ("openevolve", "maxcut")]  # fmt: skip
    assert len(rows.select(None, "lpn,maxcut", "openevolve,selftaught-repair")) == 4
    for bad, why in (("openevolve", "not system:task"), ("x:lpn", "unknown system"),
                     ("openevolve:x", "unknown task")):  # fmt: skip
        with pytest.raises(ValueError, match=why):
            rows.select(bad, "", "")


def test_a_seed_is_reused_only_under_the_same_budget(tmp_path):
    wanted = rows.signature("full", 24, 1024)
    assert rows.recorded_seed(tmp_path, wanted) is None  # not run
    rows.write_seed(tmp_path, {**_seed(0, 0.5, 3, 10), "budget": wanted})
    assert rows.recorded_seed(tmp_path, wanted)["test_utility"] == 0.5
    assert rows.recorded_seed(tmp_path, rows.signature("quick", 24, 1024)) is None
    (tmp_path / "seed.json").write_text("{half")  # killed while writing: run again
    assert rows.recorded_seed(tmp_path, wanted) is None


RESULTS = [PEERS / "results.json", PEERS / "quick" / "results.json"]


def test_every_committed_row_stayed_within_its_bound():
    found = [path for path in RESULTS if path.is_file()]
    assert found, "no results.json committed"
    for path in found:
        results = json.loads(path.read_text())
        assert rows.check_results(results) == [], path
        assert results["systems"], path


@pytest.mark.slow
def test_the_quick_mode_runs_records_and_resumes(tmp_path):
    """run.py's quick mode end to end against a stand-in server (no model, no peer): every
    selftaught row runs and is recorded within its bound, and a second run pays for nothing."""
    import subprocess

    upstream, url = _serve_fake()
    out = tmp_path / "results.json"
    wanted = "selftaught-seed:lpn,selftaught-repair:lpn,selftaught-stop1:lpn"
    command = [sys.executable, str(PEERS / "run.py"), "--quick", "--budget", "7", "--rows",
               wanted, "--server", url + "/v1", "--work", str(tmp_path / "work"),
               "--out", str(out)]  # fmt: skip
    try:
        first = subprocess.run(command, capture_output=True, text=True, timeout=900)
        assert first.returncode == 0, first.stderr[-2000:]
        hits = upstream.hits
        again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    finally:
        upstream.shutdown()
    results = json.loads(out.read_text())
    assert rows.check_results(results) == []
    assert [r["system"] for r in results["systems"]] == [
        "selftaught-seed", "selftaught-repair", "selftaught-stop1",
    ]  # fmt: skip
    assert all(r["lm_calls"] >= 1 for r in results["systems"])
    for row in results["systems"]:  # the stand-in writes no code: the seed solution stands
        assert all(s["test_utility"] == row["seed_test_utility"] for s in row["per_seed"])
        assert all("meta_utility_val" in s for s in row["per_seed"])
    assert 0 < hits <= 3 * 7
    assert again.returncode == 0 and "3 of 3 rows already" in again.stdout
    assert upstream.hits == hits
    assert "### lpn" in (tmp_path / "RESULTS.md").read_text()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_benchmark_stops_cleanly_on_ctrl_c_or_sigterm_even_started_in_the_background(sig):
    """Started with SIGINT ignored (as `cmd &` from a script leaves it), the benchmark still
    stops on Ctrl-C or SIGTERM with its one-line message and exit 130, not a traceback."""
    script = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(PEERS)!r})\n"
        "import run\n"
        "def stuck(*args):\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(120)\n"
        "run.rows.select = stuck\n"
        "sys.exit(run.main(['--quick']))\n"
    )
    ignore_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=ignore_sigint,
    )  # fmt: skip
    try:
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(sig)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 130, err
    assert "Traceback" not in err
    assert "the same command resumes" in err


def test_the_pace_line_says_what_is_left_at_this_sittings_pace():
    run = _load("run")
    line = run.pace(1, 4, 1800)
    assert line == "1 of 4 rows done this sitting (0.5 h); about 1.5 h left at this pace"
    assert run.pace(4, 4, 7200).endswith("about 0.0 h left at this pace")


def test_a_full_run_part_way_says_how_far_it_is_and_hides_no_peers_isolation():
    report = _load("report")
    row = {"system": "shinkaevolve", "task": "lpn", "isolation": {"network": "open"}}
    full = {"budget": {"unavailable": {"skydiscover": "why"}}, "systems": [{"x": 1}] * 3}
    assert "**Part-way: 3 of 30 rows recorded**" in report.progress(full)
    assert report.progress({**full, "systems": [{"x": 1}] * 30}) == ""
    assert "| shinkaevolve |" in report.isolation([row]).splitlines()[4]
    # The whole it counts against is every system on every task the benchmark has.
    assert set(report.ROLES) == set(rows.SYSTEMS)
    defaults = inspect.signature(report.progress).parameters
    assert defaults["tasks"].default == len(rows.TASKS)
    assert defaults["examples"].default == len(peer_runs.OPENEVOLVE_EXAMPLES)
    with_examples = {**full, "budget": {**full["budget"], "openevolve_examples": {"from": "x"}}}
    assert "**Part-way: 3 of 42 rows recorded**" in report.progress(with_examples)


def _mean_row(system: str, task: str, mean: float, ci: tuple[float, float] | None):
    return {"system": system, "task": task, "best_test_utility": mean,
            "ci": None if ci is None else list(ci), "seed_test_utility": 0.25}  # fmt: skip


def test_a_winner_is_named_only_where_its_interval_clears_every_other_row():
    report = _load("report")
    apart = [_mean_row("openevolve", "lpn", 0.2, (0.1, 0.3)),
             _mean_row("selftaught-seed", "lpn", 0.8, (0.7, 0.9))]  # fmt: skip
    touching = [apart[0], _mean_row("selftaught-seed", "lpn", 0.8, (0.3, 0.9))]
    assert report.winner(apart) == "`selftaught-seed`"
    assert report.winner(touching) == "none (the intervals overlap)"
    no_interval = report.winner([apart[0], _mean_row("x", "lpn", 0.9, None)])
    assert no_interval == "none named (an interval needs two seeds or more)"
    assert report.winner(apart[:1]) == "none named (one row so far)"


def test_the_overview_shows_every_task_with_its_winner_in_bold_and_rows_not_run_yet():
    report = _load("report")
    rows_ = [_mean_row("openevolve", "lpn", 0.2, (0.1, 0.3)),
             _mean_row("selftaught-seed", "lpn", 0.8, (0.7, 0.9)),
             _mean_row("openevolve", "maxcut", 0.5, (0.0, 1.0))]  # fmt: skip
    lines = report.overview(rows_)
    assert lines[0] == "| mean test utility | lpn | maxcut |"
    assert lines[2] == "| seed solution, u(s) | 0.250 | 0.250 |"
    assert "| `openevolve` | 0.200 | 0.500 |" in lines
    assert "| `selftaught-seed` | **0.800** | – |" in lines
    assert any(line.startswith("Bold: the task's winner") for line in lines)
    no_winner = report.overview([rows_[0], rows_[2]])
    assert any(line.startswith("No task has a winner") for line in no_winner)


@pytest.mark.parametrize("text", [None, "{not json", '{"systems": 3}', "\udcff"])
def test_results_missing_or_damaged_are_one_line_in_every_mode_and_left_as_they_were(
    tmp_path, capsys, text
):
    """--render and --rescore need results; a run resuming damaged ones stops before it
    starts anything (a missing file is a fresh start, so that mode is not tried without it)."""
    out = tmp_path / "results.json"
    modes = [["--render"], ["--rescore", "--work", str(tmp_path)]]
    if text is not None:
        out.write_bytes(text.encode("utf-8", "surrogateescape"))
        modes.append(["--rows", "openevolve:lpn", "--venvs", str(tmp_path / "no venvs")])
    for mode in modes:
        assert _load("run").main([*mode, "--out", str(out)]) == 2, mode
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    if text is not None:
        assert out.read_bytes() == text.encode("utf-8", "surrogateescape")
    assert not (tmp_path / "no venvs").exists()


def test_superseded_rows_are_kept_shown_and_measured_again(tmp_path, capsys):
    """--supersede moves recorded rows, as they were, to superseded.json (with why) and their
    seeds' directories aside, so that the next run measures them again; the page shows both."""
    out = tmp_path / "results.json"
    shutil.copy(PEERS / "results.json", out)
    before = json.loads(out.read_text())
    # Two recorded rows (whichever the committed file holds), the first with a seed on disk.
    gone = [(r["system"], r["task"]) for r in before["systems"][:2]]
    (system, task), work = gone[0], tmp_path / "work"
    seeds = work / "full-24x1024" / task / system
    (seeds / "seed0").mkdir(parents=True)
    (seeds / "seed0" / "seed.json").write_text("{}")
    spec = ",".join(f"{s}:{t}" for s, t in gone)
    argv = ["--supersede", spec, "--why", "a fix", "--out", str(out), "--work", str(work)]
    assert run.main(argv) == 0
    after = json.loads(out.read_text())
    assert [(r["system"], r["task"]) for r in after["systems"]] == [
        (r["system"], r["task"]) for r in before["systems"] if (r["system"], r["task"]) not in gone
    ]
    assert rows.check_results(after) == []
    kept = json.loads((tmp_path / "superseded.json").read_text())
    assert [k["row"] for k in kept] == before["systems"][:2]  # as they were
    assert {k["why"] for k in kept} == {"a fix"}
    assert not seeds.exists()
    [aside] = (work / "full-24x1024" / "superseded").glob(f"*/{task}")
    assert (aside / system / "seed0" / "seed.json").is_file()
    page = (tmp_path / "RESULTS.md").read_text()
    test = kept[0]["row"]["best_test_utility"]
    assert "### Superseded rows" in page
    assert f"- `{system}` on {task}: test {test:.3f}" in page
    capsys.readouterr()
    # A row not recorded (already superseded) is one line, and nothing moves.
    files = {p: p.read_bytes() for p in (out, tmp_path / "superseded.json")}
    assert run.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no recorded row for ") and "\n" not in err
    assert all(p.read_bytes() == b for p, b in files.items())
    # A damaged superseded.json is one line too, and results.json is left as it was.
    (tmp_path / "superseded.json").write_text("[{]")
    third = before["systems"][2]  # still recorded
    assert run.main([*argv[:1], f"{third['system']}:{third['task']}", *argv[2:]]) == 2
    assert "superseded.json is not readable JSON" in capsys.readouterr().err
    assert out.read_bytes() == files[out]
    with pytest.raises(SystemExit):  # argparse: --supersede needs --why
        run.parse(["--supersede", spec])
