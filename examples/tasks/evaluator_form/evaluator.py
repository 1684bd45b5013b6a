"""An example task in the evaluator form used by OpenEvolve and ShinkaEvolve.

`evaluate(program_path)` imports the program, calls its `search()` and returns metrics whose
`combined_score` (here 1 / (1 + f(x)), in (0, 1]) is the fitness. selftaught runs this file
*inside the sandbox, in the same process as the candidate*, so the score is only as
tamper-proof as this evaluator (see selftaught.tasks.evaluator_form). Load the directory with
`selftaught.tasks.resolve_task("examples/tasks/evaluator_form")`.
"""

import importlib.util
import math
import time

# How selftaught runs this evaluator (all optional).
SELFTAUGHT_OPTIONS = {"name": "rastrigin", "instance_seconds": 10.0, "val_runs": 3, "test_runs": 5}


def rastrigin(x):
    return 10 * len(x) + sum(v * v - 10 * math.cos(2 * math.pi * v) for v in x)


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    started = time.perf_counter()
    x = [float(v) for v in program.search()]
    seconds = time.perf_counter() - started
    if len(x) != 5 or not all(math.isfinite(v) and -5.12 <= v <= 5.12 for v in x):
        return {"combined_score": 0.0, "error": "search() must return 5 numbers in [-5.12, 5.12]"}
    value = rastrigin(x)
    return {"combined_score": 1.0 / (1.0 + value), "value": value, "seconds": seconds}
