"""Fit a line through points: the utility is 100 minus the squared error (ShinkaEvolve form)."""

import argparse

from shinka.core import run_shinka_eval

POINTS = [(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]


def validate(result):
    slope, intercept = result
    if not all(isinstance(v, float) for v in result):
        return False, "fit() must return two floats"
    return True, None


def aggregate(results):
    slope, intercept = results[0]
    error = sum((slope * x + intercept - y) ** 2 for x, y in POINTS)
    return {
        "combined_score": 100.0 - error,
        "public": {"squared_error": error},
        "private": {"true_slope": 2.0},
        "text_feedback": f"squared error {error:.3f}",
    }


def main(program_path, results_dir):
    metrics, correct, error = run_shinka_eval(
        program_path=program_path,
        results_dir=results_dir,
        experiment_fn_name="fit",
        num_runs=2,
        get_experiment_kwargs=lambda i: {"points": POINTS},
        validate_fn=validate,
        aggregate_metrics_fn=aggregate,
    )
    print("correct" if correct else f"incorrect: {error}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--program_path", type=str, default="initial.py")
    parser.add_argument("--results_dir", type=str, default="results")
    args = parser.parse_args()
    main(args.program_path, args.results_dir)
