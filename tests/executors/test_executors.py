"""The executor seam without a cluster: the local executor's records and --json, the one-line
errors of `--executor ray` without Ray or without a cluster, and the plain-data wire format."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, last_json, one_clear_line, run_cli

from selftaught.executors import wire
from selftaught.executors.local import LocalExecutor
from selftaught.sandbox import Limits
from selftaught.store import RunReader

WORLD = ROOT / "tests" / "models" / "cluster_world.py"
RUN = ("run", "--task", str(WORLD), "--model", f"python:{WORLD}:respond", "--iterations", "0")
LIMITS = Limits(wall_seconds=30, cpu_seconds=10, memory_mb=512)


def test_a_local_run_says_so_and_records_every_evaluation_as_local(tmp_path: Path) -> None:
    done = run_cli(*RUN, "--json", "--run-dir", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    executor = last_json(done.stdout)["executor"]
    assert executor["kind"] == "local" and executor["nodes"] == 1
    with RunReader.open(tmp_path / "run") as reader:
        evaluations = reader.count("evaluations")
        assert reader.evaluation_nodes() == {"local": evaluations}
    assert executor["executions"]["local"] >= evaluations > 0


def test_without_ray_the_ray_executor_says_how_to_install_it(tmp_path: Path) -> None:
    hidden = tmp_path / "no_ray" / "ray"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError(\"No module named 'ray'\")\n")
    path = os.pathsep.join(p for p in (str(hidden.parent), os.environ.get("PYTHONPATH")) if p)
    done = run_cli(*RUN, "--executor", "ray", "--ray-address", "127.0.0.1:1",
                   "--run-dir", str(tmp_path / "run"), env={"PYTHONPATH": path})  # fmt: skip
    one_clear_line(done, "pip install 'selftaught[ray]'")
    assert not (tmp_path / "run").exists()  # nothing half-made is left behind


def test_the_ray_executor_needs_a_cluster_address(tmp_path: Path) -> None:
    no_cluster = {"RAY_ADDRESS": ""}
    done = run_cli(*RUN, "--executor", "ray", "--run-dir", str(tmp_path / "run"), env=no_cluster)
    one_clear_line(done, "--ray-address", "RAY_ADDRESS")


def test_a_cluster_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{unused.getsockname()[1]}"  # nothing listens on it
    done = run_cli(*RUN, "--executor", "ray", "--ray-address", address,
                   "--run-dir", str(tmp_path / "run"), timeout=120)  # fmt: skip
    one_clear_line(done, "cannot reach the Ray cluster", address)


def test_a_config_file_chooses_the_executor_too(tmp_path: Path) -> None:
    (tmp_path / "run.toml").write_text('executor = "ray"\n')
    done = run_cli(*RUN, "--config", str(tmp_path / "run.toml"),
                   "--run-dir", str(tmp_path / "run"), env={"RAY_ADDRESS": ""})  # fmt: skip
    one_clear_line(done, "--ray-address", "RAY_ADDRESS")


def test_an_unknown_executor_is_one_line(tmp_path: Path) -> None:
    done = run_cli(*RUN, "--executor", "slurm", "--run-dir", str(tmp_path / "run"))
    one_clear_line(done, "executor", "local", "ray")


def test_a_job_and_its_outcomes_travel_as_json_text() -> None:
    """What a node receives and returns is JSON text, and reads back as a local run does."""
    source = "import numpy as np\ndef algorithm(a, k):\n    return int(np.sum(a)) * k\n"
    inputs = [[np.arange(5), 2], [[1, 2, 3], 3]]
    job = wire.solution_job(source, "algorithm", inputs, instance_seconds=5, seed=1,
                            array_args=True, limits=LIMITS)  # fmt: skip
    assert isinstance(job, str) and json.loads(job)["entry"] == "algorithm"
    with LocalExecutor() as local:
        reply = wire.run_job(local, job)
        assert isinstance(reply, str)
        remote = wire.solution_run(reply, len(inputs))
        here = local.run_solution(source, "algorithm", inputs, instance_seconds=5, seed=1,
                                  array_args=True, limits=LIMITS)  # fmt: skip
    assert [o.output for o in remote.outcomes] == [o.output for o in here.outcomes] == [20, 18]
    assert remote.layers == here.layers and remote.node is None  # the driver names the node


@pytest.mark.parametrize(
    "reply",
    [
        "not json",
        json.dumps({"outcomes": []}),  # one instance was sent
        json.dumps({"outcomes": [{"status": "pickled", "output": 1}]}),
        json.dumps([{"status": "ok"}]),
    ],
)
def test_a_reply_that_is_not_outcomes_is_refused(reply: str) -> None:
    with pytest.raises(wire.WireError):
        wire.solution_run(reply, 1)


def test_doctor_shows_each_nodes_layers_beside_this_machines() -> None:
    from rich.console import Console

    from selftaught.health import render_report

    layer = {"ok": True, "why": "fork: PermissionError"}
    report = {
        "sandbox": {"layers": {"seccomp": layer}},
        "models": [],
        "nodes": {"10.0.0.7/ab12cd34": {"layers": {"seccomp": layer | {"ok": False}}}},
    }
    console = Console(record=True, width=120)
    console.print(render_report(report))
    text = console.export_text()
    assert "sandbox on Ray node 10.0.0.7/ab12cd34" in text
    assert text.count("seccomp") == 2 and "no" in text
