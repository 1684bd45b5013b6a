"""The Ray executor against a real Ray cluster that this module starts on loopback: a head and
a second node (`ray start --head`, `ray start --address`), one CPU each, in a temp dir of their
own, stopped at the end (tests/models/loopback_ray.py).

A STOP run on the cluster lands executions on both nodes and records exactly what the local
executor records for the same seed; a node killed mid-run has its executions redone on the
other, each recorded once; `doctor` reports the confinement layers of every node.

Skipped where Ray is not installed, except under CI=true, where that fails: CI installs it
(bin/bootstrap installs the `ray` extra)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from html import escape
from pathlib import Path

import pytest
from conftest import ROOT, last_json, run_cli

from selftaught.report import build_report
from selftaught.store import RunReader

try:
    import ray  # noqa: F401
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise RuntimeError("CI=true must install Ray (bin/bootstrap: the ray extra)") from None
    pytest.skip("Ray is not installed (pip install 'selftaught[ray]')", allow_module_level=True)

from loopback_ray import LoopbackCluster  # noqa: E402

pytestmark = pytest.mark.slow  # a cluster takes ~20 s to start on 2 busy cores

WORLD = ROOT / "tests" / "models" / "cluster_world.py"
# Every solution burns 0.05 s of CPU per instance: long enough that a node is killed while it
# runs one, short enough that a run takes seconds.
ENV = {"CLUSTER_BURN": "0.05"}
RUN = ("run", "--task", str(WORLD), "--model", f"python:{WORLD}:respond",
       "--iterations", "1", "--seed", "3", "--json")  # fmt: skip


@pytest.fixture(scope="module")
def cluster():
    with LoopbackCluster(cpus=1) as loopback:
        loopback.add_node(cpus=1)
        yield loopback


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> tuple[dict, Path]:
    run_dir = tmp_path_factory.mktemp("local") / "run"
    done = run_cli(*RUN, "--run-dir", str(run_dir), env=ENV)
    assert done.returncode == 0, done.stderr
    return last_json(done.stdout), run_dir


def records(run_dir: Path) -> list[dict]:
    """What the run recorded of each evaluation, but where it ran and how long it took."""
    columns = ("program", "task", "split", "seed", "score", "instances", "layers", "failure")
    with RunReader.open(run_dir) as reader:
        rows = reader.rows("evaluations", *columns)
    for row in rows:
        row["instances"] = json.loads(row["instances"])
        for instance in row["instances"]:
            instance.pop("seconds")
    return rows


def nodes(run_dir: Path) -> dict[str, int]:
    with RunReader.open(run_dir) as reader:
        return reader.evaluation_nodes()


def test_a_run_on_two_nodes_records_what_the_local_executor_records(cluster, local_run, tmp_path):
    local, local_dir = local_run
    assert local["executor"]["kind"] == "local"
    assert set(nodes(local_dir)) == {"local"}
    done = run_cli(*RUN, "--executor", "ray", "--ray-address", cluster.address,
                   "--run-dir", str(tmp_path / "ray"), env=ENV)  # fmt: skip
    assert done.returncode == 0, done.stderr
    got = last_json(done.stdout)
    executor = got["executor"]
    assert executor["kind"] == "ray" and executor["nodes"] == 2
    assert executor["lost"] == {} and executor["retried"] == 0
    # Every node ran with every layer the driver's machine has.
    assert all(layers == local["executor"]["layers"] for layers in executor["layers"].values())
    where = nodes(tmp_path / "ray")
    assert set(where) == set(executor["layers"]) and min(where.values()) >= 3, where
    page = build_report(tmp_path / "ray")  # says where they ran, by node
    assert all(f"{escape(node)}: {count}" in page for node, count in where.items()), where
    listed = run_cli("runs", str(tmp_path), "--json")
    assert [row["nodes"] for row in json.loads(listed.stdout)] == [sorted(where)]
    table = run_cli("runs", str(tmp_path), env={"COLUMNS": "200"}).stdout
    assert "where" in table and f"{len(where)} nodes" in table
    assert got["iterations"] == local["iterations"]
    assert got["evaluations"] == local["evaluations"] and got["lm_calls"] == local["lm_calls"]
    assert records(tmp_path / "ray") == records(local_dir)


def test_doctor_reports_the_layers_of_every_node(cluster):
    done = run_cli("doctor", "--executor", "ray", "--ray-address", cluster.address, "--json")
    assert done.returncode == 0, done.stderr
    report = last_json(done.stdout)
    assert len(report["nodes"]) == 2
    for node in report["nodes"].values():
        assert node["layers"]["seccomp"]["ok"] and node["layers"]["landlock"]["ok"], node
        assert node["layers"]["seccomp"] == report["sandbox"]["layers"]["seccomp"]


def test_a_driver_killed_mid_run_resumes_on_the_cluster(cluster, local_run, tmp_path):
    """SIGKILL of the driver (the model kills it as its 4th call begins); Ray ends its actors,
    and `selftaught resume` joins the cluster again and ends with the local run's records."""
    local, local_dir = local_run
    run_dir, count = tmp_path / "driver", str(tmp_path / "calls")
    kill = {"CLUSTER_COUNT_FILE": count, "CLUSTER_KILL_AFTER": "3"}
    killed = run_cli(*RUN, "--executor", "ray", "--ray-address", cluster.address,
                     "--run-dir", str(run_dir), env=ENV | kill)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert 0 < sum(nodes(run_dir).values()) < local["evaluations"]
    resumed = run_cli("resume", str(run_dir), "--json", env=ENV | {"CLUSTER_COUNT_FILE": count})
    assert resumed.returncode == 0, resumed.stderr
    got = last_json(resumed.stdout)
    assert got["executor"]["kind"] == "ray" and got["executor"]["nodes"] == 2
    assert got["iterations"] == local["iterations"]
    assert records(run_dir) == records(local_dir)


def test_a_node_killed_mid_run_has_its_work_redone_and_recorded_once(cluster, local_run, tmp_path):
    """Runs last: it takes the second node down for good."""
    local, local_dir = local_run
    run_dir = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "selftaught", *RUN, "--executor", "ray",
         "--ray-address", cluster.address, "--run-dir", str(run_dir)],
        cwd=ROOT, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    # Kill the second node once both nodes have recorded work, early in the run.
    deadline = time.monotonic() + 180
    while not _both_busy(run_dir):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never used both nodes"
        time.sleep(0.05)
    cluster.kill_node(1)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    got = last_json(out)
    executor = got["executor"]
    assert len(executor["lost"]) == 1 and executor["retried"] >= 1, executor
    (lost,) = executor["lost"]
    survivor = next(name for name in executor["layers"] if name != lost)
    where = nodes(run_dir)
    assert set(where) == {lost, survivor} and where[survivor] > where[lost]
    # Nothing lost, nothing counted twice: the records of an undisturbed local run.
    assert got["iterations"] == local["iterations"]
    assert got["evaluations"] == local["evaluations"]
    assert records(run_dir) == records(local_dir)


def _both_busy(run_dir: Path) -> bool:
    if not (run_dir / "run.db").is_file():
        return False
    try:
        where = nodes(run_dir)
    except Exception:  # noqa: BLE001 - the run is still creating its database
        return False
    return len(where) == 2 and sum(where.values()) >= 4
