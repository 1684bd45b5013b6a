"""Run configuration: presets, config files, validation, and one-line errors for bad input.

`paper` carries the paper's budgets. `quick` shrinks them so that a run on the embedded
Qwen2.5-Coder-0.5B model ends in minutes on two cores; it is the default for the embedded model.

A run's settings come in layers, each over the one before: the preset, a command's own
defaults, a TOML config file (`config_file.load_config_file`), then the options given on the
command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from selftaught.lm.base import LanguageModelError
from selftaught.lm.options import ModelOptions
from selftaught.tasks import TaskError, resolve_task


class ConfigError(Exception):
    """A configuration value is unusable; the message is one line saying how to fix it."""


class Budgets(BaseModel):
    """What one improver invocation may spend, and how the meta-utility samples."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    responses_per_call: int = Field(ge=1, le=64)  # language_model.max_responses_per_call
    lm_calls: int = Field(ge=1, le=1000)  # language_model.budget per invocation
    utility_calls: int = Field(ge=1, le=10_000)  # utility.budget per invocation
    meta_utility_calls: int = Field(
        ge=1, le=10_000
    )  # meta_utility.budget for the improver of improvers
    repetitions: int = Field(ge=1, le=100)  # improver runs averaged by one meta-utility call
    temperature: float = Field(ge=0.0, le=2.0)
    max_tokens: int = Field(ge=16, le=32_768)


