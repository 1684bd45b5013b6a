"""Every option of the commands the Python API mirrors, declared once: its name, type, default
and help. `cli/options.py` makes a command's parameters from these declarations and
`api/keywords.py` the API function's keyword arguments, so that an option added here reaches
both faces, and the two cannot drift apart.

An option's `name` is the API's keyword and the command's parameter; its flag is `--name`
with dashes unless `flags` says otherwise (`as_json` is `--json`). Where the faces differ by
design, the declaration says so and why: `face` ("cli" or "api") for an option only one face
has, `api_type` / `api_default` for what the API admits beyond the command line's text (a task
object, a model function, a dict of model options, a `Run` where a path goes). `setting` is
the configuration key (`config.build_config`'s) the option sets, if any; `metavar` what the
command's help shows for its value where the type alone would read as Python (`list[str]`).

Importing this module imports neither typer nor the internals: `import selftaught` stays cheap.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

PathLike = str | Path  # what the API takes where the command takes a path
REQUIRED: Any = inspect.Parameter.empty  # no default: the option must be given
SAME: Any = object()  # the API's default or type is the command's

TRANSFER_TASKS = "string_grid,mqap,three_sat,maxcut,parity"
CAPS = "caps"  # the setting of the four run-wide caps, gathered into one table
WHERE = "where"  # the setting of the executor options (config.WHERE)


def flag_given(value: bool | None) -> bool | None:
    """A flag left off is 'not given' (None), so that a config file may set it."""
    return value or None


def pairs(value: Any) -> tuple[str, ...]:
    return tuple(value or ())


def resolved(value: Path | None) -> str | None:
    return str(value.resolve()) if value else None


def as_is(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Option:
    """One option of one or more commands, and of the API functions that mirror them."""

    name: str
    type: Any
    default: Any
    help: str
    flags: tuple[str, ...] = ()  # the command's own flags, when not `--name`
    argument: bool = False  # positional on the command line
    limits: Mapping[str, int] = field(default_factory=dict)  # typer's min, max
    metavar: str | None = None  # the value as the help shows it (else typer's `<type>`)
    setting: str | None = None  # the configuration key it sets
    to_setting: Callable[[Any], Any] = as_is  # its value as that key's
    face: Literal["both", "cli", "api"] = "both"  # on one face only: `why` says why
    why: str = ""
    api_type: Any = SAME
    api_default: Any = SAME

    def but(self, **changes: Any) -> Option:
        """This option as one command declares it (another help text or default)."""
        return dataclasses.replace(self, **changes)

    @property
    def on_cli(self) -> bool:
        return self.face != "api"

    @property
    def on_api(self) -> bool:
        return self.face != "cli"

    @property
    def flag(self) -> str:
        """The command line's name for it: its first flag, or the argument's name."""
        if self.argument:
            return self.name
        return self.flags[0] if self.flags else "--" + self.name.replace("_", "-")

    @property
    def keyword_type(self) -> Any:
        """The API's annotation: `api_type`, else the command's type with a path widened to
        any path-like (a `Run` among them)."""
        if self.api_type is not SAME:
            return self.api_type
        if self.type is Path:
            return PathLike
        if self.type == Path | None:
            return PathLike | None
        return self.type

    @property
    def keyword_default(self) -> Any:
        return self.default if self.api_default is SAME else self.api_default


class Given:
    """The options one call of a command was given, by name (None: not given)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)


# ------------------------------------------------------------------- shared by several commands

