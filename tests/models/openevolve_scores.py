"""Score programs with the real OpenEvolve Evaluator (run by an interpreter that has it).

Reads {task_dir: [program source, ...]} as JSON on stdin, prints {task_dir: [fitness, ...]}.
"""
import asyncio
import json
import sys
from pathlib import Path

from openevolve.config import load_config
from openevolve.evaluator import Evaluator
from openevolve.utils.metrics_utils import get_fitness_score


async def score(task_dir, programs):
    cfg_path = Path(task_dir) / "config.yaml"
    config = load_config(str(cfg_path)) if cfg_path.exists() else load_config(None)
    ev = Evaluator(config.evaluator, str(Path(task_dir) / "evaluator.py"))
    out = []
    for i, code in enumerate(programs):
        metrics = await ev.evaluate_program(code, f"p{i}")
        out.append(get_fitness_score(metrics, config.database.feature_dimensions))
    return out

cases = json.loads(sys.stdin.read())
print(json.dumps({d: asyncio.run(score(d, progs)) for d, progs in cases.items()}))
