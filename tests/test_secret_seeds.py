"""`--secret-seeds`: instances from a per-run secret, so a candidate that regenerates the public
instances (and their answers) with the task's own generator gains nothing. Real sandbox, real
LPN task, real run store through the real command."""

from __future__ import annotations

import sqlite3

from conftest import last_json, run_cli

from selftaught.sandbox import open_sandbox
from selftaught.store import RunReader
from selftaught.tasks import get_task
from selftaught.utility import Evaluator

# Knows the paper's public seeds (val: 4321 + i) and imports the generator in its child:
# it finds the instance whose training inputs it was given and returns that instance's answer.
REGENERATES = '''import numpy as np
from selftaught.tasks import get_task


def algorithm(train_samples, train_parity, test_samples):
    task = get_task("lpn")
    for seed in range(4321, 4341):
        instance = task.instance(seed)
        if np.array_equal(np.asarray(instance.inputs[0]), np.asarray(train_samples)):
            return instance.answer
    return [0] * len(test_samples)
'''


def test_regenerating_public_instances_wins_only_without_a_secret():
    sandbox = open_sandbox()
    try:
        public = Evaluator(get_task("lpn"), sandbox, None).evaluate(REGENERATES, "val")
        hidden = Evaluator(get_task("lpn"), sandbox, None, secret="0" * 32).evaluate(
            REGENERATES, "val"
        )
    finally:
        sandbox.close()
    assert public.score == 1.0  # the attack works on public seeds
    assert hidden.score < 0.75  # and is chance-level on secret ones


def test_a_run_keeps_its_secret_in_the_store_and_resumes_with_it(tmp_path, scripted_model):
    args = ("run", "--iterations", "0", "--repetitions", "1", "--model", scripted_model)
    first = run_cli(*args, "--secret-seeds", "--run-dir", str(tmp_path / "a"), "--json")
    second = run_cli(*args, "--secret-seeds", "--run-dir", str(tmp_path / "b"), "--json")
    public = run_cli(*args, "--run-dir", str(tmp_path / "p"), "--json")
    for done in (first, second, public):
        assert done.returncode == 0, done.stderr

    def meta(run: str, key: str) -> str | None:
        with RunReader.open(tmp_path / run) as reader:
            return reader.get_meta(key)

    def evaluations(run: str) -> int:
        with RunReader.open(tmp_path / run) as reader:
            return reader.count("evaluations")

    secrets = meta("a", "instance_secret"), meta("b", "instance_secret")
    assert all(s and len(s) == 32 for s in secrets)  # 32 hex digits
    assert secrets[0] != secrets[1]
    assert meta("p", "instance_secret") is None
    # other instances, so the seed improver's solution scores otherwise than on public seeds
    scores = [last_json(d.stdout)["iterations"][0]["meta_utility_test"] for d in (first, public)]
    assert scores[0] != scores[1]
    # a resumed run reads the same secret back: nothing is evaluated again
    db = sqlite3.connect(tmp_path / "a" / "run.db")  # raw: the run as if killed before t = 0
    db.execute("DELETE FROM meta WHERE key = 'finished'")
    db.execute("DELETE FROM iterations")
    db.commit()
    db.close()
    evaluated = evaluations("a")
    resumed = run_cli("resume", str(tmp_path / "a"), "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert meta("a", "instance_secret") == secrets[0]
    assert evaluations("a") == evaluated
    assert last_json(resumed.stdout)["iterations"] == last_json(first.stdout)["iterations"]
