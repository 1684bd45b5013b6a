"""A command's configuration from the options it was given: the preset, the command's own
defaults, the config file, then the options (None: not given), as `config.build_config`
layers them; model and task files made absolute."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from selftaught.config import RunConfig, absolute_tasks, build_config
from selftaught.config_file import load_config_file
from selftaught.launch.options import (
    CAP_KEYS,
    CAPS,
    COMPARE,
    RUN,
    TRANSFER,
    TRANSFER_TASKS,
    WHERE,
    Given,
    Option,
)
from selftaught.lm.spec import absolute_spec


def run_settings(given: Given) -> RunConfig:
    return configure(RUN, given)


def transfer_settings(given: Given) -> RunConfig:
    defaults = {"task": TRANSFER_TASKS, "repetitions": 5}
    return configure(TRANSFER, given, defaults=defaults, iterations=0)


def compare_settings(given: Given) -> RunConfig:
    return configure(COMPARE, given, iterations=0)


def configure(
    options: Sequence[Option], given: Given, defaults: dict | None = None, **fixed: object
) -> RunConfig:
    """The configuration of a command with these `options`, `given` these values; `fixed`:
    what the command sets whatever is given (a transfer has no iterations)."""
    settings: dict[str, object] = {
        option.setting: option.to_setting(given.get(option.name))
        for option in options
        if option.setting not in (None, CAPS, WHERE)
    }
    if any(option.setting == CAPS for option in options):
        settings["caps"] = caps_given(given)
    settings.update(where_given(given.get("executor"), given.get("ray_address")))
    settings.update(fixed)
    return run_config(given.get("config"), given.get("preset"), defaults, **settings)


def where_given(executor: str | None, ray_address: str | None) -> dict[str, str]:
    """The executor settings given (config.WHERE); a ray address alone means the Ray
    executor."""
    given = {"executor": executor or ("ray" if ray_address else None), "ray_address": ray_address}
    return {k: v for k, v in given.items() if v is not None}


def caps_given(given: Given) -> dict[str, int | float]:
    """The run-wide caps given (`max_lm_calls`, ...), by the configuration's keys."""
    caps = {key: given.get(option.name) for key, option in CAP_KEYS.items()}
    return {k: v for k, v in caps.items() if v is not None}


def run_config(
    config_file: Path | None, preset: str | None, defaults: dict | None = None, **given: object
) -> RunConfig:
    """The run's configuration: the preset, `defaults`, the config file, then the options
    `given` (None: not given); model and task files made absolute."""
    file = load_config_file(config_file) if config_file else None
    config = build_config(preset, defaults=defaults, file=file, **given)
    return config.model_copy(
        update={
            "model": absolute_spec(config.model),
            "task": absolute_tasks(config.task),
            "sandbox_flag": config.sandbox_flag or config.sandbox_warning,  # a warning implies it
        }
    )
