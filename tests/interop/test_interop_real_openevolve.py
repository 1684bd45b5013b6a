"""Our scores against the real OpenEvolve package's own Evaluator, where one is installed.

OpenEvolve is not a dependency (its tree brings openai, flask, dacite, ...). To run this, make
a venv with it and point at its interpreter, e.g.

    python -m venv /tmp/oe && /tmp/oe/bin/pip install openevolve==0.4.0
    SELFTAUGHT_OPENEVOLVE_PYTHON=/tmp/oe/bin/python \
        bin/test tests/interop/test_interop_real_openevolve.py
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import K_MODULE, ROOT

from selftaught.sandbox import open_sandbox
from selftaught.tasks import resolve_task
from selftaught.utility import Evaluator

TASKS = ROOT / "tests" / "interop_tasks"
PYTHON = os.environ.get("SELFTAUGHT_OPENEVOLVE_PYTHON")
BLOCK = "# EVOLVE-BLOCK-START\ndef construct():\n    return {}\n# EVOLVE-BLOCK-END\n"


def k_module(loader: str, preprocess: str, algorithm: str, formatter: str) -> str:
    seed = (K_MODULE / "initial_program.py").read_text()
    start, end = seed.index("    config = {"), seed.index("    return config")
    config = dict(loader=loader, preprocess=preprocess, algorithm=algorithm, formatter=formatter)
    return seed[:start] + f"    config = {config!r}\n\n" + seed[end:]


CASES = {
    "k_module_problem": [
        k_module("json_reader", "standardize", "mergesort", "xml"),
        k_module("csv_reader", "standardize", "mergesort", "json"),
        k_module("csv_reader", "normalize", "quicksort", "json"),
    ],
    "subprocess_eval": [BLOCK.format("[0.5, 0.5, 0.5]"), BLOCK.format("[1.0, 0.75, 1.0]")],
    "cascade": [f"def guess():\n    return {v}\n" for v in ("70", "73.0", "50")],
    "mean_metrics": ["def run():\n    return 3.0, 1.0\n"],
}


@pytest.mark.skipif(not PYTHON, reason="set SELFTAUGHT_OPENEVOLVE_PYTHON to a python with it")
def test_scores_match_openevolves_own_evaluator():
    where = {"k_module_problem": K_MODULE}
    cases = {str(where.get(name, TASKS / name)): programs for name, programs in CASES.items()}
    done = subprocess.run(
        [PYTHON, str(ROOT / "tests" / "models" / "openevolve_scores.py")],
        input=json.dumps(cases), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    with open_sandbox("auto") as box:
        for directory, programs in cases.items():
            task = resolve_task(directory, sandbox=box)
            ours = [Evaluator(task, box, None).evaluate(p, "val").score for p in programs]
            assert ours == theirs[directory], directory
