"""How many of a small model's replies on an EVOLVE-BLOCK task run, refused before and spliced now.

    nice -n 10 python benchmarks/splice.py --replies 6 --max-tokens 768 > /tmp/splice.json

OpenEvolve's k_module_problem (examples/tasks/, vendored unchanged) is shown to the
embedded model through the seed improver's own prompt, `--replies` times at temperature 0.7
(one seed per reply), in-process through llama.cpp. Each reply's program (`extract_code`) is
classified as the host reads it (tasks/splicing.py): kept the markers and the fixed code (runs
as written), refused by the line-for-line check that was the only reading before splicing,
spliced (runs, with what was taken), or refused even so (with the reason); the spliced and
as-written ones are scored on val in the sandbox. Prints one JSON object: the machine, the plan,
the counts, and each reply's row.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embedded_models import generate, seed_prompt  # noqa: E402
from machine import machine  # noqa: E402

from selftaught.lm.embedded import model_path  # noqa: E402
from selftaught.lm.llamacpp import load_llama, threads_from_env  # noqa: E402
from selftaught.sandbox import helpers, open_sandbox  # noqa: E402
from selftaught.tasks import evolve_blocks, resolve_task  # noqa: E402
from selftaught.utility import Evaluator  # noqa: E402

TASK = Path(__file__).resolve().parent.parent / "examples" / "tasks" / "k_module_problem"


def classify(code: str | None, task: Any, evaluator: Evaluator) -> dict[str, Any]:
    """How the host reads one reply's program, and its val score where it runs."""
    if not code:
        return {"kind": "no code", "score": 0.0}
    before = evolve_blocks.outside_change(task.seed_solution, code)
    evaluation = evaluator.evaluate(code, "val")
    if before is None:
        kind = "as written"
    elif evaluation.spliced:
        kind = "spliced"
    else:
        kind = "refused"
    return {
        "kind": kind, "refused_before": before is not None, "score": evaluation.score,
        "spliced": evaluation.spliced, "failure": evaluation.failure,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--replies", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=768)
    args = parser.parse_args()
    info = machine()
    sandbox = open_sandbox("auto")
    task = resolve_task(str(TASK), sandbox=sandbox)
    evaluator = Evaluator(task, sandbox, None)
    system, user = seed_prompt(task)
    llm = load_llama(model_path(args.model), n_ctx=4096, n_threads=threads_from_env())
    rows = []
    try:
        for k in range(args.replies):
            reply = generate(llm, system, user, seed=1000 + k, max_tokens=args.max_tokens)
            text = "".join(reply["pieces"])
            row = classify(helpers.extract_code(text), task, evaluator)
            rows.append({"reply": k, "tokens": len(reply["pieces"]),
                         "seconds": round(reply["seconds"], 1), **row, "reply_text": text})
            # Each reply as it comes (a reply of the 0.5B takes minutes on 2 shared cores).
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    finally:
        llm.close()
        sandbox.close()
    kinds = [r["kind"] for r in rows]
    runs = [r for r in rows if r["kind"] in ("as written", "spliced")]
    print(json.dumps({
        "machine": {**info, "cpus": os.cpu_count()},
        "plan": {"task": "k_module_problem (OpenEvolve's, unchanged)", "model": args.model,
                 "replies": args.replies, "max_tokens": args.max_tokens, "prompt": "seed"},
        "counts": {kind: kinds.count(kind) for kind in dict.fromkeys(kinds)},
        "ran_before": sum(1 for r in rows if r.get("refused_before") is False),
        "run_now": len(runs),
        "mean_val_of_those_run": sum(r["score"] for r in runs) / len(runs) if runs else None,
        "seed_val": evaluator.evaluate(task.seed_solution, "val").score,
        "rows": rows,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
