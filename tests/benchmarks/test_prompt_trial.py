"""benchmarks/prompt_trial.py with a scripted model: each reply scored on val, a copy of the seed
solution and a reply without code told apart, and the prompt the model saw is repair's own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

MODEL = """
import re

def fn(system, user, n, temperature):
    assert "Improve this Python program" in user and "It must define `algorithm(t, dist)`" in user
    seed = re.findall(r"```python\\n(.*?)```", user, re.S)[-1]
    better = "def algorithm(t, dist):\\n    return 'A' * len(t)\\n"
    return ["```python\\n" + seed + "```", "no code", "```python\\n" + better + "```"][:n]
"""


def test_each_reply_is_scored_and_copies_of_the_seed_are_told_apart(tmp_path):
    model = tmp_path / "model.py"
    model.write_text(MODEL)
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "prompt_trial.py"), "--task", "string_grid",
         "--samples", "3", "--model", f"python:{model}:fn", "--replies", str(tmp_path / "r")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    copy, none, other = result["replies"]
    assert copy["seed_copy"] is True and copy["score"] == result["seed_val"]
    assert none == {"score": None, "failure": "no ```python block"}
    assert other["seed_copy"] is False and other["score"] > 0
    assert len(list((tmp_path / "r").iterdir())) == 3


TWO_BLOCKS = """
def fn(system, user, n, temperature):
    algorithm = "def algorithm(t, dist):\\n    word = 'A' * len(t)\\n    return word\\n"
    usage = "print(algorithm('AB', 1))\\n"
    return ["```python\\n" + algorithm + "```\\nUse it so:\\n```python\\n" + usage + "```"] * n
"""


def test_a_reply_with_two_blocks_is_read_as_repair_reads_it_unless_told_last(tmp_path):
    model = tmp_path / "model.py"
    model.write_text(TWO_BLOCKS)
    results = {}
    for block in ("largest", "last"):
        out = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "prompt_trial.py"), "--task",
             "string_grid", "--samples", "1", "--model", f"python:{model}:fn", "--block", block,
             "--replies", str(tmp_path / block)],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        results[block] = json.loads(out.stdout.strip().splitlines()[-1])
    assert results["largest"]["block"] == "largest"
    assert results["largest"]["replies"][0]["score"] > 0  # the algorithm, as repair takes it
    assert results["last"]["replies"][0]["score"] == 0  # the usage line defines no algorithm
