"""The fuzz suite's evaluator-form task: the metrics are whatever the candidate's `metrics()`
returns, so that hostile numbers (past float range, inf, sums that overflow) reach the host."""

import importlib.util

SELFTAUGHT_OPTIONS = {"name": "metric_echo", "instance_seconds": 2.0, "val_runs": 1, "test_runs": 1}


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    return program.metrics()
