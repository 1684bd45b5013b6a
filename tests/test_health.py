"""`selftaught doctor`: the layers that work here, their cost, the model, a run's health."""

from __future__ import annotations

import json

from conftest import run_cli


def test_doctor_reports_layers_overhead_model_and_run(tmp_path, scripted_model):
    run_dir = tmp_path / "r"
    run_cli("run", "--iterations", "0", "--repetitions", "1", "--model", scripted_model,
            "--run-dir", str(run_dir))  # fmt: skip
    done = run_cli("doctor", "--run-dir", str(run_dir), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    layers = report["sandbox"]["layers"]
    assert {"rlimits", "seccomp", "landlock"} <= set(layers)
    assert all("ok" in layer for layer in layers.values())
    assert report["sandbox"]["zygote_overhead_ms"]["median"] > 0
    readable = report["sandbox"]["readable"]  # what children may read, and the cwd is not
    assert readable["enforced"] == layers["landlock"]["ok"]
    if readable["enforced"]:
        assert "/usr" not in readable["roots"]
        assert readable["working_directory"] == "PermissionError"
    assert any(row["kind"] == "llamacpp" and row["available"] for row in report["models"])
    assert report["run"]["integrity"] == "ok" and report["run"]["finished"] is True
    bad = run_cli("doctor", "--run-dir", str(tmp_path / "absent"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
