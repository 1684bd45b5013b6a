"""The `selftaught run` command line that reproduces a recorded run.

Contract: `reproduce_command(config)` returns the shell-quoted command and notes on what the
command line cannot express (a budget that differs from its preset other than repetitions, an
improver file that may have changed since: the run recorded its exact source).
"""

from __future__ import annotations

import shlex
from typing import Any

from selftaught.config import PRESETS


def reproduce_command(config: dict[str, Any]) -> tuple[str, list[str]]:
    if not config:
        return "", ["the run recorded no configuration"]
    args = ["selftaught", "run"]
    notes: list[str] = []
    preset = config.get("preset", "quick")
    for option, key in (
        ("--task", "task"),
        ("--preset", "preset"),
        ("--iterations", "iterations"),
        ("--model", "model"),
        ("--base-url", "base_url"),
        ("--seed", "seed"),
        ("--gate", "gate"),
        ("--improver", "improver"),
    ):
        value = config.get(key)
        if value is not None:
            args += [option, str(value)]
    budgets = config.get("budgets") or {}
    preset_budgets = PRESETS.get(preset, {}).get("budgets", {})
    if "repetitions" in budgets and budgets["repetitions"] != preset_budgets.get("repetitions"):
        args += ["--repetitions", str(budgets["repetitions"])]
    if config.get("sandbox") not in (None, "auto"):
        args += ["--sandbox", str(config["sandbox"])]
    for key, value in budgets.items():
        if key != "repetitions" and key in preset_budgets and preset_budgets[key] != value:
            notes.append(
                f"budget {key} = {value} differs from preset {preset} ({preset_budgets[key]}); "
                "the command line cannot set it"
            )
    improver = str(config.get("improver", ""))
    if improver.endswith(".py"):
        notes.append(
            f"{improver} is read at run start; the initial improver's recorded source is in the "
            "lineage below"
        )
    return shlex.join(args), notes