class RunLimits(BaseModel):
    """How long untrusted code may run (the child's own time, not the host's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    improver_seconds: float = Field(default=120.0, gt=0)
    improver_memory_mb: int = Field(default=2048, ge=64)
    solution_memory_mb: int = Field(default=1024, ge=64)


class Caps(BaseModel):
    """Run-wide caps on what the language model may spend; None is no cap. A run that reaches
    one stops cleanly and resumes under a larger one (`selftaught resume DIR --max-dollars N`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calls: int | None = Field(default=None, ge=0)
    tokens: int | None = Field(default=None, ge=0)
    dollars: float | None = Field(default=None, ge=0)
    seconds: float | None = Field(default=None, ge=0)


PRESETS: dict[str, dict] = {
    "paper": {
        "iterations": 3,
        "budgets": dict(
            responses_per_call=6,
            lm_calls=4,
            utility_calls=25,
            meta_utility_calls=25,
            repetitions=5,
            temperature=0.7,
            max_tokens=1024,
        ),
    },
    "quick": {
        "iterations": 1,
        # Small models' programs mostly fail: the paper's seed improver then returns a failed
        # program (0) where `repair` keeps the seed solution and sends failures back with why
        # they failed (string_grid, Qwen2.5-Coder-0.5B: 0.450 in 3 of 3 comparisons against
        # the seed improver's 0.000, 0.225, 0.000; benchmarks/first_command.md).
        "improver": "repair",
        "budgets": dict(
            responses_per_call=2,
            lm_calls=2,
            utility_calls=3,
            meta_utility_calls=3,
            repetitions=2,
            temperature=0.7,
            # The embedded Qwen2.5-Coder-0.5B opens with prose: at 384 tokens no reply had
            # closed its code block, at 1024 four in six had (benchmarks/embedded_models.md).
            max_tokens=1024,
        ),
    },
}


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    task: str = "lpn"  # a task name or file; "a,b" meta-trains on the mean over tasks
    model: str = "llamacpp"
    base_url: str | None = None
    preset: Literal["quick", "paper"] = "quick"
    iterations: int = Field(ge=0, le=1000)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    gate: Literal["better", "paper"] = "better"
    improver: str = "seed"  # a name or a path (build_config: the preset's); stored at start
    budgets: Budgets
    limits: RunLimits = RunLimits()
    caps: Caps = Caps()
    cache_from: str | None = None  # another run directory whose LM samples are reused
    model_options: tuple[str, ...] = ()  # KEY=VALUE pairs for the backend (timeout, extra_body...)
    sandbox: Literal["auto", "zygote-rlimits", "subprocess"] = "auto"
    # Where solution executions run (docs/cluster.md): "local", this machine's zygote pool, or
    # "ray", the nodes of the Ray cluster at ray_address (else $RAY_ADDRESS). Improvers, the
    # model, the budgets, the scorer and the store stay in the host either way, and the records
    # are the same: a run may resume on another executor (`selftaught resume --executor`).
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    # Independent improver invocations (the meta-utility's repetitions over tasks) run at once;
    # None: as many as the backend sends requests at once (1 for the embedded model).
    concurrency: int | None = Field(default=None, ge=1, le=64)
    # The paper's circumvention experiment (docs/safety.md): show improvers a use_sandbox flag, and
    # maybe a warning not to turn it off. Isolation never depends on either.
    sandbox_flag: bool = False
    sandbox_warning: bool = False
    # Instance seeds from a per-run secret in the run store instead of the paper's public ones,
    # so that no candidate can regenerate an instance (and its answer) from a public generator.
    secret_seeds: bool = False
    # Evaluator-form tasks show the model a description; this opts in to the evaluator's
    # source too (docs/tasks.md: what the model sees).
    show_evaluator: bool = False

    @field_validator("task")
    @classmethod
    def _known_tasks(cls, value: str) -> str:
        for spec in split_tasks(value):
            try:
                resolve_task(spec, check=False)
            except TaskError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("model_options")
    @classmethod
    def _known_options(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            ModelOptions.from_pairs(list(value))
        except LanguageModelError as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def tasks(self) -> list[str]:
        return split_tasks(self.task)

    def same_run(self, other: RunConfig) -> bool:
        """Whether `other` is this run's configuration, wherever its executions run."""
        return self.model_copy(update=other.where()) == other

    def where(self) -> dict[str, Any]:
        """The settings that say where executions run and change no record."""
        return {key: getattr(self, key) for key in WHERE}


WHERE = ("executor", "ray_address")  # RunConfig's fields that change no record


def split_tasks(value: str) -> list[str]:
    """'lpn, maxcut' -> ['lpn', 'maxcut']; at least one."""
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise ValueError("no task given; name one, e.g. --task lpn")
    return names


def build_config(
    preset: str | None = None,
    *,
    defaults: dict[str, Any] | None = None,
    file: dict[str, Any] | None = None,
    **overrides: object,
) -> RunConfig:
    """A RunConfig from layers, each over the one before: the preset, a command's own
    `defaults`, a config `file`'s values (see load_config_file), then `overrides` (the command
    line; None means 'not given'). Budget keys are flat, as on the command line."""
    file = dict(file or {})
    preset = preset or file.pop("preset", None) or "quick"
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; use one of: {', '.join(PRESETS)}")
    values: dict[str, Any] = {"iterations": PRESETS[preset]["iterations"]}
    values.update(PRESETS[preset]["budgets"])
    given = {key: value for key, value in overrides.items() if value is not None}
    for layer in (defaults or {}, file, given):
        values = _merge(values, layer)
    values["budgets"] = {key: values.pop(key) for key in Budgets.model_fields if key in values}
    # The circumvention experiment shows the flag through the paper's seed improver.
    preset_improver = PRESETS[preset].get("improver", "seed")
    values.setdefault("improver", "seed" if values.get("sandbox_flag") else preset_improver)
    return parse_config({**values, "preset": preset})


def _merge(values: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    """`layer` over `values`: caps and limits merge by key, model options by KEY; the rest
    is replaced."""
    merged = {**values, **layer}
    for table in ("caps", "limits"):
        if table in layer:
            merged[table] = {**values.get(table, {}), **layer[table]}
    if "model_options" in layer:
        merged["model_options"] = merge_pairs(
            values.get("model_options", ()), layer["model_options"]
        )
    return merged


def merge_pairs(base: tuple[str, ...], extra: tuple[str, ...]) -> tuple[str, ...]:
    """KEY=VALUE pairs: those of `extra` replace those of `base` with the same KEY."""
    merged = {_pair_key(pair): pair for pair in base}
    merged.update({_pair_key(pair): pair for pair in extra})
    return tuple(merged.values())


def _pair_key(pair: str) -> str:
    return pair.partition("=")[0].strip()


def parse_config(values: dict) -> RunConfig:
    try:
        return RunConfig.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "config"
    message = first["msg"].removeprefix("Value error, ")
    return f"invalid {where}: {message}"


def absolute_tasks(value: str) -> str:
    """Task files and directories made absolute, so that a run resumes from anywhere."""
    return ",".join(
        str(Path(spec).resolve()) if Path(spec).exists() else spec for spec in split_tasks(value)
    )