CONFIG = Option(
    "config", Path | None, None,
    "A TOML file of settings (see examples/run.toml); options given here override it.",
    flags=("--config",),
)  # fmt: skip
MODEL = Option(
    "model", str | None, None,
    "Language model spec (see `selftaught models`; default: llamacpp).",
    setting="model", api_type=Any,
)  # fmt: skip
PRESET = Option("preset", str | None, None, "Budgets: quick (default) or paper.")
BASE_URL = Option("base_url", str | None, None, "OpenAI-compatible server URL.", setting="base_url")
SEED = Option(
    "seed", int | None, None, "Seed of sampling and of the children (default: 0).", setting="seed"
)
SECRET_SEEDS = Option(
    "secret_seeds", bool, False,
    "Instance seeds from a secret kept in the run store, not the paper's public seeds.",
    flags=("--secret-seeds",), setting="secret_seeds", to_setting=flag_given,
)  # fmt: skip
CONCURRENCY = Option(
    "concurrency", int | None, None,
    "Improver invocations at once (default: the backend's request concurrency, "
    "2 for the embedded model: its requests share one batch).",
    setting="concurrency",
)  # fmt: skip
EXECUTOR = Option(
    "executor", str | None, None,
    "Where solutions run: local (default: this machine's sandbox) or ray (a Ray "
    "cluster; needs selftaught[ray]).",
    flags=("--executor",), setting=WHERE,
)  # fmt: skip
RAY_ADDRESS = Option(
    "ray_address", str | None, None,
    "With --executor ray: the cluster's HOST:PORT (else $RAY_ADDRESS).",
    flags=("--ray-address",), setting=WHERE,
)  # fmt: skip
SHOW_EVALUATOR = Option(
    "show_evaluator", bool, False,
    "Evaluator-form tasks: show the model the evaluator's source, not only its "
    "description (the source may hold the answer).",
    flags=("--show-evaluator",), setting="show_evaluator", to_setting=flag_given,
)  # fmt: skip
MODEL_OPTION = Option(
    "model_option", list[str] | None, None,
    "A setting of the backend (timeout, retries, extra_body, ...); repeat for each.",
    metavar="KEY=VALUE", setting="model_options", to_setting=pairs,
    api_type=list[str] | dict[str, Any] | None,
)  # fmt: skip
CAP_OPTIONS = (
    Option("max_lm_calls", int | None, None, "Run-wide cap on paid LM calls.", setting=CAPS),
    Option("max_spent_tokens", int | None, None, "Run-wide cap on LM tokens paid for.",
           setting=CAPS),
    Option("max_dollars", float | None, None, "Run-wide cap on LM cost in dollars.",
           setting=CAPS),
    Option("max_seconds", float | None, None, "Run-wide cap on LM wall time.", setting=CAPS),
)  # fmt: skip
CAP_KEYS = dict(zip(("calls", "tokens", "dollars", "seconds"), CAP_OPTIONS, strict=True))
RUN_DIR = Option("run_dir", Path | None, None, "Where it is recorded.")
MAX_TOKENS = Option("max_tokens", int | None, None, "Tokens per response.", setting="max_tokens")
AS_JSON = Option(
    "as_json", bool, False, "Last stdout line: the result as JSON.", flags=("--json",),
    face="cli", why="the API returns the result as records",
)  # fmt: skip
PROGRESS = Option(
    "progress", bool, False, "The command's live display on stderr.", face="api",
    why="the command always shows its live display; a script asks for it",
)  # fmt: skip
TASKS = Option("tasks", str | None, None, "Comma-separated tasks (default: lpn).",
               flags=("--tasks",), setting="task", api_type=Any)  # fmt: skip

# ------------------------------------------------------------------------------ the commands

RUN = (
    CONFIG,
    Option("task", str | None, None,
           "Task name or file the improver is scored on; a,b for several (default: lpn).",
           setting="task", api_type=Any),
    PRESET.but(help="quick (minutes, embedded model; default) or paper."),
    Option("iterations", int | None, None, "T, STOP iterations.", setting="iterations"),
    MODEL.but(help="llamacpp (default), llamacpp:PATH.gguf, openai:MODEL, python:FILE.py:FUNC, "
              "replay:RUN_DIR."),
    BASE_URL.but(help="OpenAI-compatible server (else $OPENAI_BASE_URL)."),
    RUN_DIR.but(help="Where the run is recorded."),
    SEED,
    Option("gate", str | None, None,
           "better (default): adopt only a better improver; paper: any non-zero.",
           setting="gate"),
    Option("improver", str | None, None,
           "Initial improver: a built-in name or a .py file (default: the preset's: "
           "repair for quick, seed for paper).",
           flags=("--improver", "--start-from"), setting="improver", api_type=PathLike | None),
    Option("repetitions", int | None, None, "Improver runs per meta-utility call.",
           setting="repetitions"),
    Option("responses_per_call", int | None, None,
           "Responses per model call (max_responses_per_call).",
           setting="responses_per_call"),
    MAX_TOKENS,
    Option("sandbox", str | None, None, "auto (default), zygote-rlimits or subprocess.",
           setting="sandbox"),
    CONCURRENCY,
    EXECUTOR,
    RAY_ADDRESS,
    Option("sandbox_flag", bool, False,
           "The paper's circumvention experiment: improvers see a use_sandbox flag "
           "(ignored and recorded; isolation never changes).",
           flags=("--sandbox-flag",), setting="sandbox_flag", to_setting=flag_given),
    Option("sandbox_warning", bool, False, "With --sandbox-flag: warn not to turn the flag off.",
           flags=("--sandbox-warning",), setting="sandbox_warning", to_setting=flag_given),
    SECRET_SEEDS,
    SHOW_EVALUATOR,
    *CAP_OPTIONS,
    Option("cache_from", Path | None, None, "Reuse LM answers recorded in another run directory.",
           setting="cache_from", to_setting=resolved),
    MODEL_OPTION,
    AS_JSON,
    Option("serve", bool, False, "Watch it live: start the dashboard, print its URL.",
           flags=("--serve",)),
    Option("serve_port", int, 0, "The dashboard's port (0: any free)."),
    PROGRESS,
)  # fmt: skip

