"""The field's evaluator contracts, as they run inside a sandboxed child (see docs/tasks.md).

- `openevolve`: `EvaluationResult`, what OpenEvolve's evaluators import and return;
- `shinka`: `run_shinka_eval` and `save_json_results`, what ShinkaEvolve's `evaluate.py` calls;
- `harness`: runs a task's evaluator on a candidate in the child, in either form, and returns
  plain JSON for the host to score (`selftaught.tasks.evaluator_form`).

`install()` makes `import openevolve.evaluation_result` and `from shinka.core import
run_shinka_eval` find these small compatible modules when the real packages are not
installed, so an evaluator written for either tool runs unchanged and without their
dependency trees (openai, flask, hydra, pandas, ...).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

# alias -> the module of ours that stands in for it
ALIASES = {
    "openevolve": "selftaught.interop.openevolve",
    "openevolve.evaluation_result": "selftaught.interop.openevolve",
    "shinka": "selftaught.interop.shinka",
    "shinka.core": "selftaught.interop.shinka",
    "shinka.core.wrap_eval": "selftaught.interop.shinka",
}


def install() -> list[str]:
    """Alias the real packages' module names to ours where they are not importable; returns
    the names aliased."""
    done = []
    for top in ("openevolve", "shinka"):
        if top in sys.modules or _importable(top):
            continue
        for alias, ours in ALIASES.items():
            if alias == top or alias.startswith(top + "."):
                module = importlib.import_module(ours)
                sys.modules[alias] = module
                done.append(alias)
    return done


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


__all__ = ["ALIASES", "install"]
