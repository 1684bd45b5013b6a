"""How a model answers one improve prompt: n replies to a prompt built from a task's seed
solution, each scored on val, with what went wrong. For trying a prompt on a model before
changing an improver (issue 24); the figures in benchmarks/improvers.md came from it.

    python benchmarks/prompt_trial.py --task maxcut --prompt repair --samples 8 \\
        --model llamacpp:qwen2.5-coder-1.5b

`--prompt repair` is the repair improver's own improve request, with the shortfall it adds
from the seed solution's val evaluation; any other name is a template in benchmarks/prompts/
with the fields {description} (the utility's code), {doc} (its docstring), {score}, {program},
{must} and {shortfall}. The last line of stdout is JSON; replies are written to --replies.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import time
from pathlib import Path

import selftaught
from selftaught.improvers import builtin_source
from selftaught.lm import open_backend
from selftaught.sandbox import helpers
from selftaught.tasks import resolve_task

HERE = Path(__file__).resolve().parent
FENCE = re.compile(r"```(?:python)?\n(.*?)```", re.S)


def repair_module() -> dict:
    """The repair improver's module namespace, loaded as the sandbox loads it (`helpers`)."""
    sys.modules.setdefault("helpers", helpers)
    namespace: dict = {"__name__": "repair"}
    exec(compile(builtin_source("repair"), "repair.py", "exec"), namespace)  # our own improver
    return namespace


def docstring(description: str) -> str:
    """The utility function's docstring, or ""."""
    try:
        body = ast.parse(description).body
    except SyntaxError:
        return ""
    found = [n for n in body if isinstance(n, ast.FunctionDef) and n.name == "utility"]
    return (ast.get_docstring(found[0]) or "") if found else ""


def shortfall(repair: dict, evaluation) -> str:
    """repair's sentence on where the seed solution fails, from its val evaluation."""
    bad = [i for i in evaluation.instances if i.status != "ok"]
    if not bad:
        return ""
    why = {"status": bad[0].status, "failed": len(bad), "total": len(evaluation.instances),
           "error": bad[0].reason}  # fmt: skip
    return repair["_shortfall"](why)


def prompt(name: str, task, repair: dict, evaluation) -> str:
    must, _ = repair["_must"](task.seed_solution)
    fields = dict(description=task.description, doc=docstring(task.description),
                  score=f"{evaluation.score:.3f}", program=task.seed_solution, must=must,
                  shortfall=shortfall(repair, evaluation))  # fmt: skip
    if name == "repair":
        template = repair["IMPROVE"]
    else:
        template = (HERE / "prompts" / f"{name}.txt").read_text()
    return template.format(**fields)


def score(task_name: str, reply: str, seed: str, block: str = "largest") -> dict:
    """A reply's program scored on val. `block`: "largest" reads it as repair does
    (`helpers.extract_code`); "last", the reading of the trials in prompt_trials.json, takes
    the last python block, which may be a usage example rather than the algorithm."""
    blocks = FENCE.findall(reply)
    code = helpers.extract_code(reply) if block == "largest" else (blocks or [None])[-1]
    if not code:
        return {"score": None, "failure": "no ```python block"}
    result = selftaught.evaluate(task=task_name, solution=code, split="val")
    return {"score": round(result.score, 3), "failure": result.failure,
            "seed_copy": " ".join(code.split()) == " ".join(seed.split())}  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", required=True)
    p.add_argument("--prompt", default="repair")
    p.add_argument("--samples", type=int, default=8)
    p.add_argument("--model", default="llamacpp")
    p.add_argument("--max-tokens", type=int, default=1024)
    p.add_argument("--replies", type=Path, default=Path("prompt_trial_replies"))
    p.add_argument(
        "--block",
        choices=("largest", "last"),
        default="largest",
        help="which code block of a reply is its program; largest: repair's reading",
    )
    args = p.parse_args()
    task, repair = resolve_task(args.task), repair_module()
    seed_eval = selftaught.evaluate(task=args.task, solution=task.seed_solution, split="val")
    user = prompt(args.prompt, task, repair, seed_eval)
    backend = open_backend(args.model, max_tokens=args.max_tokens)
    started = time.monotonic()
    seeds = list(range(1000, 1000 + args.samples))
    samples = backend.generate(repair["EXPERTISE"], user, args.samples, 0.7, args.max_tokens, seeds)
    seconds = time.monotonic() - started
    args.replies.mkdir(parents=True, exist_ok=True)
    results = []
    for i, sample in enumerate(samples):
        (args.replies / f"{args.task}-{args.prompt}-{i}.txt").write_text(sample.response)
        results.append(score(args.task, sample.response, task.seed_solution, args.block))
    print(json.dumps({"task": args.task, "prompt": args.prompt, "model": args.model,
                      "block": args.block,
                      "seed_val": round(seed_eval.score, 3), "model_seconds": round(seconds),
                      "replies": results}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