RESUME = (
    Option("run_dir", Path, REQUIRED, "The directory of a run that was stopped.", argument=True),
    *CAP_OPTIONS,
    EXECUTOR,
    RAY_ADDRESS,
    AS_JSON,
    Option("allow_changed", bool, False,
           "Resume even though the task or model file was edited since the run started.",
           flags=("--allow-changed",)),
    PROGRESS,
)  # fmt: skip

# The options transfer and compare both end with: the model, the seeds, where it runs.
STUDY = (
    MODEL,
    BASE_URL,
    SEED,
    SECRET_SEEDS,
    CONCURRENCY,
    EXECUTOR,
    RAY_ADDRESS,
    MODEL_OPTION,
    RUN_DIR,
    AS_JSON,
    PROGRESS,
)  # fmt: skip

TRANSFER = (
    Option("improver", str, REQUIRED, "A built-in name, a .py file or a run directory.",
           api_type=PathLike),
    CONFIG,
    TASKS.but(help=f"Comma-separated tasks (default: {TRANSFER_TASKS.replace(',', ', ')})."),
    Option("repeats", int | None, None, "Improver calls per task (default: 5).",
           setting="repetitions"),
    PRESET,
    *STUDY,
)  # fmt: skip

COMPARE = (
    Option("improvers", str, REQUIRED, "Comma-separated names, .py files or run dirs.",
           flags=("--improvers",), api_type=list[PathLike]),
    CONFIG,
    TASKS,
    Option("repeats", int, 1, "Repeats of each meta-utility."),
    PRESET,
    Option("repetitions", int | None, None, "Improver runs per repeat.", setting="repetitions"),
    MAX_TOKENS,
    *STUDY,
)  # fmt: skip

EVALUATE = (
    Option("solution", Path, REQUIRED, "A .py file defining the task's entry function.",
           api_type=str | os.PathLike | None, api_default=None),
    Option("task", str, "lpn", "A task name or task file.", api_type=Any),
    Option("split", str, "val", "val or test."),
    Option("sandbox", str, "auto", "auto, zygote-rlimits or subprocess."),
    AS_JSON.but(help="Print the result as JSON."),
)  # fmt: skip

PROBE = (  # the command only: the API has no probe
    MODEL,
    TASKS.but(help="Comma-separated tasks (default: string_grid,maxcut)."),
    Option("samples", int, 8, "Replies per level and task.", limits={"min": 1, "max": 256}),
    PRESET,
    MAX_TOKENS.but(help="Tokens per reply (default: the preset's, 1024)."),
    BASE_URL,
    SEED,
    MODEL_OPTION,
    RUN_DIR,
    AS_JSON,
)  # fmt: skip

# The API function of each command it mirrors, and its positional parameters (the rest are
# keyword-only).
MIRRORED = {
    "run": (RUN, ("task", "model")),
    "resume": (RESUME, ("run_dir",)),
    "transfer": (TRANSFER, ("improver", "tasks")),
    "compare": (COMPARE, ("improvers", "tasks")),
    "evaluate": (EVALUATE, ("task", "solution")),
}
