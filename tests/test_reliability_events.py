"""An improver that loops on its handles meets its time limit and writes a handful of event
rows (docs/reliability.md, "What is recorded")."""

from __future__ import annotations

from hostile import hostile_run, invocations

from selftaught.store import RunReader

ENDLESS = """
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        utility(initial_solution)
"""


def test_an_endless_loop_of_utility_calls_is_capped_and_charged(tmp_path):
    config = tmp_path / "limits.toml"
    config.write_text("[limits]\nimprover_seconds = 3.0\n")
    args = ("--iterations", "0", "--repetitions", "1", "--config", str(config))
    done, run_dir = hostile_run(tmp_path, initial=ENDLESS, args=args)
    assert done.returncode == 0, done.stderr
    assert invocations(run_dir)[0][0] == "timeout"
    with RunReader.open(run_dir) as reader:
        details = [event.detail for event in reader.events("utility_budget_exceeded")]
    assert len(details) == 6  # five examples and the count
    assert "count" in details[-1]
