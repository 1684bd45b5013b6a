"""Spread three weights: the utility is their sum (so above 1), as circle_packing scores radii.

Runs the candidate in a child Python process and reads its result back by pickle, the way
OpenEvolve's circle_packing example does, and returns an EvaluationResult.
"""

import os
import pickle
import subprocess
import sys
import tempfile

from openevolve.evaluation_result import EvaluationResult


def run_in_subprocess(program_path, timeout_seconds=20):
    results = program_path + ".results"
    script = f"""
import importlib.util, pickle
spec = importlib.util.spec_from_file_location("program", {program_path!r})
program = importlib.util.module_from_spec(spec)
spec.loader.exec_module(program)
with open({results!r}, "wb") as f:
    pickle.dump(program.construct(), f)
"""
    with tempfile.NamedTemporaryFile(suffix=".py", delete=False, mode="w") as temp_file:
        temp_file.write(script)
    process = subprocess.Popen(
        [sys.executable, temp_file.name], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _stdout, stderr = process.communicate(timeout=timeout_seconds)
    os.unlink(temp_file.name)
    if process.returncode != 0:
        raise RuntimeError(f"the program failed: {stderr.decode()[-300:]}")
    with open(results, "rb") as f:
        return pickle.load(f)


def evaluate(program_path):
    weights = run_in_subprocess(program_path)
    if len(weights) != 3 or not all(0.0 <= w <= 1.0 for w in weights):
        return EvaluationResult(
            metrics={"combined_score": 0.0, "valid": 0.0},
            artifacts={"error": "construct() must return 3 numbers in [0, 1]"},
        )
    return EvaluationResult(
        metrics={"combined_score": float(sum(weights)), "valid": 1.0},
        artifacts={"weights": repr(weights)},
    )
