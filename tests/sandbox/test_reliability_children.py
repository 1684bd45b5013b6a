"""What a hostile solution or improver does cannot crash the host: each case is a real STOP run
through the command, whose model writes the hostile program (docs/reliability.md)."""

from __future__ import annotations

from conftest import last_json, run_cli
from hostile import hostile_run, instance_rows, invocations


def test_a_solution_that_sigkills_itself_is_an_outcome_not_a_crash(tmp_path):
    solution = (
        "import os, signal\n\n\ndef algorithm(train_samples, train_parity, test_samples):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done, run_dir = hostile_run(tmp_path, solution=solution)
    assert done.returncode == 0, done.stderr
    killed = [row for row in instance_rows(run_dir) if row["status"] == "killed"]
    assert killed and all("SIGKILL" in row["reason"] for row in killed)


def test_numbers_past_float_range_cost_their_instance(tmp_path):
    solution = "def algorithm(*inputs):\n    return [10**400] * 20\n"
    done, run_dir = hostile_run(tmp_path, solution=solution)
    assert done.returncode == 0, done.stderr
    rows = [row for row in instance_rows(run_dir) if "scorer raised" in row.get("reason", "")]
    assert rows and all(row["status"] == "invalid_output" and row["score"] == 0 for row in rows)


def test_a_long_expression_is_scanned_without_recursion_error(tmp_path):
    terms = "+".join(["1"] * 3000)
    program = f"def algorithm(*inputs):\n    x = {terms}\n    return [x % 2] * 20\n"
    improver = f"def improve_algorithm(s, utility, lm):\n    x = {terms}\n    return s\n"
    done, run_dir = hostile_run(tmp_path, solution=program, improver=improver)
    assert done.returncode == 0, done.stderr
    assert instance_rows(run_dir)


SURROGATE_IMPROVERS = {
    "returns": "def improve_algorithm(s, utility, lm):\n    return s + '# \\udc80\\n'\n",
    "raises": "def improve_algorithm(s, utility, lm):\n    raise ValueError('bad \\ud800 text')\n",
    "asks": "def improve_algorithm(s, u, lm):\n    return lm.prompt('\\udfff', s + '\\udc80')[0]\n",
}


def test_lone_surrogates_from_a_child_or_a_model_are_stored(tmp_path):
    for name, improver in SURROGATE_IMPROVERS.items():
        done, _ = hostile_run(tmp_path, initial=improver, args=("--iterations", "0"), name=name)
        assert done.returncode == 0, (name, done.stderr)
    done, run_dir = hostile_run(tmp_path, reply="no code, just \udc80 and \ud83d", name="reply")
    assert done.returncode == 0, done.stderr


RAW_CALLS = '''
BAD = [
    ("utility", {"solution": 5}),
    ("utility", {"solution": "x", "use_sandbox": "no"}),
    ("utility", {"line": 10**400}),
    ("utility", [1, 2]),
    ("batch_prompt", {"messages": ["a"], "temperature": "hot"}),
    ("batch_prompt", {"messages": ["a"], "temperature": None}),
    ("batch_prompt", {"messages": ["a"], "temperature": 10**400}),
    ("batch_prompt", {"messages": "abc"}),
    ("batch_prompt", {"messages": 7}),
    ("batch_prompt", {"messages": [1, None]}),
    ("prompt", {"expertise": ["e"], "messages": ["a"]}),
    ("notice", {"handle": [], "line": "x"}),
    (None, {}),
]


def improve_algorithm(initial_solution, utility, language_model):
    call = utility._call
    refused = 0
    for method, params in BAD:
        try:
            call(method, params)
        except Exception:
            refused += 1
    if refused != len(BAD) - 1:  # the notice is recorded, not refused
        raise AssertionError(f"only {refused} refused")
    return initial_solution
'''


def test_raw_calls_with_fields_of_the_wrong_type_are_refused_in_the_child(tmp_path):
    done, run_dir = hostile_run(tmp_path, initial=RAW_CALLS, args=("--iterations", "0"))
    assert done.returncode == 0, done.stderr
    assert set(invocations(run_dir)) == {("ok", None)}


FILL_THEN_SCORE = '''
WRITER = """
def algorithm(train_samples, train_parity, test_samples):
    with open("note", "wb") as f:
        f.write(b"y" * 100000)
    return [1] * len(test_samples)
"""


def improve_algorithm(initial_solution, utility, language_model):
    i = 0
    try:
        while True:  # fill the scratch space, and stay alive while the writer is scored
            with open(f"fill{i}", "wb") as f:
                f.write(b"x" * (8 << 20))
            i += 1
    except OSError:
        pass
    utility(WRITER)
    return WRITER
'''


def test_a_child_that_fills_its_scratch_space_fails_no_other_child(tmp_path):
    done, run_dir = hostile_run(tmp_path, initial=FILL_THEN_SCORE, args=("--iterations", "0"))
    assert done.returncode == 0, done.stderr
    rows = instance_rows(run_dir)
    assert rows and all(row["status"] == "ok" for row in rows), rows[:3]


def test_a_run_of_self_killing_solutions_and_self_stopping_improvers_finishes(tmp_path):
    solution = "import os, signal\n\n\ndef algorithm(*inputs):\n    os.kill(os.getpid(), 9)\n"
    improver = (
        "import os, signal\n\n\ndef improve_algorithm(s, utility, language_model):\n"
        "    os.kill(os.getpid(), signal.SIGSTOP)\n"
    )
    config = tmp_path / "limits.toml"
    config.write_text("[limits]\nimprover_seconds = 3.0\n")
    args = ("--iterations", "2", "--repetitions", "1", "--config", str(config))
    done, run_dir = hostile_run(tmp_path, solution=solution, improver=improver, args=args)
    assert done.returncode == 0, done.stderr
    listed = run_cli("runs", str(tmp_path), "--json")
    assert [row["status"] for row in last_json(listed.stdout)] == ["finished"]
