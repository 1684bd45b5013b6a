"""ShinkaEvolve's `shinka.core.run_shinka_eval`, interface for interface (shinka-evolve 0.0.7).

It loads the program, calls `experiment_fn_name(**kwargs)` `num_runs` times (kwargs from
`get_experiment_kwargs(i)`, else `{"seed": i + 1}`), validates each result with
`validate_fn`, aggregates with `aggregate_metrics_fn`, adds run-time statistics, and writes
`metrics.json` and `correct.json` to `results_dir`; any exception gives the default error
metrics and `correct: false` with the message. Differences, all listed in docs/tasks.md:
runs are always sequential (`run_workers` > 1 would need a process pool), early stopping is
not applied (every run is made), and `plotting_fn` is not called (`extra_data` is still saved).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import pickle
import statistics
import time
from collections.abc import Callable
from typing import Any

DEFAULT_METRICS_ON_ERROR: dict[str, Any] = {
    "combined_score": 0.0,
    "execution_time_mean": 0.0,
    "execution_time_std": 0.0,
    "num_successful_runs": 0,
    "num_valid_runs": 0,
    "num_invalid_runs": 0,
    "all_validation_errors": [],
}


def load_program(program_path: str) -> Any:
    spec = importlib.util.spec_from_file_location("program", program_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"Could not load spec for module at {program_path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save_json_results(
    results_dir: str, metrics: dict[str, Any], correct: bool, error: str | None = None
) -> None:
    os.makedirs(results_dir, exist_ok=True)
    with open(os.path.join(results_dir, "correct.json"), "w") as f:
        json.dump({"correct": correct, "error": error}, f, indent=4)
    with open(os.path.join(results_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=4, default=str)


def run_shinka_eval(
    program_path: str,
    results_dir: str,
    experiment_fn_name: str,
    num_runs: int,
    get_experiment_kwargs: Callable[[int], dict[str, Any]] | None = None,
    aggregate_metrics_fn: Callable[[list[Any]], dict[str, Any]] | None = None,
    validate_fn: Callable[[Any], tuple[bool, str | None]] | None = None,
    plotting_fn: Callable[[Any], list[Any]] | None = None,
    default_metrics_on_error: dict[str, Any] | None = None,
    early_stop_method: Any = None,
    early_stop_threshold: float | None = None,
    early_stop_score_fn: Callable[[Any], float] | None = None,
    early_stop_kwargs: dict[str, Any] | None = None,
    run_workers: int = 1,
    max_workers_cap: int | None = None,
) -> tuple[dict[str, Any], bool, str | None]:
    """Returns (metrics, correct, first error message), as ShinkaEvolve's does."""
    defaults = dict(default_metrics_on_error or DEFAULT_METRICS_ON_ERROR)
    if run_workers < 1:
        raise ValueError("run_workers must be >= 1")
    correct, first_error = True, None
    errors: list[str] = []
    valid = invalid = 0
    results: list[Any] = []
    times: list[float] = []
    try:
        module = load_program(program_path)
        if not hasattr(module, experiment_fn_name):
            raise AttributeError(
                f"Experiment function '{experiment_fn_name}' not found in {program_path}"
            )
        experiment = getattr(module, experiment_fn_name)
        for i in range(num_runs):
            kwargs = get_experiment_kwargs(i) if get_experiment_kwargs else {"seed": i + 1}
            started = time.perf_counter()
            result = experiment(**kwargs)
            times.append(time.perf_counter() - started)
            results.append(result)
            if validate_fn:
                ok, message = validate_fn(result)
                if ok:
                    valid += 1
                else:
                    invalid += 1
                    correct = False
                    if message:
                        first_error = first_error or f"Validation failed: {message}"
                        if message not in errors:
                            errors.append(message)
        if aggregate_metrics_fn:
            metrics = aggregate_metrics_fn(results)
        else:
            metrics = {"num_successful_runs": len(results)}
            metrics["first_run_result_type"] = str(type(results[0])) if results else "N/A"
            metrics["raw_results_preview"] = str(results[:2]) if results else "N/A"
        metrics["execution_time_mean"] = statistics.fmean(times) if times else 0.0
        metrics["execution_time_std"] = statistics.pstdev(times) if times else 0.0
        if validate_fn:
            metrics.update(num_valid_runs=valid, num_invalid_runs=invalid)
            metrics["all_validation_errors"] = errors
        score = metrics.get("combined_score")
        if isinstance(score, int | float) and not math.isfinite(score):
            correct = False
            first_error = first_error or f"combined_score is {score}"
    except Exception as exc:  # noqa: BLE001 - as ShinkaEvolve: any failure is an incorrect run
        metrics = {k: defaults.get(k, v) for k, v in DEFAULT_METRICS_ON_ERROR.items()}
        if validate_fn:
            metrics.setdefault("num_invalid_runs", len(results) or num_runs)
            metrics.setdefault("all_validation_errors", [str(exc)])
        first_error, correct = str(exc), False
    if "extra_data" in metrics:
        os.makedirs(results_dir, exist_ok=True)
        with open(os.path.join(results_dir, "extra.pkl"), "wb") as f:
            pickle.dump(metrics.pop("extra_data"), f)  # written in the child, never read by us
    save_json_results(results_dir, metrics, correct, first_error)
    return metrics, correct, first_error
