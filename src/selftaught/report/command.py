"""The `selftaught run` command line that reproduces a recorded run.

Contract: `reproduce_command(config)` returns the shell-quoted command and notes on what the
command line cannot express (a budget or limit that differs from its default: no option sets
it; an improver file that may have changed since: the run recorded its exact source; secret
seeds: a new run draws a new secret). The config file of `config_file.dump_config` expresses
every setting; the report shows both.
"""

from __future__ import annotations

import shlex
from typing import Any

from selftaught.config import PRESETS, RunLimits

# (option, config key), in the order the command line gives them
OPTIONS = (
    ("--task", "task"),
    ("--preset", "preset"),
    ("--iterations", "iterations"),
    ("--model", "model"),
    ("--base-url", "base_url"),
    ("--seed", "seed"),
    ("--gate", "gate"),
    ("--improver", "improver"),
)
BUDGET_OPTIONS = {
    "repetitions": "--repetitions",
    "responses_per_call": "--responses-per-call",
    "max_tokens": "--max-tokens",
}
CAP_OPTIONS = {
    "calls": "--max-lm-calls",
    "tokens": "--max-spent-tokens",
    "dollars": "--max-dollars",
    "seconds": "--max-seconds",
}


def reproduce_command(config: dict[str, Any]) -> tuple[str, list[str]]:
    if not config:
        return "", ["the run recorded no configuration"]
    args = ["selftaught", "run"]
    for option, key in OPTIONS:
        if config.get(key) is not None:
            args += [option, str(config[key])]
    preset = config.get("preset", "quick")
    budget_args, notes = _budgets(config.get("budgets") or {}, preset)
    args += budget_args
    if config.get("sandbox") not in (None, "auto"):
        args += ["--sandbox", str(config["sandbox"])]
    args += _run_options(config)
    notes += _limit_notes(config.get("limits") or {})
    if config.get("secret_seeds"):
        notes.append(
            "secret_seeds: a new run draws a new secret, so its task instances differ from "
            "this run's (by design: no one can regenerate them)"
        )
    improver = str(config.get("improver", ""))
    if improver.endswith(".py"):
        notes.append(
            f"{improver} is read at run start; the initial improver's recorded source is in the "
            "lineage below"
        )
    return shlex.join(args), notes


def _budgets(budgets: dict[str, Any], preset: str) -> tuple[list[str], list[str]]:
    """Options for the budgets that differ from the preset's, and notes on those no option
    sets."""
    args, notes = [], []
    preset_budgets = PRESETS.get(preset, {}).get("budgets", {})
    for key, option in BUDGET_OPTIONS.items():
        if key in budgets and budgets[key] != preset_budgets.get(key):
            args += [option, str(budgets[key])]
    for key, value in budgets.items():
        if key not in BUDGET_OPTIONS and key in preset_budgets and preset_budgets[key] != value:
            notes.append(
                f"budget {key} = {value} differs from preset {preset} ({preset_budgets[key]}); "
                "the command line cannot set it"
            )
    return args, notes


def _run_options(config: dict[str, Any]) -> list[str]:
    """The circumvention experiment's flags, secret seeds, concurrency, the LM cache, caps and
    model options."""
    args = []
    if config.get("sandbox_flag") and not config.get("sandbox_warning"):
        args.append("--sandbox-flag")  # --sandbox-warning implies the flag
    if config.get("sandbox_warning"):
        args.append("--sandbox-warning")
    if config.get("secret_seeds"):
        args.append("--secret-seeds")
    for option, key in (("--concurrency", "concurrency"), ("--cache-from", "cache_from")):
        if config.get(key) is not None:
            args += [option, str(config[key])]
    caps = config.get("caps") or {}
    for key, option in CAP_OPTIONS.items():
        if caps.get(key) is not None:
            args += [option, str(caps[key])]
    for pair in config.get("model_options") or ():
        args += ["--model-option", str(pair)]
    return args


def _limit_notes(limits: dict[str, Any]) -> list[str]:
    defaults = RunLimits().model_dump()
    return [
        f"limit {key} = {value} differs from its default ({defaults[key]}); "
        "the command line cannot set it"
        for key, value in limits.items()
        if key in defaults and value != defaults[key]
    ]
