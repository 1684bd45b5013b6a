"""Inside the child: run a task's evaluator on the candidate, as OpenEvolve or ShinkaEvolve do.

`run(evaluator_source, program_source, options)` writes the candidate to `program.py` in the
child's private scratch directory (the cwd), runs the evaluator there and returns plain JSON:
`{"metrics": {...}, "artifacts": {...}, "stage": n, "correct": bool?, "error": str?}`.
The host (`selftaught.tasks.evaluator_form`) turns that into the utility; nothing here is
trusted, since the candidate runs in this process and could have changed any of it.

- OpenEvolve form: `evaluate(program_path)` returning a dict or an `EvaluationResult`; with
  cascade evaluation on and `evaluate_stage1` defined, the stages run as OpenEvolve 0.4.0
  runs them (a stage below its threshold ends the evaluation with the results so far).
- ShinkaEvolve form: `evaluate.py` run as a script with `--program_path P --results_dir D`;
  its `metrics.json` and `correct.json` are read back.
"""

from __future__ import annotations

import json
import math
import os
import sys
import traceback
import types
from typing import Any

from selftaught.interop import install

ARTIFACT_CHARS = 2000  # per artifact; a run records them, so keep each one short
MAX_STAGES = 3  # OpenEvolve runs at most three stages


def run(evaluator_source: str, program_source: str, options: dict[str, Any]) -> dict[str, Any]:
    install()
    workdir = os.getcwd()
    program_path = os.path.join(workdir, "program.py")
    with open(program_path, "w", encoding="utf-8") as handle:
        handle.write(program_source)
    if workdir not in sys.path:
        sys.path.insert(0, workdir)  # as OpenEvolve puts the evaluator's directory on the path
    if options.get("form") == "shinka":
        return _shinka(evaluator_source, program_path, workdir)
    module = _load(evaluator_source, os.path.join(workdir, "evaluator.py"), "evaluator")
    if options.get("cascade") and hasattr(module, "evaluate_stage1"):
        metrics, artifacts, stage = _cascade(module, program_path, options.get("thresholds", []))
    else:
        metrics, artifacts = _unpack(module.evaluate(program_path))
        stage = 0
    return {"metrics": _scalars(metrics), "artifacts": _texts(artifacts), "stage": stage}


def _load(source: str, path: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    exec(compile(source, path, "exec"), module.__dict__)
    return module


def _unpack(result: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metrics, artifacts) from a dict or an EvaluationResult (ours or openevolve's)."""
    if isinstance(result, dict):
        artifacts = result.get("artifacts")  # a dict evaluator's own side channel
        return result, artifacts if isinstance(artifacts, dict) else {}
    metrics = getattr(result, "metrics", None)
    if isinstance(metrics, dict):
        artifacts = getattr(result, "artifacts", None)
        return metrics, artifacts if isinstance(artifacts, dict) else {}
    # OpenEvolve's answer to anything else.
    return {"error": 0.0}, {"error": f"evaluate() returned {type(result).__name__}"}


def _cascade(
    module: types.ModuleType, program_path: str, thresholds: list[float]
) -> tuple[dict[str, Any], dict[str, Any], int]:
    metrics: dict[str, Any] = {}
    artifacts: dict[str, Any] = {}
    for stage in range(1, MAX_STAGES + 1):
        function = getattr(module, f"evaluate_stage{stage}", None)
        if function is None:
            return metrics, artifacts, stage - 1
        try:
            got, extra = _unpack(function(program_path))
        except Exception as exc:  # noqa: BLE001 - as OpenEvolve: the stage failed, say why
            if stage == 1:
                return {"stage1_passed": 0.0, "error": 0.0}, _failure(exc, ""), 1
            metrics[f"stage{stage}_passed"] = 0.0
            artifacts.update(_failure(exc, f"stage{stage}_"), failure_stage=f"stage{stage}")
            return metrics, artifacts, stage
        if stage == 1:
            metrics, artifacts = dict(got), dict(extra)
        else:  # OpenEvolve merges later stages as floats, dropping "error"
            metrics = {k: float(v) for k, v in {**metrics, **got}.items()
                       if _number(v) and k != "error"}  # fmt: skip
            artifacts.update(extra)
        if stage > len(thresholds) or not passes(metrics, thresholds[stage - 1]):
            return metrics, artifacts, stage
    return metrics, artifacts, MAX_STAGES


def _failure(exc: BaseException, prefix: str) -> dict[str, str]:
    return {f"{prefix}stderr": str(exc), f"{prefix}traceback": traceback.format_exc()}


def passes(metrics: dict[str, Any], threshold: float) -> bool:
    """OpenEvolve's stage test: combined_score, else the mean of numeric metrics but "error"."""
    score = metrics.get("combined_score")
    if _number(score):
        return float(score) >= threshold
    values = [float(v) for k, v in metrics.items() if k != "error" and _number(v)]
    return bool(values) and sum(values) / len(values) >= threshold


def _number(value: Any) -> bool:
    return isinstance(value, int | float)  # bool too, as in OpenEvolve's stage test


def _shinka(evaluator_source: str, program_path: str, workdir: str) -> dict[str, Any]:
    results = os.path.join(workdir, "results")
    argv = sys.argv
    sys.argv = ["evaluate.py", "--program_path", program_path, "--results_dir", results]
    try:
        _load(evaluator_source, os.path.join(workdir, "evaluate.py"), "__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise RuntimeError(f"evaluate.py exited with {exc.code!r}") from None
    finally:
        sys.argv = argv
    metrics, correct = _read_json(results, "metrics.json"), _read_json(results, "correct.json")
    public = metrics.get("public") if isinstance(metrics.get("public"), dict) else {}
    private = metrics.get("private") if isinstance(metrics.get("private"), dict) else {}
    artifacts = {"text_feedback": metrics["text_feedback"]} if "text_feedback" in metrics else {}
    out = {
        "metrics": _scalars({**public, **metrics}),
        "private": _scalars(private),
        "artifacts": _texts(artifacts),
        "stage": 0,
        "correct": correct.get("correct") is True,
    }
    if correct.get("error"):
        out["error"] = str(correct["error"])[:ARTIFACT_CHARS]
    return out


def _read_json(directory: str, name: str) -> dict[str, Any]:
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        raise RuntimeError(f"evaluate.py wrote no {name} in --results_dir")
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise RuntimeError(f"{name} is not a JSON object")
    return data


def _scalars(metrics: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(key, str) and isinstance(value, bool | int | float | str):
            if isinstance(value, float) and not math.isfinite(value):
                value = str(value)  # let the host say why instead of a bare "not JSON"
            kept[key] = value[:ARTIFACT_CHARS] if isinstance(value, str) else value
    return kept


def _texts(artifacts: dict[str, Any]) -> dict[str, str]:
    texts = {}
    for key, value in list(artifacts.items())[:50]:
        if isinstance(value, bytes):
            text = f"<{len(value)} bytes>"
        else:
            text = value if isinstance(value, str) else repr(value)
        texts[str(key)[:100]] = text[:ARTIFACT_CHARS]
    return texts
