"""What travels between the driver and a node: a solution job and its outcomes, as JSON text.

Nothing else crosses: no pickled object from a node or a child reaches the host (Ray carries
the text; the host only `json.loads` it and checks its shape). Numeric arguments are packed on
the driver (`sandbox.arrays`), once, as they are for a local child.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from selftaught.sandbox import STATUSES, InstanceOutcome, Limits, SolutionRun
from selftaught.sandbox.arrays import pack_args


class WireError(ValueError):
    """A node's reply that is not a solution run's outcomes."""


def solution_job(source: str, entry: str, inputs: list[list[Any]], **options: Any) -> str:
    """One solution run as JSON text; `options` are `api.Sandbox.run_solution`'s keywords
    (`instance_seconds`, `seed`, `array_args`, `limits`), each written as plain data."""
    array_args = bool(options["array_args"])
    return json.dumps(
        {
            "source": source,
            "entry": entry,
            "inputs": [pack_args(list(args), array_args) for args in inputs],
            "instance_seconds": float(options["instance_seconds"]),
            "seed": int(options["seed"]),
            "array_args": array_args,
            "limits": dataclasses.asdict(options["limits"]),
        },
        allow_nan=False,
    )


def run_job(sandbox: Any, job: str) -> str:
    """On a node: run one job in `sandbox`, the outcomes as JSON text."""
    spec = json.loads(job)
    run = sandbox.run_solution(
        spec["source"], spec["entry"], spec["inputs"], instance_seconds=spec["instance_seconds"],
        seed=spec["seed"], array_args=spec["array_args"], limits=Limits(**spec["limits"]),
    )  # fmt: skip
    return json.dumps(dataclasses.asdict(run), allow_nan=False)


def solution_run(text: Any, instances: int) -> SolutionRun:
    """The driver's reading of a node's reply: one outcome per instance, or WireError."""
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        value = None
    outcomes = value.get("outcomes") if isinstance(value, dict) else None
    if not isinstance(outcomes, list) or len(outcomes) != instances:
        raise WireError(f"a node's reply is not {instances} outcomes")
    return SolutionRun(
        outcomes=[_outcome(o) for o in outcomes],
        layers=_strings(value.get("layers")),
        audit=_strings(value.get("audit")),
    )


def _outcome(value: Any) -> InstanceOutcome:
    if not isinstance(value, dict) or value.get("status") not in STATUSES:
        raise WireError("a node's reply holds an outcome without a known status")
    seconds = value.get("seconds")
    error = value.get("error")
    return InstanceOutcome(
        status=value["status"],
        output=value.get("output"),
        seconds=float(seconds) if isinstance(seconds, int | float) else 0.0,
        error=None if error is None else str(error),
    )


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
